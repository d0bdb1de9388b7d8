package mes

import (
	"context"
	"fmt"

	"github.com/taktmes/takt/store"
)

// AuditRecord is one entry of the audit trail: who did what, when, where and why, with the
// before and after of governed fields and any electronic signatures.
type AuditRecord = store.AuditRecord

// AuditTrail returns up to limit audit records after sequence number after.
func (p *Plant) AuditTrail(ctx context.Context, after uint64, limit int) ([]AuditRecord, error) {
	return p.store.ReadAudit(ctx, after, limit)
}

// AuditAnchor is the end of the audit chain at one moment: the number of records and the
// last record's hash. A chain alone cannot show that its newest records were removed (the
// shorter chain is still valid); a host that keeps anchors outside the database (in a shift
// report, a signed e-mail, another system) can prove it with VerifyAuditAnchor.
type AuditAnchor struct {
	Records uint64 `json:"records"`
	Hash    string `json:"hash"`
}

// VerifyAudit walks the whole audit chain and returns the number of records verified, or
// an error (wrapping store.ErrTampered) that names the first record that was altered,
// removed or reordered.
func (p *Plant) VerifyAudit(ctx context.Context) (uint64, error) {
	a, err := p.walkAudit(ctx, AuditAnchor{})
	return a.Records, err
}

// AuditAnchor verifies the chain and returns its current end, to be kept outside.
func (p *Plant) AuditAnchor(ctx context.Context) (AuditAnchor, error) {
	return p.walkAudit(ctx, AuditAnchor{})
}

// VerifyAuditAnchor verifies the chain and that it still holds the record an earlier
// AuditAnchor named, with the same hash: records removed from the end, or a chain rebuilt
// from an earlier point, are detected.
func (p *Plant) VerifyAuditAnchor(ctx context.Context, anchor AuditAnchor) (uint64, error) {
	a, err := p.walkAudit(ctx, anchor)
	return a.Records, err
}

// walkAudit verifies every record and, when anchor names a record, that it is there.
func (p *Plant) walkAudit(ctx context.Context, anchor AuditAnchor) (AuditAnchor, error) {
	var v store.ChainVerifier
	var last AuditAnchor
	for {
		recs, err := p.store.ReadAudit(ctx, last.Records, 1024)
		if err != nil {
			return last, err
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if err := v.Check(r); err != nil {
				return last, err
			}
			if anchor.Records == r.Seq && anchor.Hash != r.Hash {
				return last, fmt.Errorf("%w at record %d: its hash is not the anchored one (the chain was rebuilt from an earlier point)", store.ErrTampered, r.Seq)
			}
			last = AuditAnchor{Records: r.Seq, Hash: r.Hash}
		}
	}
	if anchor.Records > last.Records {
		return last, fmt.Errorf("%w: the chain ends at record %d but record %d was anchored (records were removed from the end)", store.ErrTampered, last.Records, anchor.Records)
	}
	return last, nil
}

// VerifyEvents walks the whole event log and returns the number of events verified, or an
// error (wrapping store.ErrTampered) naming the first event that was altered, removed or
// reordered: the ERP feed is as tamper-evident as the audit trail.
func (p *Plant) VerifyEvents(ctx context.Context) (uint64, error) {
	var v store.EventChainVerifier
	for {
		evs, err := p.store.ReadEvents(ctx, v.Count(), 1024)
		if err != nil || len(evs) == 0 {
			return v.Count(), err
		}
		for _, e := range evs {
			if err := v.Check(e); err != nil {
				return v.Count(), err
			}
		}
	}
}
