package relay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/taktmes/takt/mes"
)

// Webhook is a Publisher that POSTs each batch to URL as one CloudEvents JSON batch (the
// HTTP binding's batched content mode: a JSON array, Content-Type
// application/cloudevents-batch+json). Any 2xx answer to the POST acknowledges the batch;
// any other answer, a redirect the client follows with a GET (301, 302, 303), or no answer
// is an error and Run sends the batch again after a backoff. The receiver de-duplicates by
// the events' (source, id).
type Webhook struct {
	URL    string
	Source string       // names the event log; see CloudEvent
	Client *http.Client // nil means http.DefaultClient
	// Timeout bounds each request, from sending it to reading the answer; 0 means
	// DefaultWebhookTimeout. It applies on top of any timeout of Client.
	Timeout time.Duration
}

// DefaultWebhookTimeout is how long a Webhook waits for an answer when its Timeout is 0.
const DefaultWebhookTimeout = 30 * time.Second

// Publish implements Publisher.
func (w *Webhook) Publish(ctx context.Context, batch []mes.Event) error {
	body := []byte{'['}
	for i, e := range batch {
		ce, err := CloudEvent(e, w.Source)
		if err != nil {
			return err
		}
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, ce...)
	}
	body = append(body, ']')
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = DefaultWebhookTimeout
	}
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: webhook URL %q: %v", ErrInvalid, w.URL, err)
	}
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	client := w.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil && ctx.Err() == nil && reqCtx.Err() != nil {
		return fmt.Errorf("relay: webhook %s: no answer within %v: %w", w.URL, timeout, err)
	}
	if err != nil {
		return fmt.Errorf("relay: webhook %s: %w", w.URL, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.Request.Method != http.MethodPost {
		// A 301, 302 or 303 redirect made the client follow with a GET: the events went
		// nowhere, whatever the answer.
		return fmt.Errorf("%w: webhook %s redirected to %s, which the client followed with a %s; set URL to where the events go",
			ErrNotAcknowledged, w.URL, resp.Request.URL, resp.Request.Method)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%w: webhook %s answered %s", ErrNotAcknowledged, w.URL, resp.Status)
	}
	return nil
}
