// Package mqttdevice connects machines that speak MQTT to a Takt plant: signals in,
// commands out. It is its own Go module so that only hosts that use MQTT pull in the
// Eclipse Paho client (MQTT 3.1.1).
//
// # Topics and payloads
//
// A device (or its gateway) publishes signals with QoS 1 to
//
//	takt/<site>/<equipment>/signals
//
// The payload is one signal, or a JSON array of signals, in the layout of
// equipment.DecodeSignal:
//
//	{"source":"plc-7","seq":1042,"at":"2025-03-02T06:15:04.25Z","equipment":"CNC-2",
//	 "kind":"count","count":{"good":3,"reject":1}}
//	[{"source":"plc-7","seq":1043,"at":"2025-03-02T06:15:09Z","equipment":"CNC-2",
//	  "kind":"state","state":{"state":"down","reason":"E-STOP"}}, ...]
//
// Every signal names the equipment of its topic (others are refused, so a device cannot
// report for another machine). Unknown fields are errors. Give each device boot its own
// source (for example "plc-7/boot-12") and number its messages 1, 2, 3, ...: the engine
// applies each (source, seq) once, so re-sent messages (QoS 1 redelivery, a gateway's
// retries, the adapter's own retries) change nothing.
//
// The engine's commands (mes.DeviceCommand as JSON: parameter downloads on track-in,
// interlocks) are published with QoS 1 to
//
//	takt/<site>/<equipment>/commands
//
// # Store and forward, at least once
//
// Received signals wait in a bounded in-memory buffer (Config.BufferSize) until the
// engine takes them; while the engine is unavailable the adapter retries with backoff.
// A message is acknowledged to the broker only once every signal it carried has been
// taken by the engine (applied, a duplicate, or too old) or refused for good: signals that
// are not valid, on another equipment's topic, or that the engine refuses as invalid or
// not authorized (a device reporting for equipment of a site the adapter's Actor may not
// act in; a refused batch is retried signal by signal), all counted in Stats.Invalid.
// Messages are acknowledged in the order they arrived, as MQTT 3.1.1 asks: one without
// valid signals as soon as those before it are, at once when none waits. So a signal the
// adapter received but had not delivered when its process stopped or crashed, or when the
// connection broke, is sent again by the broker, and the engine applies it once.
//
// The client keeps a persistent session (clean session off, stable ClientID) and
// reconnects by itself: the broker queues QoS 1 signals while the adapter is away, and
// commands published during an outage are sent after reconnecting. While the engine is
// unavailable the adapter holds at most the broker's in-flight window of messages
// (mosquitto's max_inflight_messages, 20 by default; Stats.Unacknowledged) and the broker
// queues the rest, so size the broker's queue for the engine outages to ride out
// (mosquitto: max_queued_messages, 1000 per client by default, beyond which it drops new
// messages; and persistence true, so that a broker restart keeps them). If the buffer
// fills nevertheless (a broker with an unbounded window), the oldest signals are dropped,
// their messages acknowledged, and counted (Stats.Dropped), so the machine's latest state
// survives and the adapter's memory stays bounded.
//
//	adapter, err := mqttdevice.New(mqttdevice.Config{Broker: "tcp://127.0.0.1:1883",
//		ClientID: "takt-plant-1", Site: "PLANT-1"})
//	plant, err := mes.Open(ctx, st, mes.WithDeviceCommander(adapter))
//	go adapter.Run(ctx, plant)
package mqttdevice
