package mqttdevice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/mes"
)

// Sink is where signals go: *mes.Plant implements it.
type Sink interface {
	IngestSignals(ctx context.Context, signals []equipment.Signal, opts ...mes.CommandOption) ([]mes.IngestResult, error)
}

// Config configures an Adapter. Broker, ClientID and Site are required.
type Config struct {
	// Broker is the broker's URL, for example "tcp://127.0.0.1:1883".
	Broker string
	// ClientID identifies the adapter to the broker. Keep it stable: with it the broker
	// keeps the subscription and queues QoS 1 signals while the adapter is away.
	ClientID string
	// Username and Password authenticate to the broker, if it requires it.
	Username, Password string
	// Site is the site whose signals the adapter subscribes to (takt/<Site>/+/signals).
	// Run one adapter per site.
	Site string
	// Actor is the device actor signals are ingested as; default {ID: ClientID, Kind:
	// mes.Device}.
	Actor mes.Actor
	// BufferSize bounds how many signals are kept while the engine cannot take them. The
	// broker's in-flight window (mosquitto's max_inflight_messages, 20 by default) usually
	// bounds them first, since the adapter acknowledges a message only once the engine has
	// its signals; when the buffer is full nevertheless, the oldest are dropped, counted in
	// Stats.Dropped, and their messages acknowledged. Default 100,000.
	BufferSize int
	// BatchSize is the most signals passed to the sink in one call. Default 500.
	BatchSize int
	// RetryInterval is the first wait before retrying a sink that failed; it doubles up to
	// MaxRetryInterval. Defaults 200 ms and 10 s.
	RetryInterval, MaxRetryInterval time.Duration
	// MaxReconnectInterval bounds the wait between reconnection attempts. Default 10 s.
	MaxReconnectInterval time.Duration
	// PublishTimeout is how long SendCommand waits for the broker's acknowledgement.
	// Default 5 s.
	PublishTimeout time.Duration
	// Logger receives diagnostics. Default: discard.
	Logger *slog.Logger
}

