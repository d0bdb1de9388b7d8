package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/pgstore"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/units"
)

var benchActor = mes.By(mes.Actor{ID: "bench", Kind: mes.System})

// benchCommands measures work-order commands per second through the engine on PostgreSQL
// with 1 and 8 clients, each against pgbench's built-in TPC-B-like script with as many
// clients for as long, on a scratch database of the same server.
func benchCommands(cfg config, report func(result)) {
	ctx := context.Background()
	pgbench, err := initPgbench(ctx, cfg.dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: no pgbench baseline:", err)
	}
	for _, clients := range []int{1, 8} {
		r := result{Name: fmt.Sprintf("pg.cmds_per_s.c%d", clients), Value: commandsPerSecond(ctx, cfg, clients), Unit: "cmds/s"}
		if pgbench != nil {
			tps, err := pgbench(clients, cfg.duration)
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench: pgbench:", err)
			} else {
				r = r.WithBaseline(tps)
			}
		}
		report(r)
	}
}

// commandsPerSecond runs work-order cycles from clients goroutines for cfg.duration on a
// fresh schema and returns the commands per second.
func commandsPerSecond(ctx context.Context, cfg config, clients int) float64 {
	schema, drop := scratchSchema(cfg.dsn, "cmds")
	defer drop()
	s, err := pgstore.Open(ctx, withPoolSize(cfg.dsn, clients+2), pgstore.WithSchema(schema))
	must(err)
	defer s.Close()
	p, err := mes.Open(ctx, s)
	must(err)
	must(p.DefineEquipment(ctx, []equipment.Equipment{{ID: "S1", Level: equipment.Site}, {ID: "WC", Level: equipment.WorkCenter, Parent: "S1"}}, benchActor))
	rt, err := routing.New("P", "A").Step("10", "Make", routing.At("WC")).Build()
	must(err)
	_, err = p.PublishRouting(ctx, "S1", rt, benchActor)
	must(err)

	var commands atomic.Int64
	var next atomic.Int64
	deadline := time.Now().Add(cfg.duration)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				commands.Add(workOrderCycle(ctx, p, fmt.Sprint(next.Add(1)), deadline))
			}
		}()
	}
	wg.Wait()
	return float64(commands.Load()) / time.Since(start).Seconds()
}

// workOrderCycle runs create, release, start, two priority changes, complete and close (7
// commands), stopping early at the deadline; it returns how many commands ran.
func workOrderCycle(ctx context.Context, p *mes.Plant, number string, deadline time.Time) int64 {
	wo, err := p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "S1", Number: number, Product: "P", Qty: units.MustParse("10 ea")}, benchActor)
	must(err)
	steps := []func() error{
		func() error { _, err := p.ReleaseWorkOrder(ctx, wo.ID, benchActor); return err },
		func() error { _, err := p.StartWorkOrder(ctx, wo.ID, benchActor); return err },
		func() error { _, err := p.SetWorkOrderPriority(ctx, wo.ID, 3, benchActor); return err },
		func() error { _, err := p.SetWorkOrderPriority(ctx, wo.ID, 4, benchActor); return err },
		func() error { _, err := p.CompleteWorkOrder(ctx, wo.ID, benchActor); return err },
		func() error { _, err := p.CloseWorkOrder(ctx, wo.ID, benchActor); return err },
	}
	n := int64(1)
	for _, step := range steps {
		if time.Now().After(deadline) {
			break
		}
		must(step())
		n++
	}
	return n
}

// withPoolSize sets the pool's connection limit in dsn.
func withPoolSize(dsn string, n int) string {
	param := fmt.Sprintf("pool_max_conns=%d", n)
	switch {
	case !strings.Contains(dsn, "://"):
		return dsn + " " + param
	case strings.Contains(dsn, "?"):
		return dsn + "&" + param
	}
	return dsn + "?" + param
}

const pgbenchDB = "takt_pgbench"

// initPgbench creates (when missing) and initialises the scratch database for pgbench, at
// pgbench's default scale, and returns the function that runs it.
func initPgbench(ctx context.Context, dsn string) (func(clients int, d time.Duration) (float64, error), error) {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		return nil, err
	}
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, err
	}
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", pgbenchDB).Scan(&exists)
	if err == nil && !exists {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgbenchDB)
	}
	conn.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("creating database %s: %w", pgbenchDB, err)
	}
	target := []string{"-h", cc.Host, "-p", strconv.Itoa(int(cc.Port)), "-U", cc.User, pgbenchDB}
	env := os.Environ()
	if cc.Password != "" {
		env = append(env, "PGPASSWORD="+cc.Password)
	}
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, append(args, target...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	if _, err := run("-i", "-q"); err != nil {
		return nil, err
	}
	tps := regexp.MustCompile(`tps = ([0-9.]+)`)
	return func(clients int, d time.Duration) (float64, error) {
		n := strconv.Itoa(clients)
		out, err := run("-c", n, "-j", n, "-T", strconv.Itoa(int(d.Seconds())))
		if err != nil {
			return 0, err
		}
		m := tps.FindStringSubmatch(out)
		if m == nil {
			return 0, fmt.Errorf("no tps in pgbench's output:\n%s", out)
		}
		return strconv.ParseFloat(m[1], 64)
	}, nil
}
