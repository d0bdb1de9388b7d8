package mqttdevice_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/mqttdevice"
	"github.com/taktmes/takt/routing"
	"github.com/taktmes/takt/store/memstore"
	"github.com/taktmes/takt/units"
)

var (
	ctx   = context.Background()
	admin = mes.By(mes.Actor{ID: "admin", Kind: mes.Person})
	t0    = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
)

// waitFor is how long the tests wait for messages to travel through the broker.
const waitFor = 15 * time.Second

// brokerURL returns the broker to test against, or skips the test.
func brokerURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("TAKT_MQTT_URL")
	if url == "" {
		t.Skip("set TAKT_MQTT_URL=tcp://127.0.0.1:1883 to run the tests against a real MQTT broker")
	}
	return url
}

// unique returns a name no other test run on the shared broker uses.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), time.Now().UnixNano())
}

// clock is the plants' clock: a minute before the signals the tests send, so that work
// tracked in is on the machine when they arrive, whatever the day the tests run.
type clock struct{}

func (clock) Now() time.Time { return t0.Add(-time.Minute) }

// newPlant opens a plant with work unit M1 (ideal cycle 1 s) under site and a lot of
// 10 ea ready at step 10 (parameter speed=fast) on M1.
func newPlant(t *testing.T, site string, opts ...mes.Option) (*mes.Plant, mes.Lot) {
	t.Helper()
	p, err := mes.Open(ctx, memstore.New(), append([]mes.Option{mes.WithClock(clock{})}, opts...)...)
	require.NoError(t, err)
	require.NoError(t, p.DefineEquipment(ctx, []equipment.Equipment{
		{ID: site, Level: equipment.Site},
		{ID: "WC", Level: equipment.WorkCenter, Parent: site},
		{ID: "M1", Level: equipment.WorkUnit, Parent: "WC", IdealCycleTime: time.Second},
	}, admin))
	require.NoError(t, p.DefineMaterial(ctx, genealogy.Material{ID: "P", Unit: "ea", Tracking: genealogy.TrackLot, Kind: genealogy.KindProduct}, admin))
	rt, err := routing.New("P", "1").Step("10", "Press", routing.At("WC"), routing.Param("speed", "fast")).Build()
	require.NoError(t, err)
	_, err = p.PublishRouting(ctx, site, rt, admin)
	require.NoError(t, err)
	wo, err := p.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: site, Number: "1", Product: "P", Qty: units.MustParse("10 ea")}, admin)
	require.NoError(t, err)
	_, err = p.ReleaseWorkOrder(ctx, wo.ID, admin)
	require.NoError(t, err)
	lot, err := p.StartLot(ctx, wo.ID, units.MustParse("10 ea"), admin)
	require.NoError(t, err)
	return p, lot
}

// start runs an adapter for site against sink until the test ends and waits until it is
// connected.
func start(t *testing.T, a *mqttdevice.Adapter, sink mqttdevice.Sink) {
	t.Helper()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx, sink) }()
	t.Cleanup(func() {
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
	})
	require.Eventually(t, a.Connected, waitFor, 10*time.Millisecond, "adapter did not connect")
}

// client connects a plain MQTT client (a device, or a commands listener).
func client(t *testing.T, url string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(unique("dev")).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).SetMaxReconnectInterval(200 * time.Millisecond))
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(waitFor))
	require.NoError(t, tok.Error())
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c mqtt.Client, topic string, payload any) {
	t.Helper()
	b, ok := payload.([]byte)
	if !ok {
		var err error
		b, err = json.Marshal(payload)
		require.NoError(t, err)
	}
	tok := c.Publish(topic, 1, false, b)
	require.True(t, tok.WaitTimeout(waitFor))
	require.NoError(t, tok.Error())
}

func count(seq uint64, good int64) equipment.Signal {
	return equipment.Signal{Source: "plc-M1", Seq: seq, At: t0.Add(time.Duration(seq) * time.Second), Equipment: "M1", Kind: equipment.KindCount, Count: &equipment.Count{Good: good}}
}

func goodParts(t *testing.T, p *mes.Plant) int64 {
	t.Helper()
	h, err := p.EquipmentHistory(ctx, "M1", t0, t0.Add(time.Hour))
	require.NoError(t, err)
	var good int64
	for _, iv := range h {
		good += iv.Good
	}
	return good
}

