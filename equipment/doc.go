// Package equipment holds the equipment domain of Takt as plain values and rules: the ISA-95
// equipment hierarchy (enterprise, site, area, work center, work unit) with classes and
// capabilities, the signals devices send (counts, machine states, measurements, alarms), a
// per-equipment Timeline that turns a duplicated and reordered signal stream into one
// ordered state history with counts and downtime reasons, OEE as ISO 22400 defines it with
// its loss breakdown, and the interlock decision (block a machine while no lot is tracked in
// or a tracked-in lot is held).
//
// The package has no storage, no goroutines and no clock: every time is passed in by the
// caller. The engine (package mes) keeps one Timeline per equipment, feeds it every signal
// with Timeline.Apply, records operator reason corrections with Timeline.CorrectReason,
// persists it as JSON, and asks it for History and OEE.
//
// # Signals as JSON
//
// A Signal is the unit a device adapter (MQTT, OPC UA, files) produces. Its JSON layout is
// stable and documented on Signal; DecodeSignal reads and validates one:
//
//	{"source":"plc-7","seq":1042,"at":"2025-03-02T06:15:04.25Z","equipment":"CNC-2",
//	 "kind":"count","count":{"good":3,"reject":1}}
//	{"source":"plc-7","seq":1043,"at":"2025-03-02T06:15:09Z","equipment":"CNC-2",
//	 "kind":"state","state":{"state":"down","reason":"E-STOP"}}
//	{"source":"plc-7","seq":1044,"at":"2025-03-02T06:15:09Z","equipment":"CNC-2",
//	 "kind":"measurement","measurement":{"tag":"spindle.temp","value":"61.5","unit":"degC"}}
//	{"source":"plc-7","seq":1045,"at":"2025-03-02T06:15:09Z","equipment":"CNC-2",
//	 "kind":"alarm","alarm":{"code":"A17","text":"Coolant low","active":true}}
//
// # Duplicates and reordering
//
// Each (source, seq) pair is applied once. A Timeline remembers, per source, the highest
// sequence number seen and a bitmap of the DedupWindow sequence numbers below it. A signal
// whose seq is inside the window and already seen is a Duplicate; one that is older than the
// window cannot be told apart from a duplicate and is refused as TooOld: never applied, so
// nothing is ever counted twice, and reported so the host can alert (it usually means a
// device restarted its sequence; give each boot its own Source, such as "plc-7/boot-12").
// A late signal inside the window is placed in time order: the state history is re-cut and
// counts land in the interval in which they happened.
package equipment
