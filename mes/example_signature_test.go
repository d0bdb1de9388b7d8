package mes_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/taktmes/takt/equipment"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/quality"
	"github.com/taktmes/takt/store/memstore"
)

// signers is a host's identity system in miniature: it authenticates a signer by id and
// password (two identification components) and returns the printed name and roles.
type signers map[string]struct {
	password, name string
	roles          []string
}

func (s signers) VerifySignature(_ context.Context, c mes.Credentials) (mes.Signer, error) {
	u, ok := s[c.SignerID]
	if !ok || u.password != c.Secret {
		return mes.Signer{}, fmt.Errorf("%w: unknown signer or wrong password", mes.ErrSignatureInvalid)
	}
	return mes.Signer{ID: c.SignerID, Name: u.name, Roles: u.roles}, nil
}

// Releasing a hold can be made to need an electronic signature (21 CFR Part 11): without
// one the release is refused; with one, the audit record carries the signer's name and
// meaning, bound to the record, and the hash-chained trail verifies.
func ExamplePlant_VerifyAudit() {
	ctx := context.Background()
	plant, _ := mes.Open(ctx, memstore.New(),
		mes.WithAuthorizer(mes.Roles{"quality": {"*"}}),
		mes.WithSignatureVerifier(signers{"sam": {password: "s3cret", name: "Sam Quality", roles: []string{"quality"}}}),
		mes.WithSignatureRequired("hold.release", mes.Approval))
	quinn := mes.By(mes.Actor{ID: "quinn", Kind: mes.Person, Roles: []string{"quality"}})
	_ = plant.DefineEquipment(ctx, []equipment.Equipment{
		{ID: "PLANT-1", Level: equipment.Site}, {ID: "CNC", Level: equipment.WorkCenter, Parent: "PLANT-1"}}, quinn)
	hold, _ := plant.PlaceHold(ctx, "PLANT-1", quality.Target{Kind: quality.OnEquipment, ID: "CNC"}, "spindle vibration", quinn)

	_, err := plant.ReleaseHold(ctx, hold.ID, quinn, mes.Reason("bearing replaced"))
	fmt.Println("unsigned:", errors.Is(err, mes.ErrSignatureRequired))

	_, err = plant.ReleaseHold(ctx, hold.ID, quinn, mes.Reason("bearing replaced"),
		mes.SignedBy(mes.Credentials{SignerID: "sam", Secret: "s3cret", Meaning: mes.Approval}))
	fmt.Println("signed:", err)

	trail, _ := plant.AuditTrail(ctx, 0, 0)
	for _, r := range trail {
		for _, s := range r.Signatures {
			fmt.Println(r.Action, r.Reason, "| signed by", s.SignerName, "meaning", s.Meaning)
		}
	}
	n, err := plant.VerifyAudit(ctx)
	fmt.Println("audit records verified:", n == uint64(len(trail)), err)
	// Output:
	// unsigned: true
	// signed: <nil>
	// hold.release bearing replaced | signed by Sam Quality meaning approval
	// audit records verified: true <nil>
}