func (c *Config) defaults() error {
	var missing []string
	if c.Broker == "" {
		missing = append(missing, "Broker")
	}
	if c.ClientID == "" {
		missing = append(missing, "ClientID")
	}
	if _, err := SignalTopic(c.Site, "x"); err != nil {
		missing = append(missing, "Site")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %v missing or invalid; set Broker (tcp://host:1883), a stable ClientID and the Site to serve", ErrInvalidConfig, missing)
	}
	if c.Actor.ID == "" {
		c.Actor = mes.Actor{ID: c.ClientID, Kind: mes.Device}
	}
	setDefault(&c.BufferSize, 100_000)
	setDefault(&c.BatchSize, 500)
	setDefault(&c.RetryInterval, 200*time.Millisecond)
	setDefault(&c.MaxRetryInterval, 10*time.Second)
	setDefault(&c.MaxReconnectInterval, 10*time.Second)
	setDefault(&c.PublishTimeout, 5*time.Second)
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// ErrInvalidConfig is returned by New for an incomplete Config.
var ErrInvalidConfig = errors.New("mqttdevice: invalid config")

// ErrNotAcknowledged is returned by SendCommand when the broker did not acknowledge a
// command within PublishTimeout. The client keeps it and delivers it once connected.
var ErrNotAcknowledged = errors.New("mqttdevice: command not acknowledged yet")

// Stats counts what the adapter did since it was created.
type Stats struct {
	// Received is the number of valid signals decoded from messages (a message the broker
	// sends again, because it was not acknowledged before a reconnect, counts again).
	Received uint64
	// Invalid is the number of signals refused: bad payload elements, signals published
	// on another equipment's topic, and signals the engine rejected as invalid or not
	// authorized (mes.ErrInvalid, mes.ErrUnauthorized).
	Invalid uint64
	// Delivered is the number of signals the engine took: applied, recognised as
	// duplicates (counted in Duplicates too) or not applied as too old (counted in TooOld
	// too).
	Delivered, Duplicates uint64
	// TooOld is the number of signals the engine did not apply because their seq is too
	// far below their source's latest (equipment.TooOld): usually a device that restarted
	// its sequence numbers without changing its source.
	TooOld uint64
	// Dropped is the number of signals dropped because the buffer was full (the oldest go
	// first). Their messages are acknowledged, so these signals are lost.
	Dropped uint64
	// Buffered is the number of signals waiting for the engine now.
	Buffered int
	// Unacknowledged is the number of messages received and not acknowledged to the broker
	// yet, because some of their signals wait for the engine. While the engine is
	// unavailable it rises to the broker's in-flight window, and the broker queues the rest.
	Unacknowledged int
}

// Adapter connects a site's devices on an MQTT broker to the engine: it subscribes to
// takt/<site>/+/signals, decodes each message into signals, keeps them in a bounded
// buffer and feeds them to the Sink in batches, retrying while the engine is unavailable,
// and acknowledges each message to the broker once the engine has taken its signals; and
// it implements mes.DeviceCommander by publishing commands to
// takt/<site>/<equipment>/commands. It reconnects to the broker by itself. Create it with
// New, run it with Run; it is safe for concurrent use.
type Adapter struct {
	cfg    Config
	client mqtt.Client
	buf    *buffer

	received, invalid, delivered, duplicates, tooOld atomic.Uint64

	runMu   sync.Mutex
	running bool
}

// New returns an adapter for cfg. It does not connect; Run does. Pass the adapter to
// mes.WithDeviceCommander when opening the plant, then run it with the plant as its sink.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	a := &Adapter{cfg: cfg, buf: newBuffer(cfg.BufferSize)}
	filter := TopicRoot + "/" + cfg.Site + "/+/" + SignalsLevel
	opts := mqtt.NewClientOptions().AddBroker(cfg.Broker).SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).SetPassword(cfg.Password).
		SetCleanSession(false).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(cfg.MaxReconnectInterval).
		// Every message goes to onMessage, which is in place before the first connection:
		// with a persistent session the broker sends what it queued right after connecting,
		// and may send messages of subscriptions an earlier configuration made. A message
		// not acknowledged takes a place in the broker's in-flight window until the next
		// connection; once the window is full of them, the broker sends no more.
		SetDefaultPublishHandler(a.onMessage).
		// The buffer acknowledges a message when the engine has its signals. Paho binds
		// Message.Ack to the connection the message came on: after a reconnect it drops the
		// acknowledgement (the broker sends the message again, with the persistent session).
		// The handler is called in the order messages arrive, which the buffer's order of
		// acknowledgements follows.
		SetAutoAckDisabled(true).SetOrderMatters(true).
		SetOnConnectHandler(func(c mqtt.Client) {
			// Subscribe on every connection: a broker that lost its state (restarted
			// without persistence) forgets the subscription.
			tok := c.Subscribe(filter, 1, nil)
			if tok.WaitTimeout(cfg.PublishTimeout) && tok.Error() != nil {
				cfg.Logger.Error("subscribe failed", "filter", filter, "err", tok.Error())
			}
			if st, ok := tok.(*mqtt.SubscribeToken); ok && st.Result()[filter] == subscriptionRefused {
				cfg.Logger.Error("the broker refused the subscription; signals of the site are not received: allow the adapter's user to read the topic in the broker's ACL",
					"filter", filter, "client_id", cfg.ClientID)
			}
			cfg.Logger.Info("connected to the MQTT broker", "broker", cfg.Broker, "filter", filter)
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			cfg.Logger.Warn("lost the MQTT broker; reconnecting", "broker", cfg.Broker, "err", err)
		})
	a.client = mqtt.NewClient(opts)
	return a, nil
}

// subscriptionRefused is the return code of a SUBACK that refuses the subscription
// (MQTT 3.1.1, section 3.9.3).
const subscriptionRefused = 0x80

// onMessage decodes a signals message of the adapter's site into the buffer, which
// acknowledges the message once its signals have left it. A message without valid signals
// is acknowledged as soon as those received before it are.
func (a *Adapter) onMessage(_ mqtt.Client, m mqtt.Message) {
	site, eq, err := parseSignalTopic(m.Topic())
	if err == nil && site != a.cfg.Site {
		err = fmt.Errorf("%w: %q is about site %q, this adapter serves %q; the broker session of ClientID %q may keep an earlier subscription: unsubscribe it or use another ClientID",
			ErrInvalidTopic, m.Topic(), site, a.cfg.Site, a.cfg.ClientID)
	}
	if err != nil {
		a.invalid.Add(1)
		a.cfg.Logger.Warn("message on an unexpected topic ignored", "err", err)
		a.buf.add(nil, m.Ack)
		return
	}
	sigs, err := DecodePayload(m.Payload())
	if err != nil {
		var pe *PayloadError
		n := uint64(1)
		if errors.As(err, &pe) {
			n = uint64(len(pe.Problems))
		}
		a.invalid.Add(n)
		a.cfg.Logger.Warn("invalid signals refused", "topic", m.Topic(), "err", err)
	}
	kept := sigs[:0]
	for _, s := range sigs {
		if s.Equipment != eq {
			a.invalid.Add(1)
			a.cfg.Logger.Warn("signal about another equipment refused; publish it on its own topic", "topic", m.Topic(), "equipment", s.Equipment)
			continue
		}
		kept = append(kept, s)
	}
	a.received.Add(uint64(len(kept)))
	if dropped := a.buf.add(kept, m.Ack); dropped > 0 {
		a.cfg.Logger.Error("signal buffer full: oldest signals dropped and their messages acknowledged", "dropped", dropped, "capacity", a.cfg.BufferSize)
	}
}