func TestSignalsPublishedReachTheEngineAndCommandsArePublished(t *testing.T) {
	url := brokerURL(t)
	site := unique("S")
	a, err := mqttdevice.New(mqttdevice.Config{Broker: url, ClientID: unique("takt"), Site: site})
	require.NoError(t, err)
	plant, lot := newPlant(t, site, mes.WithDeviceCommander(a))
	start(t, a, plant)

	dev := client(t, url)
	var mu sync.Mutex
	var commands []mes.DeviceCommand
	tok := dev.Subscribe("takt/"+site+"/+/commands", 1, func(_ mqtt.Client, m mqtt.Message) {
		var cmd mes.DeviceCommand
		assert.NoError(t, json.Unmarshal(m.Payload(), &cmd))
		assert.Equal(t, "takt/"+site+"/M1/commands", m.Topic())
		mu.Lock()
		commands = append(commands, cmd)
		mu.Unlock()
	})
	require.True(t, tok.WaitTimeout(waitFor))
	require.NoError(t, tok.Error())

	_, err = plant.TrackIn(ctx, lot.ID, "10", units.Quantity{}, admin, mes.On("M1"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(commands) == 2 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, mes.DownloadParameters, commands[0].Kind)
	assert.Equal(t, map[string]string{"speed": "fast"}, commands[0].Parameters)
	assert.Equal(t, mes.SetInterlock, commands[1].Kind)
	assert.False(t, commands[1].Interlock.Block)

	topic, err := mqttdevice.SignalTopic(site, "M1")
	require.NoError(t, err)
	running := equipment.Signal{Source: "plc-M1", Seq: 1, At: t0, Equipment: "M1", Kind: equipment.KindState, State: &equipment.StateChange{State: equipment.Running}}
	publish(t, dev, topic, running)
	publish(t, dev, topic, []equipment.Signal{count(2, 5), count(3, 7)})
	publish(t, dev, topic, []equipment.Signal{count(3, 7), count(4, 1)}) // 3 is re-sent
	publish(t, dev, topic, []byte(`{"not":"a signal"}`))
	other := count(5, 100)
	other.Equipment = "M2"
	publish(t, dev, topic, other) // on M1's topic: refused
	require.Eventually(t, func() bool { st := a.Stats(); return st.Delivered == 5 && st.Invalid == 2 && st.Unacknowledged == 0 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, mqttdevice.Stats{Received: 5, Invalid: 2, Delivered: 5, Duplicates: 1}, a.Stats())
	assert.Equal(t, int64(13), goodParts(t, plant))
	counts, err := plant.MachineCounts(ctx, lot.ID)
	require.NoError(t, err)
	require.Len(t, counts, 1)
	assert.Equal(t, int64(13), counts[0].Good)
}

// flakySink stands for an engine that is unavailable for a while; commitThenFail makes
// the next call apply its signals and still report a failure (a timeout after commit).
type flakySink struct {
	plant          *mes.Plant
	down           atomic.Bool
	commitThenFail atomic.Bool
	calls          atomic.Int64
}

var errDown = errors.New("engine unavailable")

func (s *flakySink) IngestSignals(ctx context.Context, sigs []equipment.Signal, opts ...mes.CommandOption) ([]mes.IngestResult, error) {
	s.calls.Add(1)
	if s.down.Load() {
		return nil, errDown
	}
	res, err := s.plant.IngestSignals(ctx, sigs, opts...)
	if err == nil && s.commitThenFail.CompareAndSwap(true, false) {
		return nil, errDown
	}
	return res, err
}

func TestEngineOutageBuffersSignalsAndDeliversThemOnce(t *testing.T) {
	url := brokerURL(t)
	site := unique("S")
	plant, _ := newPlant(t, site)
	sink := &flakySink{plant: plant}
	sink.down.Store(true)
	a, err := mqttdevice.New(mqttdevice.Config{Broker: url, ClientID: unique("takt"), Site: site, BufferSize: 6,
		RetryInterval: 20 * time.Millisecond, MaxRetryInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	start(t, a, sink)
	dev := client(t, url)
	topic, err := mqttdevice.SignalTopic(site, "M1")
	require.NoError(t, err)

	// While the engine is down, signals wait in the buffer; beyond its 6 the oldest go.
	for seq := uint64(1); seq <= 8; seq++ {
		publish(t, dev, topic, count(seq, int64(seq)))
	}
	require.Eventually(t, func() bool { return a.Stats().Received == 8 }, waitFor, 10*time.Millisecond)
	require.Eventually(t, func() bool { return sink.calls.Load() >= 3 }, waitFor, 10*time.Millisecond, "the adapter keeps retrying")
	assert.Equal(t, mqttdevice.Stats{Received: 8, Dropped: 2, Buffered: 6, Unacknowledged: 6}, a.Stats(),
		"the messages of the dropped signals are acknowledged, the others wait")
	assert.Equal(t, int64(0), goodParts(t, plant))

	// The engine comes back, but its first answer is lost after it committed: the adapter
	// sends the batch again and the engine recognises every signal.
	sink.commitThenFail.Store(true)
	sink.down.Store(false)
	require.Eventually(t, func() bool { return a.Stats().Unacknowledged == 0 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, mqttdevice.Stats{Received: 8, Delivered: 6, Duplicates: 6, Dropped: 2}, a.Stats())
	assert.Equal(t, int64(3+4+5+6+7+8), goodParts(t, plant), "the newest six signals, each applied once")
}

// mosquitto runs a private broker on 127.0.0.1 that the test can stop and restart.
type mosquitto struct {
	t    *testing.T
	bin  string
	conf string
	port int
	cmd  *exec.Cmd
}

func newMosquitto(t *testing.T) *mosquitto {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
		if _, err := os.Stat(bin); err != nil {
			t.Skip("mosquitto is not installed; the restart test starts its own broker")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	require.NoError(t, os.WriteFile(conf, fmt.Appendf(nil, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", port), 0o600))
	m := &mosquitto{t: t, bin: bin, conf: conf, port: port}
	m.start()
	t.Cleanup(m.stop)
	return m
}

func (m *mosquitto) url() string { return fmt.Sprintf("tcp://127.0.0.1:%d", m.port) }

func (m *mosquitto) start() {
	m.cmd = exec.Command(m.bin, "-c", m.conf)
	require.NoError(m.t, m.cmd.Start())
	require.Eventually(m.t, func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", m.port))
		if err == nil {
			c.Close()
		}
		return err == nil
	}, waitFor, 20*time.Millisecond, "mosquitto did not start")
}

func (m *mosquitto) stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
	m.cmd = nil
}

func TestAdapterReconnectsAfterBrokerRestart(t *testing.T) {
	brokerURL(t)
	broker := newMosquitto(t)
	site := unique("S")
	a, err := mqttdevice.New(mqttdevice.Config{Broker: broker.url(), ClientID: unique("takt"), Site: site,
		MaxReconnectInterval: 200 * time.Millisecond, PublishTimeout: 300 * time.Millisecond})
	require.NoError(t, err)
	plant, _ := newPlant(t, site, mes.WithDeviceCommander(a))
	start(t, a, plant)
	dev := client(t, broker.url())
	topic, err := mqttdevice.SignalTopic(site, "M1")
	require.NoError(t, err)
	publish(t, dev, topic, count(1, 2))
	require.Eventually(t, func() bool { return a.Stats().Delivered == 1 }, waitFor, 10*time.Millisecond)

	broker.stop()
	require.Eventually(t, func() bool { return !a.Connected() }, waitFor, 10*time.Millisecond)
	// A command during the outage is kept by the client; the engine hears it was not
	// acknowledged yet.
	err = a.SendCommand(ctx, mes.DeviceCommand{Kind: mes.SetInterlock, Site: site, Equipment: "M1", Interlock: &equipment.Interlock{Equipment: "M1", Block: true}})
	require.ErrorIs(t, err, mqttdevice.ErrNotAcknowledged)

	broker.start()
	require.Eventually(t, a.Connected, waitFor, 10*time.Millisecond, "adapter did not reconnect")
	require.Eventually(t, dev.IsConnectionOpen, waitFor, 10*time.Millisecond)
	// The restarted broker lost every subscription; the adapter subscribed again.
	require.Eventually(t, func() bool {
		publish(t, dev, topic, count(2, 3))
		return a.Stats().Delivered >= 2
	}, waitFor, 200*time.Millisecond)
	require.Eventually(t, func() bool { return goodParts(t, plant) == 5 }, waitFor, 10*time.Millisecond, "signal 2 applied once however often it was sent")

	got := make(chan mes.DeviceCommand, 4)
	tok := dev.Subscribe("takt/"+site+"/M1/commands", 1, func(_ mqtt.Client, m mqtt.Message) {
		var cmd mes.DeviceCommand
		if json.Unmarshal(m.Payload(), &cmd) == nil {
			got <- cmd
		}
	})
	require.True(t, tok.WaitTimeout(waitFor))
	require.NoError(t, a.SendCommand(ctx, mes.DeviceCommand{Kind: mes.SetInterlock, Site: site, Equipment: "M1", Interlock: &equipment.Interlock{Equipment: "M1"}}))
	select {
	case cmd := <-got:
		assert.Equal(t, "M1", cmd.Equipment)
	case <-time.After(waitFor):
		t.Fatal("command after reconnect not received")
	}
}

func TestNewValidatesConfig(t *testing.T) {
	_, err := mqttdevice.New(mqttdevice.Config{Site: "S/1"})
	require.ErrorIs(t, err, mqttdevice.ErrInvalidConfig)
	assert.ErrorContains(t, err, "Broker ClientID Site")
}

// siteDevices lets devices act only in one site; people may do anything.
type siteDevices string

func (s siteDevices) Authorize(_ context.Context, r mes.AuthRequest) error {
	if r.Actor.Kind == mes.Device && r.Site != string(s) {
		return fmt.Errorf("%w: device %s may act in site %s only", mes.ErrUnauthorized, r.Actor.ID, string(s))
	}
	return nil
}

func TestASignalTheEngineRefusesAsUnauthorizedIsDroppedAndDoesNotBlockTheOthers(t *testing.T) {
	url := brokerURL(t)
	site := unique("S")
	plant, _ := newPlant(t, site, mes.WithAuthorizer(siteDevices(site)))
	other := unique("S")
	require.NoError(t, plant.DefineEquipment(ctx, []equipment.Equipment{
		{ID: other, Level: equipment.Site}, {ID: "M9", Level: equipment.WorkUnit, Parent: other},
	}, admin))
	a, err := mqttdevice.New(mqttdevice.Config{Broker: url, ClientID: unique("takt"), Site: site,
		RetryInterval: 20 * time.Millisecond, MaxRetryInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	start(t, a, plant)
	dev := client(t, url)

	// A device on this site's topics reports for equipment of another site: the engine
	// refuses it, and the signals after it still go through.
	foreign, err := mqttdevice.SignalTopic(site, "M9")
	require.NoError(t, err)
	m9 := count(1, 100)
	m9.Source, m9.Equipment = "plc-M9", "M9"
	publish(t, dev, foreign, m9)
	topic, err := mqttdevice.SignalTopic(site, "M1")
	require.NoError(t, err)
	publish(t, dev, topic, count(2, 5))
	require.Eventually(t, func() bool { st := a.Stats(); return st.Delivered == 1 && st.Unacknowledged == 0 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, mqttdevice.Stats{Received: 2, Invalid: 1, Delivered: 1}, a.Stats())
	assert.Equal(t, int64(5), goodParts(t, plant))
	h, err := plant.EquipmentHistory(ctx, "M9", t0, t0.Add(time.Hour))
	require.NoError(t, err)
	for _, iv := range h {
		assert.Zero(t, iv.Good, "M9 counts nothing")
	}
}

func TestSignalsQueuedWhileTheAdapterWasStoppedAreDeliveredWhenANewAdapterStarts(t *testing.T) {
	url := brokerURL(t)
	site := unique("S")
	clientID := unique("takt")
	plant, _ := newPlant(t, site)
	dev := client(t, url)
	topic, err := mqttdevice.SignalTopic(site, "M1")
	require.NoError(t, err)

	// The first adapter subscribes (the broker keeps the session) and stops.
	first, err := mqttdevice.New(mqttdevice.Config{Broker: url, ClientID: clientID, Site: site})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- first.Run(runCtx, plant) }()
	require.Eventually(t, func() bool {
		publish(t, dev, topic, count(1, 1))
		return first.Stats().Delivered > 0
	}, waitFor, 200*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	// While no adapter runs, the broker queues what the device publishes (more than its
	// in-flight window).
	for seq := uint64(2); seq <= 31; seq++ {
		publish(t, dev, topic, count(seq, 1))
	}

	// The restarted process creates a new adapter with the same ClientID: it gets them all.
	second, err := mqttdevice.New(mqttdevice.Config{Broker: url, ClientID: clientID, Site: site})
	require.NoError(t, err)
	start(t, second, plant)
	require.Eventually(t, func() bool { return goodParts(t, plant) == 31 }, waitFor, 10*time.Millisecond,
		"signals queued by the broker while the adapter was stopped")
	publish(t, dev, topic, count(32, 1))
	require.Eventually(t, func() bool { return goodParts(t, plant) == 32 }, waitFor, 10*time.Millisecond,
		"signals published after the restart")
}

func TestMessagesFromASubscriptionOfAnEarlierConfigDoNotStallTheAdapter(t *testing.T) {
	url := brokerURL(t)
	oldSite, site := unique("OLD"), unique("S")
	clientID := unique("takt")
	plant, _ := newPlant(t, site)
	dev := client(t, url)

	// An adapter with this ClientID once served another site: the broker keeps that
	// subscription in the persistent session.
	before, err := mqttdevice.New(mqttdevice.Config{Broker: url, ClientID: clientID, Site: oldSite})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	oldPlant, _ := newPlant(t, oldSite)
	go func() { done <- before.Run(runCtx, oldPlant) }()
	oldTopic, err := mqttdevice.SignalTopic(oldSite, "M1")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		publish(t, dev, oldTopic, count(1, 1))
		return before.Stats().Received > 0
	}, waitFor, 200*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	a, err := mqttdevice.New(mqttdevice.Config{Broker: url, ClientID: clientID, Site: site})
	require.NoError(t, err)
	start(t, a, plant)
	// Devices of the old site go on publishing (more than the broker's in-flight window).
	for seq := uint64(2); seq <= 41; seq++ {
		publish(t, dev, oldTopic, count(seq, 1))
	}
	topic, err := mqttdevice.SignalTopic(site, "M1")
	require.NoError(t, err)
	publish(t, dev, topic, count(1, 7))
	require.Eventually(t, func() bool { return goodParts(t, plant) == 7 }, waitFor, 10*time.Millisecond,
		"the signal on this site's topic arrives")
	assert.Positive(t, a.Stats().Invalid, "the old site's signals are refused")
}

func TestSignalsTheEngineFindsTooOldAreCountedApart(t *testing.T) {
	url := brokerURL(t)
	site := unique("S")
	plant, _ := newPlant(t, site)
	a, err := mqttdevice.New(mqttdevice.Config{Broker: url, ClientID: unique("takt"), Site: site})
	require.NoError(t, err)
	start(t, a, plant)
	dev := client(t, url)
	topic, err := mqttdevice.SignalTopic(site, "M1")
	require.NoError(t, err)

	// The device restarted its sequence numbers under the same source: the engine cannot
	// tell whether seq 1 was applied, so it does not apply it.
	publish(t, dev, topic, count(equipment.DedupWindow+10, 1))
	publish(t, dev, topic, count(1, 1))
	require.Eventually(t, func() bool { st := a.Stats(); return st.Delivered == 2 && st.Unacknowledged == 0 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, mqttdevice.Stats{Received: 2, Delivered: 2, TooOld: 1}, a.Stats())
}

// logRecords keeps the messages of the log records at level Error.
type logRecords struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecords) WithGroup(string) slog.Handler            { return l }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		l.mu.Lock()
		l.msgs = append(l.msgs, r.Message)
		l.mu.Unlock()
	}
	return nil
}

func (l *logRecords) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}

// refusingBroker is a broker that accepts connections and refuses every subscription
// (SUBACK return code 0x80), as brokers whose ACL denies a subscription do.
func refusingBroker(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				for {
					p, err := packets.ReadPacket(conn)
					if err != nil {
						return
					}
					var reply packets.ControlPacket
					switch p := p.(type) {
					case *packets.ConnectPacket:
						reply = packets.NewControlPacket(packets.Connack)
					case *packets.SubscribePacket:
						ack := packets.NewControlPacket(packets.Suback).(*packets.SubackPacket)
						ack.MessageID, ack.ReturnCodes = p.MessageID, []byte{0x80}
						reply = ack
					case *packets.PingreqPacket:
						reply = packets.NewControlPacket(packets.Pingresp)
					default:
						continue
					}
					if reply.Write(conn) != nil {
						return
					}
				}
			}()
		}
	}()
	return "tcp://" + l.Addr().String()
}

func TestASubscriptionTheBrokerRefusesIsLoggedAsAnError(t *testing.T) {
	logs := &logRecords{}
	a, err := mqttdevice.New(mqttdevice.Config{Broker: refusingBroker(t), ClientID: unique("takt"), Site: "S", Logger: slog.New(logs)})
	require.NoError(t, err)
	plant, _ := newPlant(t, "S")
	start(t, a, plant)
	require.Eventually(t, func() bool { return len(logs.errors()) > 0 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, []string{"the broker refused the subscription; signals of the site are not received: allow the adapter's user to read the topic in the broker's ACL"}, logs.errors())
}

// crashingSink stands for an engine that commits the first batch but whose answer is
// lost, and then fails every call: nothing is ever reported delivered.
type crashingSink struct {
	plant   *mes.Plant
	calls   atomic.Int64
	applied atomic.Int64
}

func (s *crashingSink) IngestSignals(ctx context.Context, sigs []equipment.Signal, opts ...mes.CommandOption) ([]mes.IngestResult, error) {
	if s.calls.Add(1) == 1 {
		if _, err := s.plant.IngestSignals(ctx, sigs, opts...); err != nil {
			return nil, err
		}
		s.applied.Store(int64(len(sigs)))
	}
	return nil, errDown
}

func TestSignalsNotDeliveredWhenTheAdapterStopsAreRedeliveredToTheNextOne(t *testing.T) {
	url := brokerURL(t)
	site := unique("S")
	clientID := unique("takt")
	plant, _ := newPlant(t, site)
	dev := client(t, url)
	topic, err := mqttdevice.SignalTopic(site, "M1")
	require.NoError(t, err)

	// The first adapter receives every message, but the engine never reports one delivered:
	// it commits the first batch and loses its answer, then it is down.
	sink := &crashingSink{plant: plant}
	first, err := mqttdevice.New(mqttdevice.Config{Broker: url, ClientID: clientID, Site: site,
		RetryInterval: 20 * time.Millisecond, MaxRetryInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- first.Run(runCtx, sink) }()
	require.Eventually(t, first.Connected, waitFor, 10*time.Millisecond)
	publish(t, dev, topic, []equipment.Signal{count(1, 1), count(2, 2), count(3, 3)})
	require.Eventually(t, func() bool { return sink.calls.Load() >= 1 }, waitFor, 10*time.Millisecond)
	var want int64 = 1 + 2 + 3
	for seq := uint64(4); seq <= 30; seq += 3 {
		publish(t, dev, topic, []equipment.Signal{count(seq, 1), count(seq+1, 1), count(seq+2, 1)})
		want += 3
	}
	require.Eventually(t, func() bool { return first.Stats().Received == 30 }, waitFor, 10*time.Millisecond)
	require.Eventually(t, func() bool { return sink.calls.Load() >= 3 }, waitFor, 10*time.Millisecond)
	require.Equal(t, int64(3), sink.applied.Load(), "the engine committed the first message only")
	assert.Zero(t, first.Stats().Delivered)

	// The process stops without delivering what it buffered.
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Equal(t, int64(6), goodParts(t, plant))

	// The restarted process gets every signal again from the broker: each counts once.
	second, err := mqttdevice.New(mqttdevice.Config{Broker: url, ClientID: clientID, Site: site})
	require.NoError(t, err)
	start(t, second, plant)
	require.Eventually(t, func() bool { return second.Stats().Delivered == 30 }, waitFor, 10*time.Millisecond,
		"signals the first adapter received but did not deliver")
	assert.Equal(t, uint64(3), second.Stats().Duplicates, "the first message, committed before the crash")
	assert.Equal(t, want, goodParts(t, plant))
}

func TestABurstLargerThanTheBrokersInFlightWindowArrivesWhole(t *testing.T) {
	url := brokerURL(t)
	site := unique("S")
	plant, _ := newPlant(t, site)
	a, err := mqttdevice.New(mqttdevice.Config{Broker: url, ClientID: unique("takt"), Site: site})
	require.NoError(t, err)
	start(t, a, plant)
	dev := client(t, url)
	topic, err := mqttdevice.SignalTopic(site, "M1")
	require.NoError(t, err)

	const messages, perMessage = 125, 40
	began := time.Now()
	toks := make([]mqtt.Token, 0, messages)
	for m := range messages {
		sigs := make([]equipment.Signal, perMessage)
		for i := range sigs {
			seq := uint64(m*perMessage + i + 1)
			sigs[i] = equipment.Signal{Source: "plc-M1", Seq: seq, At: t0.Add(time.Duration(seq) * 100 * time.Millisecond),
				Equipment: "M1", Kind: equipment.KindCount, Count: &equipment.Count{Good: 1}}
		}
		b, err := json.Marshal(sigs)
		require.NoError(t, err)
		toks = append(toks, dev.Publish(topic, 1, false, b))
	}
	for _, tok := range toks {
		require.True(t, tok.WaitTimeout(waitFor))
		require.NoError(t, tok.Error())
	}
	require.Eventually(t, func() bool { return a.Stats().Delivered == messages*perMessage }, waitFor, 10*time.Millisecond)
	t.Logf("%d signals in %d messages delivered in %s", messages*perMessage, messages, time.Since(began))
	assert.Equal(t, int64(messages*perMessage), goodParts(t, plant))
}

// proxy forwards TCP connections to a broker until cut closes them, as a network failure
// between the adapter and the broker would.
type proxy struct {
	l        net.Listener
	accepted atomic.Int64
	mu       sync.Mutex
	conns    []net.Conn
}

func newProxy(t *testing.T, brokerURL string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{l: l}
	t.Cleanup(func() { _ = l.Close(); p.cut() })
	target := brokerURL[len("tcp://"):]
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			p.accepted.Add(1)
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
			go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
		}
	}()
	return p
}

func (p *proxy) url() string { return "tcp://" + p.l.Addr().String() }

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func TestMessagesNotAcknowledgedBeforeAReconnectAreSentAgainAndCountOnce(t *testing.T) {
	url := brokerURL(t)
	site := unique("S")
	plant, _ := newPlant(t, site)
	sink := &flakySink{plant: plant}
	sink.down.Store(true)
	link := newProxy(t, url)
	a, err := mqttdevice.New(mqttdevice.Config{Broker: link.url(), ClientID: unique("takt"), Site: site,
		RetryInterval: 20 * time.Millisecond, MaxRetryInterval: 50 * time.Millisecond, MaxReconnectInterval: 200 * time.Millisecond})
	require.NoError(t, err)
	start(t, a, sink)
	dev := client(t, url)
	topic, err := mqttdevice.SignalTopic(site, "M1")
	require.NoError(t, err)

	for seq := uint64(1); seq <= 5; seq++ {
		publish(t, dev, topic, count(seq, int64(seq)))
	}
	require.Eventually(t, func() bool { return a.Stats().Unacknowledged == 5 }, waitFor, 10*time.Millisecond)

	// The connection breaks while the engine is down: the broker sends the five messages
	// again on the next connection (acknowledging them on the old one is impossible).
	link.cut()
	require.Eventually(t, func() bool { return a.Stats().Received == 10 }, waitFor, 10*time.Millisecond)
	sink.down.Store(false)
	require.Eventually(t, func() bool { return a.Stats().Unacknowledged == 0 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, mqttdevice.Stats{Received: 10, Delivered: 10, Duplicates: 5}, a.Stats())
	assert.Equal(t, int64(1+2+3+4+5), goodParts(t, plant))

	// They were acknowledged on the new connection: after another break the broker has
	// nothing left to send again.
	link.cut()
	require.Eventually(t, func() bool { return link.accepted.Load() == 3 && a.Connected() }, waitFor, 10*time.Millisecond)
	publish(t, dev, topic, count(6, 6))
	require.Eventually(t, func() bool { return a.Stats().Delivered == 11 }, waitFor, 10*time.Millisecond)
	assert.Equal(t, mqttdevice.Stats{Received: 11, Delivered: 11, Duplicates: 5}, a.Stats())
}
