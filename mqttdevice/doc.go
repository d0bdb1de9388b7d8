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
// # Store and forward
//
// Received signals wait in a bounded in-memory buffer (Config.BufferSize) until the
// engine accepts them; while the engine is unavailable the adapter retries with backoff
// and keeps receiving. When the buffer is full the oldest signals are dropped and counted
// (Stats.Dropped), so the machine's latest state survives. A batch the engine refuses as
// invalid or not authorized (a device reporting for equipment of a site the adapter's
// Actor may not act in) is retried signal by signal and the refused ones are dropped
// (Stats.Invalid). The
// client reconnects to the broker by itself and keeps a persistent session (clean session
// off, stable ClientID), so the broker queues QoS 1 signals while the adapter is away,
// and commands published during an outage are sent after reconnecting.
//
//	adapter, err := mqttdevice.New(mqttdevice.Config{Broker: "tcp://127.0.0.1:1883",
//		ClientID: "takt-plant-1", Site: "PLANT-1"})
//	plant, err := mes.Open(ctx, st, mes.WithDeviceCommander(adapter))
//	go adapter.Run(ctx, plant)
package mqttdevice
