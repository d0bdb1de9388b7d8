package mes

import (
	"context"

	"github.com/taktmes/takt/store"
)

// AuditRecord is one entry of the audit trail: who did what, when, where and why, with the
// before and after of governed fields and any electronic signatures.
type AuditRecord = store.AuditRecord

// AuditTrail returns up to limit audit records after sequence number after.
func (p *Plant) AuditTrail(ctx context.Context, after uint64, limit int) ([]AuditRecord, error) {
	return p.store.ReadAudit(ctx, after, limit)
}

// VerifyAudit walks the whole audit chain and returns the number of records verified, or
// an error (wrapping store.ErrTampered) that names the first record that was altered,
// removed or reordered.
func (p *Plant) VerifyAudit(ctx context.Context) (uint64, error) {
	var v store.ChainVerifier
	var after uint64
	for {
		recs, err := p.store.ReadAudit(ctx, after, 1024)
		if err != nil {
			return v.Count(), err
		}
		if len(recs) == 0 {
			return v.Count(), nil
		}
		for _, r := range recs {
			if err := v.Check(r); err != nil {
				return v.Count(), err
			}
			after = r.Seq
		}
	}
}