// Run connects to the broker (retrying until it answers), subscribes and delivers
// buffered signals to sink (the *mes.Plant) until ctx is done; then it disconnects and
// returns ctx.Err(). The messages of signals still buffered then are not acknowledged:
// the broker sends them again when an adapter with the same ClientID connects.
func (a *Adapter) Run(ctx context.Context, sink Sink) error {
	if sink == nil {
		return fmt.Errorf("%w: Run needs a Sink (the *mes.Plant)", ErrInvalidConfig)
	}
	a.runMu.Lock()
	if a.running {
		a.runMu.Unlock()
		return fmt.Errorf("%w: Run is already running", ErrInvalidConfig)
	}
	a.running = true
	a.runMu.Unlock()
	defer func() { a.runMu.Lock(); a.running = false; a.runMu.Unlock() }()

	a.client.Connect() // with ConnectRetry it keeps trying in the background
	defer a.client.Disconnect(250)
	wait := a.cfg.RetryInterval
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-a.buf.ready:
		}
		for {
			batch, first := a.buf.peek(a.cfg.BatchSize)
			if len(batch) == 0 {
				break
			}
			if err := a.deliver(ctx, sink, batch); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				a.cfg.Logger.Warn("engine unavailable; signals stay buffered", "buffered", len(batch), "retry_in", wait, "err", err)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(wait):
				}
				wait = min(2*wait, a.cfg.MaxRetryInterval)
				continue
			}
			wait = a.cfg.RetryInterval
			a.buf.remove(first + uint64(len(batch)))
		}
	}
}

// deliver passes a batch to the sink. A batch the engine refuses (invalid, or not
// authorized, such as a signal about another site's equipment) is split into single
// signals so that one bad signal does not hold back the rest; refused ones are counted and
// dropped, since sending them again would be refused again. Any other error leaves the
// batch buffered.
func (a *Adapter) deliver(ctx context.Context, sink Sink, batch []equipment.Signal) error {
	res, err := sink.IngestSignals(ctx, batch, mes.By(a.cfg.Actor))
	refused := errors.Is(err, mes.ErrInvalid) || errors.Is(err, mes.ErrUnauthorized)
	if refused && len(batch) > 1 {
		for i := range batch {
			if err := a.deliver(ctx, sink, batch[i:i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	if refused {
		a.invalid.Add(1)
		a.cfg.Logger.Warn("engine refused a signal", "source", batch[0].Source, "seq", batch[0].Seq, "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	for _, r := range res {
		switch r.Outcome {
		case equipment.Duplicate:
			a.duplicates.Add(1)
		case equipment.TooOld:
			a.tooOld.Add(1)
			a.cfg.Logger.Warn("engine did not apply a signal: its seq is too far below its source's latest; give each device boot its own source",
				"equipment", r.Equipment, "source", r.Source, "seq", r.Seq)
		}
	}
	a.delivered.Add(uint64(len(res)))
	return nil
}

// SendCommand implements mes.DeviceCommander: it publishes cmd as JSON (QoS 1, not
// retained) to takt/<site>/<equipment>/commands and waits up to PublishTimeout for the
// broker's acknowledgement. While the broker is away the client keeps QoS 1 commands and
// sends them after reconnecting; SendCommand then returns ErrNotAcknowledged.
func (a *Adapter) SendCommand(ctx context.Context, cmd mes.DeviceCommand) error {
	t, err := CommandTopic(cmd.Site, cmd.Equipment)
	if err != nil {
		return err
	}
	payload, err := json.Marshal(cmd)
	if err != nil {
		return fmt.Errorf("mqttdevice: encoding command for %s: %w", cmd.Equipment, err)
	}
	tok := a.client.Publish(t, 1, false, payload)
	timer := time.NewTimer(a.cfg.PublishTimeout)
	defer timer.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("%w: %s to %s after %s; it is delivered when the broker is back", ErrNotAcknowledged, cmd.Kind, t, a.cfg.PublishTimeout)
	}
}

// Stats returns the adapter's counters.
func (a *Adapter) Stats() Stats {
	buffered, unacked, dropped := a.buf.stats()
	return Stats{
		Received: a.received.Load(), Invalid: a.invalid.Load(), Delivered: a.delivered.Load(),
		Duplicates: a.duplicates.Load(), TooOld: a.tooOld.Load(), Dropped: dropped, Buffered: buffered,
		Unacknowledged: unacked,
	}
}

// Connected reports whether the adapter is connected to the broker now.
func (a *Adapter) Connected() bool { return a.client.IsConnectionOpen() }
