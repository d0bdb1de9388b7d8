// Package relay publishes a plant's event log to a message bus, a webhook or any other
// downstream system, at least once and in order, resuming from a saved checkpoint after a
// stop or a crash.
//
// A relay is two parts. A Publisher delivers one batch of events to its destination and
// returns nil only when the destination has acknowledged every event of the batch. Run is
// the loop that drives it: it resumes after the position saved for its consumer name
// (mes.Plant.Checkpoint), reads the log in batches of at most WithBatchSize events,
// publishes each batch, and saves the checkpoint (mes.Plant.SaveCheckpoint) only after the
// publisher acknowledged the batch. A failed batch is retried, whole, with exponential
// backoff; the checkpoint never moves past an event that was not acknowledged. A batch is
// published as soon as events are available, so latency stays low under a trickle of
// events and batches fill up by themselves under load.
//
// # Delivery guarantee and message ids
//
// Delivery is at least once: a crash between the acknowledgement of a batch and the saving
// of the checkpoint publishes that batch again on restart, and a failed batch is published
// again whole, including the events the destination may have taken before the failure.
// Delivery becomes exactly once when the destination drops what it has already seen by a
// stable message id. Positions are assigned by the store, are gap-free and unique across
// every site of the store, so the position alone identifies an event within one event log:
// the CloudEvents id is the decimal position, and the pair (source, id) identifies an event
// everywhere, as the CloudEvents specification requires. The source must therefore name
// the event log (the plant's store), stay the same across restarts, and differ between
// plants that publish to the same destination. Publishers that need a single string key
// (the NATS JetStream Nats-Msg-Id header, a Kafka record key, an HTTP Idempotency-Key) use
// source + "/" + id.
//
// # CloudEvents
//
// Every relay formats events the same way, with CloudEvent: CloudEvents 1.0 in the JSON
// structured format, type "io.takt." followed by the event type, the event's typed payload
// as data, and the extension attributes taktsite and taktactor.
//
// # Writing a publisher
//
// Webhook in this package is a complete publisher in about 60 lines. A Kafka publisher, here
// with github.com/twmb/franz-go (its producer is idempotent by default, and records with
// the same key keep their order within a partition), is about 20:
//
//	type Kafka struct {
//		Client *kgo.Client
//		Topic  string
//		Source string
//	}
//
//	func (k *Kafka) Publish(ctx context.Context, batch []mes.Event) error {
//		records := make([]*kgo.Record, len(batch))
//		for i, e := range batch {
//			value, err := relay.CloudEvent(e, k.Source)
//			if err != nil {
//				return err
//			}
//			records[i] = &kgo.Record{Topic: k.Topic, Key: []byte(e.Site), Value: value,
//				Headers: []kgo.RecordHeader{{Key: "content-type", Value: []byte("application/cloudevents+json")}}}
//		}
//		return k.Client.ProduceSync(ctx, records...).FirstErr()
//	}
//
// and runs with
//
//	err := relay.Run(ctx, plant, "kafka-feed", &Kafka{Client: client, Topic: "takt", Source: "urn:takt:plant-a"})
//
// Module github.com/taktmes/takt/natsrelay holds the NATS JetStream publisher, which
// de-duplicates in the stream.
package relay
