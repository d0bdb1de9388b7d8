package relay_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/relay"
)

// receiver is a webhook endpoint that answers 503 to every third request, and
// de-duplicates the CloudEvents it accepts by (source, id).
type receiver struct {
	mu       sync.Mutex
	requests int
	seen     map[string]bool
	accepted []string // ids in the order first accepted
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if req.Header.Get("Content-Type") != "application/cloudevents-batch+json" {
		http.Error(w, "want a CloudEvents batch", http.StatusUnsupportedMediaType)
		return
	}
	var batch []struct{ SpecVersion, ID, Source, Type string }
	if err := json.NewDecoder(req.Body).Decode(&batch); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.requests%3 == 0 {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	for _, ce := range batch {
		if key := ce.Source + "/" + ce.ID; !r.seen[key] {
			r.seen[key] = true
			r.accepted = append(r.accepted, ce.ID)
		}
	}
	w.WriteHeader(http.StatusAccepted)
}

func TestWebhookDeliversEveryEventRetryingOn5xx(t *testing.T) {
	rcv := &receiver{seen: map[string]bool{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	p := newPlant(t)
	last := addEvents(t, p, 30)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- relay.Run(ctx, p, "webhook", &relay.Webhook{URL: srv.URL, Source: "urn:takt:test", Client: srv.Client()},
			relay.WithBatchSize(4), relay.WithBackoff(time.Millisecond, 10*time.Millisecond))
	}()
	waitCheckpoint(t, p, "webhook", last)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	want := make([]string, 0, last)
	for pos := uint64(1); pos <= last; pos++ {
		want = append(want, strconv.FormatUint(pos, 10))
	}
	assert.Equal(t, want, rcv.accepted)
	assert.Greater(t, rcv.requests, int(last+3)/4, "some batches were refused with 503 and sent again")
}

func TestWebhookReportsWhatWentWrong(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	p := newPlant(t)
	evs, err := p.ReadEvents(context.Background(), 0, 1)
	require.NoError(t, err)

	err = (&relay.Webhook{URL: srv.URL, Source: "s"}).Publish(context.Background(), evs)
	require.ErrorIs(t, err, relay.ErrNotAcknowledged)
	assert.Contains(t, err.Error(), "502")

	err = (&relay.Webhook{URL: "://bad", Source: "s"}).Publish(context.Background(), evs)
	require.ErrorIs(t, err, relay.ErrInvalid)

	err = (&relay.Webhook{URL: srv.URL}).Publish(context.Background(), evs)
	require.ErrorIs(t, err, relay.ErrInvalid, "a webhook without a source is misconfigured")
}

func TestWebhookDoesNotTakeARedirectedGETAsAnAcknowledgement(t *testing.T) {
	var posts int
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts++
		}
		w.WriteHeader(http.StatusOK) // a page that answers any GET
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	p := newPlant(t)
	evs, err := p.ReadEvents(context.Background(), 0, 1)
	require.NoError(t, err)

	err = (&relay.Webhook{URL: srv.URL + "/old", Source: "s", Client: srv.Client()}).Publish(context.Background(), evs)
	require.ErrorIs(t, err, relay.ErrNotAcknowledged, "the events never reached the receiver")
	assert.Contains(t, err.Error(), "/new")
	assert.Zero(t, posts)
}

func TestWebhookGivesUpOnAReceiverThatNeverAnswers(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	p := newPlant(t)
	evs, err := p.ReadEvents(context.Background(), 0, 1)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		done <- (&relay.Webhook{URL: srv.URL, Source: "s", Timeout: 10 * time.Millisecond}).Publish(context.Background(), evs)
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "no answer within 10ms")
	case <-time.After(time.Minute):
		t.Fatal("Publish still waits for an answer that never comes")
	}
}
