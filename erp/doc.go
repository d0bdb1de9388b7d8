// Package erp connects Takt to an ERP with ISA-95 documents: it imports production orders,
// material definitions, routings and received material lots (as JSON or as MESA B2MML
// XML) by mapping them onto plant commands, and it exports production performance
// (completions, consumption by lot, scrap by reason, labor and machine time per operation)
// from the plant's event log, as JSON or as B2MML ProductionPerformance.
//
// # Import
//
// ParseB2MML and ParseJSON read a document into a Document (the JSON form is the Document
// itself). Import validates the whole document against itself and the plant first — every
// field, unit, reference and duplicate — and returns a *ValidationError listing every
// problem with its element path, value and reason when anything is wrong; then nothing
// is imported. Only a valid document is executed, as one plant command per object, each
// carrying an idempotency key derived from the document type, the ERP's id and the
// revision (mes.IdempotencyKey). An object that already exists with the same content is
// left alone, so importing a document twice is harmless.
//
// If a command fails part way despite the validation (a concurrent change in the plant,
// a lost connection to the store), Import stops and returns an *IncompleteError naming
// what was applied and what failed. Nothing is rolled back — each command is atomic on
// its own — and the same document can simply be imported again: applied objects now
// exist with the same content (or their commands replay by key) and the rest is applied.
//
// # Export
//
// Export reads the plant's event log after a checkpoint and builds a Performance
// document: one ProductionResponse per work order and one SegmentResponse per
// confirmation, whose id is derived from the event's log position. The caller sends the
// document to the ERP and only then saves Performance.To as its checkpoint
// (mes.Plant.SaveCheckpoint), so every confirmation reaches the ERP at least once; a
// confirmation sent twice carries the same id both times and the ERP drops the second.
package erp
