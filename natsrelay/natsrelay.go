// Package natsrelay is the relay.Publisher for NATS JetStream: it publishes a plant's
// event log to a stream, one CloudEvents JSON message per event, acknowledged by the
// stream and de-duplicated by it, so a relay that restarts after a crash stores every
// event exactly once, in order.
//
// # Subjects
//
// An event is published on
//
//	<prefix>.<site>.<event type>
//
// for example takt.PLANT-1.workorder.released. The event type keeps its dots, so its parts
// are subject tokens a subscriber can filter on: takt.*.workorder.> is every work order
// event of every site, takt.PLANT-1.> everything of one site. The site is one token,
// escaped by Token: characters other than ASCII letters, digits, '-' and '_' become %XX
// (so a site "PLANT 1" is PLANT%201 and "a.b" is a%2Eb), and an empty site (events above
// site level, such as defining the enterprise) is the token "%". Each part of the event
// type is escaped the same way.
//
// # De-duplication
//
// Every message carries the Nats-Msg-Id header source + "/" + position (see relay.ID). A
// stream drops a message whose id it has seen within its duplicate window, so the batch a
// crashed relay republishes on restart is stored once. The window must outlast the
// restart: EnsureStream creates streams with a 10-minute window. The source must name the
// event log and never change (see package relay).
//
// # Order
//
// A batch is published asynchronously on one connection and Publish returns only when
// every message is acknowledged; if any is not, the whole batch is published again (its
// stored messages are dropped as duplicates). The stream keeps publish order when it
// stores a prefix of each batch, which holds for one connection to an available stream.
// Create the connection with nats.ReconnectBufSize(-1): otherwise messages published
// while the connection is down are buffered and sent after reconnecting, after earlier
// messages that the broken connection lost.
//
// # Failures
//
// A batch whose acknowledgements do not all arrive within Config.AckTimeout is an error
// (relay.ErrNotAcknowledged), and the relay publishes it again. nats.go keeps such an
// acknowledgement pending until the connection reconnects, and stalls publishing once 4000
// are pending, unless js was created with jetstream.WithPublishAsyncTimeout: pass it, with
// about the same timeout. A closed connection never works again: Publish reports it as
// relay.ErrInvalid, so relay.Run returns instead of retrying forever. nats.go closes a
// connection once it gives up reconnecting (by default after 60 attempts);
// nats.MaxReconnects(-1) keeps it reconnecting through any outage.
//
// Running it:
//
//	nc, _ := nats.Connect(url, nats.ReconnectBufSize(-1), nats.MaxReconnects(-1))
//	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(natsrelay.DefaultAckTimeout))
//	_, err := natsrelay.EnsureStream(ctx, js, "TAKT", "takt")
//	pub, err := natsrelay.New(js, natsrelay.Config{Prefix: "takt", Source: "urn:takt:plant-a", Stream: "TAKT"})
//	err = relay.Run(ctx, plant, "nats", pub)
package natsrelay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/relay"
)

// DuplicateWindow is the duplicate window of the streams EnsureStream creates.
const DuplicateWindow = 10 * time.Minute

// DefaultAckTimeout is how long Publish waits for the acknowledgements of a batch when
// Config.AckTimeout is 0.
const DefaultAckTimeout = 30 * time.Second

// Config says where a Publisher publishes.
type Config struct {
	// Prefix is the first subject token(s), for example "takt" or "acme.mes". Required.
	Prefix string
	// Source names the event log in every CloudEvent and message id. Required; never
	// change it for a plant.
	Source string
	// Stream, when set, makes the server reject messages that would land in another
	// stream (or in none) instead of storing them there.
	Stream string
	// AckTimeout bounds how long Publish waits for the stream to acknowledge a whole batch;
	// 0 means DefaultAckTimeout.
	AckTimeout time.Duration
}

// Publisher publishes events to JetStream. It implements relay.Publisher and is safe for
// use by one relay at a time.
type Publisher struct {
	js  jetstream.JetStream
	cfg Config
}

// New returns a Publisher on js. It checks cfg and lists every problem (relay.ErrInvalid).
func New(js jetstream.JetStream, cfg Config) (*Publisher, error) {
	var problems []string
	if js == nil {
		problems = append(problems, "JetStream is nil; pass jetstream.New(nc)")
	}
	if err := checkPrefix(cfg.Prefix); err != "" {
		problems = append(problems, err)
	}
	if cfg.Source == "" {
		problems = append(problems, `source is empty; name the event log, for example "urn:takt:plant-a"`)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", relay.ErrInvalid, strings.Join(problems, "; "))
	}
	return &Publisher{js: js, cfg: cfg}, nil
}

