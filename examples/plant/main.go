// Command plant is Takt's demo plant: a seeded plant on the in-memory store (or PostgreSQL)
// with simulated machines, an operator terminal, a supervisor board, traceability pages and a
// JSON API, served by the standard library.
//
//	cd examples/plant && go run .            # then open http://127.0.0.1:8080/
//	go run . -speed 60 -addr :8080           # an hour of plant time per minute, on every interface
//	go run . -pg postgres://user@host/db     # on PostgreSQL (or set TAKT_POSTGRES_DSN)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/pgstore"
	"github.com/taktmes/takt/store"
	"github.com/taktmes/takt/store/memstore"
)

// config is what the command line chooses.
type config struct {
	addr  string
	speed float64 // simulated seconds per wall second; 0 stops the clock
	pg    string  // PostgreSQL DSN; empty: in memory
	// schema is the PostgreSQL schema the plant lives in.
	schema string
}

func main() {
	began := time.Now()
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "address to serve on")
	flag.Float64Var(&cfg.speed, "speed", 10, "how many times faster than real time the plant runs (0 stops the clock)")
	flag.StringVar(&cfg.pg, "pg", os.Getenv("TAKT_POSTGRES_DSN"), "PostgreSQL DSN to run on instead of memory (default $TAKT_POSTGRES_DSN)")
	flag.StringVar(&cfg.schema, "schema", "takt_demo", "PostgreSQL schema of the plant (with -pg); a second start resumes the plant in it")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, began, log); err != nil {
		log.Error("plant", "err", err)
		os.Exit(1)
	}
}

// run starts the demo and serves it until ctx is done.
func run(ctx context.Context, cfg config, began time.Time, log *slog.Logger) error {
	if cfg.speed < 0 {
		return fmt.Errorf("-speed %v: the plant cannot run backwards; use 0 to stop the clock", cfg.speed)
	}
	d, err := openDemo(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.close()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: d.app.routes(), ReadHeaderTimeout: 10 * time.Second}
	go d.sim.run(ctx, time.Second)
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("Takt demo plant ready", "url", "http://"+ln.Addr().String()+"/", "store", d.storeName,
		"speed", cfg.speed, "startup", time.Since(began).Round(time.Millisecond))
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// demo is a running demo plant: the engine on its store, the simulator and the web app.
type demo struct {
	plant     *mes.Plant
	store     store.Store
	storeName string
	clock     *simClock
	sim       *simulator
	app       *app
}

// openDemo opens the store, and seeds the plant unless the store already holds it.
func openDemo(ctx context.Context, cfg config, log *slog.Logger) (*demo, error) {
	d := &demo{storeName: "memory"}
	var err error
	if cfg.pg != "" {
		if d.store, err = pgstore.Open(ctx, cfg.pg, pgstore.WithSchema(cfg.schema)); err != nil {
			return nil, fmt.Errorf("opening PostgreSQL: %w", err)
		}
		d.storeName = "postgres (schema " + cfg.schema + ")"
	} else {
		d.store = memstore.New()
	}
	now := time.Now().UTC().Truncate(time.Second)
	d.clock = newSimClock(now, 0)
	d.plant, err = mes.Open(ctx, d.store, mes.WithClock(d.clock), mes.WithLogger(log))
	if err == nil {
		err = d.start(ctx, now, log)
	}
	if err != nil {
		_ = d.store.Close()
		return nil, err
	}
	d.clock.Run(cfg.speed)
	d.app = newApp(d.plant, d.clock, log)
	return d, nil
}

// start seeds a new plant, or resumes one the store holds after its last event.
func (d *demo) start(ctx context.Context, now time.Time, log *slog.Logger) error {
	again, err := seeded(ctx, d.plant)
	if err != nil {
		return err
	}
	if !again {
		d.sim = newSimulator(d.plant, d.clock, log, now, machines()...)
		return seed(ctx, d.plant, d.clock, d.sim, now)
	}
	head, err := d.store.Head(ctx)
	if err != nil {
		return err
	}
	last, err := d.plant.ReadEvents(ctx, head-1, 1)
	if err != nil {
		return err
	}
	if len(last) == 1 && !last[0].Time.Before(now) {
		now = last[0].Time.Add(time.Second)
	}
	d.clock.Set(now)
	d.sim = newSimulator(d.plant, d.clock, log, now, machines()...)
	return d.sim.runTo(ctx, now)
}

func (d *demo) close() { _ = d.store.Close() }