// checkPrefix returns why prefix is not a valid literal subject prefix, or "".
func checkPrefix(prefix string) string {
	if prefix == "" {
		return `prefix is empty; use for example "takt"`
	}
	for _, tok := range strings.Split(prefix, ".") {
		if tok == "" || strings.ContainsAny(tok, " \t\r\n*>") {
			return fmt.Sprintf("prefix %q is not a subject of literal tokens: no empty tokens, spaces, '*' or '>'", prefix)
		}
	}
	return ""
}

// Subject returns the subject of e under prefix: prefix.<site>.<event type>, each token
// escaped by Token.
func Subject(prefix string, e mes.Event) string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteByte('.')
	b.WriteString(Token(e.Site))
	for _, part := range strings.Split(e.Type, ".") {
		b.WriteByte('.')
		b.WriteString(Token(part))
	}
	return b.String()
}

// Token escapes s into one NATS subject token: ASCII letters, digits, '-' and '_' stay,
// every other byte becomes %XX (upper-case hex), and the empty string becomes "%". Distinct
// strings give distinct tokens.
func Token(s string) string {
	if s == "" {
		return "%"
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// MsgID returns the Nats-Msg-Id of e: source + "/" + its CloudEvents id.
func MsgID(source string, e mes.Event) string { return source + "/" + relay.ID(e) }

// Publish implements relay.Publisher: it publishes every event of batch asynchronously and
// waits until the stream acknowledged all of them, at most Config.AckTimeout. An error says
// which event failed; the relay publishes the batch again. A closed connection is an error
// that wraps relay.ErrInvalid and nats.ErrConnectionClosed.
func (p *Publisher) Publish(ctx context.Context, batch []mes.Event) error {
	if p.js.Conn().IsClosed() {
		return fmt.Errorf("%w: the NATS connection is closed; connect again and start a new relay (nats.MaxReconnects(-1) keeps a connection reconnecting): %w",
			relay.ErrInvalid, nats.ErrConnectionClosed)
	}
	timeout := p.cfg.AckTimeout
	if timeout <= 0 {
		timeout = DefaultAckTimeout
	}
	acks := make([]jetstream.PubAckFuture, 0, len(batch))
	opts := make([]jetstream.PublishOpt, 0, 2)
	for _, e := range batch {
		data, err := relay.CloudEvent(e, p.cfg.Source)
		if err != nil {
			return err
		}
		opts = append(opts[:0], jetstream.WithMsgID(MsgID(p.cfg.Source, e)))
		if p.cfg.Stream != "" {
			opts = append(opts, jetstream.WithExpectStream(p.cfg.Stream))
		}
		msg := &nats.Msg{Subject: Subject(p.cfg.Prefix, e), Data: data, Header: nats.Header{"Content-Type": []string{"application/cloudevents+json"}}}
		ack, err := p.js.PublishMsgAsync(msg, opts...)
		if err != nil {
			return fmt.Errorf("natsrelay: publishing event %d on %s: %w", e.Position, msg.Subject, err)
		}
		acks = append(acks, ack)
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for i, ack := range acks {
		select {
		case <-ack.Ok():
		case err := <-ack.Err():
			return fmt.Errorf("%w: event %d on %s: %v", relay.ErrNotAcknowledged, batch[i].Position, ack.Msg().Subject, err)
		case <-deadline.C:
			return fmt.Errorf("%w: no acknowledgement of event %d on %s within %v; does a stream capture the subject?",
				relay.ErrNotAcknowledged, batch[i].Position, ack.Msg().Subject, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// EnsureStream returns the stream name, creating it when it does not exist: file storage,
// subjects prefix.>, the DuplicateWindow, and limits retention with no limits (add limits
// that keep messages longer than any consumer may lag). An existing stream is returned
// unchanged; it must capture prefix.> and have a duplicate window (JetStream's default is
// 2 minutes).
func EnsureStream(ctx context.Context, js jetstream.JetStream, name, prefix string) (jetstream.Stream, error) {
	if msg := checkPrefix(prefix); msg != "" {
		return nil, fmt.Errorf("%w: %s", relay.ErrInvalid, msg)
	}
	s, err := js.Stream(ctx, name)
	if err == nil || !errors.Is(err, jetstream.ErrStreamNotFound) {
		return s, err
	}
	s, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{prefix + ".>"}, Storage: jetstream.FileStorage, Duplicates: DuplicateWindow,
		Description: "Takt event log (CloudEvents) relayed by natsrelay",
	})
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return js.Stream(ctx, name) // created concurrently
	}
	return s, err
}
