package genealogy_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/taktmes/takt/genealogy"
)

func TestChainQuantities(t *testing.T) {
	w := newWorld(t)
	w.receive(t, resin, "R1", "100 kg")
	w.produce(t, housing, "H1", "10 ea")
	w.consume(t, "R1", "H1", "30 kg")
	assert.Equal(t, "70 kg", w.lots["R1"].OnHand.String())

	split := w.must(genealogy.Split(w.lots["R1"], []genealogy.Part{{ID: "S1", Qty: q("20 kg")}, {ID: "S2", Qty: q("25000 g")}}, opAt(3)))
	require.Len(t, split.Edges, 2)
	assert.Equal(t, "25 kg", w.lots["R1"].OnHand.String(), "the parent keeps what the parts leave")
	assert.Equal(t, "25 kg", w.lots["S2"].OnHand.String(), "parts are converted to the parent's unit")
	assert.Equal(t, "R1", w.lots["S1"].Parent)
	assert.Equal(t, "B-R1", w.lots["S1"].SupplierLot)

	w.must(genealogy.Merge(genealogy.Lot{ID: "M1"}, []genealogy.Lot{w.lots["S1"], w.lots["S2"]}, opAt(4)))
	assert.Equal(t, "45 kg", w.lots["M1"].OnHand.String())
	assert.Equal(t, genealogy.Consumed, w.lots["S1"].Status)
	assert.True(t, w.lots["S2"].OnHand.IsZero())

	w.consume(t, "M1", "H1", "45 kg")
	assert.Equal(t, genealogy.Consumed, w.lots["M1"].Status)

	sh := genealogy.Shipment{ID: "SH-1", Customer: "Pumpworks"}
	w.must(genealogy.Ship(w.lots["H1"], sh, q("4 ea"), opAt(5)))
	scrapOp := opAt(6)
	scrapOp.Reason = "CRACK"
	w.must(genealogy.Scrap(w.lots["H1"], q("1 ea"), scrapOp))
	adjOp := opAt(7)
	adjOp.Reason = "COUNT"
	w.must(genealogy.Adjust(w.lots["H1"], q("1 ea"), adjOp))
	w.must(genealogy.Adjust(w.lots["H1"], q("-2 ea"), adjOp))
	assert.Equal(t, "4 ea", w.lots["H1"].OnHand.String())

	w.must(genealogy.Ship(w.lots["R1"], sh, q("25 kg"), opAt(8)))
	assert.Equal(t, genealogy.Shipped, w.lots["R1"].Status)
	w.checkBalances(t)

	// Every lot-to-lot edge climbs in level.
	for _, e := range w.edges {
		if e.From.Kind == genealogy.NodeLot && e.To.Kind == genealogy.NodeLot {
			assert.Less(t, w.lots[e.From.ID].Level, w.lots[e.To.ID].Level, "%s→%s", e.From, e.To)
		}
	}
}

func TestSerials(t *testing.T) {
	w := newWorld(t)
	w.receive(t, resin, "R1", "10 kg")
	w.produce(t, pump, "P1", "2 ea")
	w.consume(t, "R1", "P1", "4 kg")
	w.must(genealogy.Serialize(pump, w.lots["P1"], []genealogy.Serial{{ID: "SN-1"}}, opAt(3)))
	w.must(genealogy.Serialize(pump, genealogy.Lot{}, []genealogy.Serial{{ID: "MOTOR-9"}}, opAt(3)))
	w.must(genealogy.ConsumeIntoSerial(w.lots["R1"], w.serials["SN-1"], q("0.5 kg"), opAt(4)))
	w.must(genealogy.Assemble(w.serials["MOTOR-9"], w.serials["SN-1"], opAt(5)))
	assert.Equal(t, genealogy.Consumed, w.serials["MOTOR-9"].Status)
	w.must(genealogy.ShipSerial(w.serials["SN-1"], genealogy.Shipment{ID: "SH-1", Customer: "C"}, opAt(6)))
	assert.Equal(t, genealogy.Shipped, w.serials["SN-1"].Status)
	assert.Equal(t, "5.5 kg", w.lots["R1"].OnHand.String())
	assert.Equal(t, "1 ea", w.lots["P1"].OnHand.String(), "the serial took its unit out of the lot")
	w.checkBalances(t)

	_, err := genealogy.Assemble(w.serials["MOTOR-9"], w.serials["SN-1"], opAt(7))
	assert.ErrorIs(t, err, genealogy.ErrNotAvailable)
}

func TestSerializeTakesUnitsOutOfTheLot(t *testing.T) {
	w := newWorld(t)
	w.receive(t, resin, "R1", "10 kg")
	w.produce(t, pump, "P1", "3 ea")
	w.consume(t, "R1", "P1", "3 kg")
	level := w.lots["P1"].Level
	ch := w.must(genealogy.Serialize(pump, w.lots["P1"], []genealogy.Serial{{ID: "SN-1"}, {ID: "SN-2"}}, opAt(3)))
	require.Len(t, ch.Edges, 2)
	for i, e := range ch.Edges {
		assert.Equal(t, genealogy.EdgeSerialize, e.Kind)
		assert.Equal(t, genealogy.LotNode("P1"), e.From)
		assert.Equal(t, genealogy.SerialNode(ch.Serials[i].ID), e.To)
		assert.Equal(t, "1 ea", e.Qty.String())
	}
	assert.Equal(t, []string{"P1", "P1"}, []string{w.serials["SN-1"].Lot, w.serials["SN-2"].Lot}, "a serial names the lot it came from")
	p1 := w.lots["P1"]
	assert.Equal(t, "1 ea", p1.OnHand.String())
	assert.Equal(t, genealogy.Available, p1.Status)
	assert.False(t, p1.HasOutputs, "serials feed only serials: the lot's level stays free")
	assert.Equal(t, level, p1.Level)
	w.checkBalances(t)

	_, err := genealogy.Serialize(pump, p1, []genealogy.Serial{{ID: "SN-3"}, {ID: "SN-4"}}, opAt(4))
	require.ErrorIs(t, err, genealogy.ErrInsufficient, "one unit is left, not two")
	assert.Contains(t, err.Error(), "number at most that many units")
	_, err = genealogy.Ship(p1, genealogy.Shipment{ID: "SH", Customer: "C"}, q("2 ea"), opAt(4))
	require.ErrorIs(t, err, genealogy.ErrInsufficient, "the numbered units are not the lot's to ship")

	w.must(genealogy.Serialize(pump, p1, []genealogy.Serial{{ID: "SN-3"}}, opAt(4)))
	assert.True(t, w.lots["P1"].OnHand.IsZero())
	assert.Equal(t, genealogy.Consumed, w.lots["P1"].Status, "every unit went into a serial")
	w.checkBalances(t)
	_, err = genealogy.Consume(w.lots["P1"], w.lots["R1"], q("1 ea"), opAt(5))
	require.ErrorIs(t, err, genealogy.ErrNotAvailable)

	ch = w.must(genealogy.Serialize(pump, genealogy.Lot{}, []genealogy.Serial{{ID: "LOOSE-1"}}, opAt(5)))
	assert.Empty(t, ch.Lots, "a unit from no lot takes nothing")
	assert.Empty(t, ch.Edges)
	assert.Equal(t, genealogy.Available, w.serials["LOOSE-1"].Status)

	w.produce(t, pump, "P2", "1 ea")
	expired := w.lots["P2"]
	expired.Expiry = t0
	op := opAt(6)
	op.Expiry = genealogy.ExpiryWarn
	ch, err = genealogy.Serialize(pump, expired, []genealogy.Serial{{ID: "SN-5"}}, op)
	require.NoError(t, err)
	require.Len(t, ch.Warnings, 1, "an expired lot is serialised under the policy of every take")
	assert.ErrorIs(t, ch.Warnings[0], genealogy.ErrExpired)
}

func TestBadInputsAreTypedErrorsWithNoChange(t *testing.T) {
	w := newWorld(t)
	r := w.receive(t, resin, "R1", "10 kg")
	r2 := w.receive(t, resin, "R2", "10 kg")
	h := w.produce(t, housing, "H1", "5 ea")
	held, quarantined := r, r
	held.Status, quarantined.Status = genealogy.OnHold, genealogy.Quarantined
	expired := r
	expired.Expiry = t0
	gram := r2
	gram.OnHand = q("10000 g")
	// H1 consumed R1 and fed H2, so H2 → ... → R1 cannot come back.
	ch, err := genealogy.Consume(r, h, q("1 kg"), opAt(2))
	require.NoError(t, err)
	rFed, hFed := ch.Lots[0], ch.Lots[1]
	h2 := w.produce(t, housing, "H2", "1 ea")
	ch, err = genealogy.Consume(hFed, h2, q("1 ea"), opAt(3))
	require.NoError(t, err)
	hFed2, h2Fed := ch.Lots[0], ch.Lots[1]
	_ = hFed2
	p := w.produce(t, pump, "P1", "2 ea")
	pKg, pDozen, pExpired, pHeld := p, p, p, p
	pKg.OnHand, pDozen.OnHand, pExpired.Expiry, pHeld.Status = q("2 kg"), q("1 dozen"), t0, genealogy.OnHold
	sn := func(ids ...string) []genealogy.Serial {
		out := make([]genealogy.Serial, len(ids))
		for i, id := range ids {
			out[i] = genealogy.Serial{ID: id}
		}
		return out
	}
	noReason := opAt(3)
	sh := genealogy.Shipment{ID: "SH", Customer: "C"}
	parts := []genealogy.Part{{ID: "A", Qty: q("6 kg")}, {ID: "B", Qty: q("6 kg")}}
	dupParts := []genealogy.Part{{ID: "A", Qty: q("1 kg")}, {ID: "A", Qty: q("1 kg")}}
	badUnit := resin
	badUnit.Unit = "furlong"
	sources := []genealogy.Lot{r, h}
	units := []genealogy.Lot{r, gram}
	snapshot := func() any {
		return []any{append([]genealogy.Part(nil), parts...), append([]genealogy.Part(nil), dupParts...), append([]genealogy.Lot(nil), sources...), append([]genealogy.Lot(nil), units...)}
	}
	before := snapshot()

	cases := []struct {
		name string
		run  func() (genealogy.Change, error)
		want error
	}{
		{"consume more than on hand", func() (genealogy.Change, error) { return genealogy.Consume(r, h, q("11 kg"), opAt(2)) }, genealogy.ErrInsufficient},
		{"consume held lot", func() (genealogy.Change, error) { return genealogy.Consume(held, h, q("1 kg"), opAt(2)) }, genealogy.ErrNotAvailable},
		{"consume quarantined lot", func() (genealogy.Change, error) { return genealogy.Consume(quarantined, h, q("1 kg"), opAt(2)) }, genealogy.ErrNotAvailable},
		{"consume expired lot", func() (genealogy.Change, error) { return genealogy.Consume(expired, h, q("1 kg"), opAt(2)) }, genealogy.ErrExpired},
		{"consume zero", func() (genealogy.Change, error) { return genealogy.Consume(r, h, q("0 kg"), opAt(2)) }, genealogy.ErrQuantity},
		{"consume negative", func() (genealogy.Change, error) { return genealogy.Consume(r, h, q("-1 kg"), opAt(2)) }, genealogy.ErrQuantity},
		{"consume in wrong dimension", func() (genealogy.Change, error) { return genealogy.Consume(r, h, q("1 ea"), opAt(2)) }, genealogy.ErrUnit},
		{"consume into itself", func() (genealogy.Change, error) { return genealogy.Consume(r, r, q("1 kg"), opAt(2)) }, genealogy.ErrCycle},
		{"consume back into an ancestor", func() (genealogy.Change, error) { return genealogy.Consume(h2Fed, rFed, q("1 ea"), opAt(4)) }, genealogy.ErrCycle},
		{"consume without time", func() (genealogy.Change, error) { return genealogy.Consume(r, h, q("1 kg"), genealogy.Op{}) }, genealogy.ErrInvalid},
		{"ship quarantined lot", func() (genealogy.Change, error) { return genealogy.Ship(quarantined, sh, q("1 kg"), opAt(2)) }, genealogy.ErrNotAvailable},
		{"ship expired lot", func() (genealogy.Change, error) { return genealogy.Ship(expired, sh, q("1 kg"), opAt(2)) }, genealogy.ErrExpired},
		{"ship without customer", func() (genealogy.Change, error) {
			return genealogy.Ship(r, genealogy.Shipment{ID: "SH"}, q("1 kg"), opAt(2))
		}, genealogy.ErrInvalid},
		{"split held lot", func() (genealogy.Change, error) { return genealogy.Split(held, parts[:1], opAt(2)) }, genealogy.ErrNotAvailable},
		{"split more than on hand", func() (genealogy.Change, error) { return genealogy.Split(r, parts, opAt(2)) }, genealogy.ErrInsufficient},
		{"split duplicate ids", func() (genealogy.Change, error) { return genealogy.Split(r, dupParts, opAt(2)) }, genealogy.ErrInvalid},
		{"merge different materials", func() (genealogy.Change, error) { return genealogy.Merge(genealogy.Lot{ID: "M"}, sources, opAt(2)) }, genealogy.ErrMaterialMismatch},
		{"merge different units", func() (genealogy.Change, error) { return genealogy.Merge(genealogy.Lot{ID: "M"}, units, opAt(2)) }, genealogy.ErrMaterialMismatch},
		{"merge into a source", func() (genealogy.Change, error) { return genealogy.Merge(r, []genealogy.Lot{r}, opAt(2)) }, genealogy.ErrCycle},
		{"receive unknown unit", func() (genealogy.Change, error) {
			return genealogy.Receive(badUnit, genealogy.Lot{ID: "X", Supplier: "S", SupplierLot: "L"}, q("1 kg"), opAt(0))
		}, genealogy.ErrUnit},
		{"receive without supplier lot", func() (genealogy.Change, error) {
			return genealogy.Receive(resin, genealogy.Lot{ID: "X", Supplier: "S"}, q("1 kg"), opAt(0))
		}, genealogy.ErrInvalid},
		{"receive existing lot", func() (genealogy.Change, error) { return genealogy.Receive(resin, r, q("1 kg"), opAt(0)) }, genealogy.ErrInvalid},
		{"produce without work order", func() (genealogy.Change, error) {
			return genealogy.Produce(housing, genealogy.Lot{ID: "X"}, q("1 ea"), genealogy.Op{At: t0})
		}, genealogy.ErrInvalid},
		{"produce into another material", func() (genealogy.Change, error) { return genealogy.Produce(housing, r, q("1 ea"), opAt(1)) }, genealogy.ErrMaterialMismatch},
		{"scrap without reason", func() (genealogy.Change, error) { return genealogy.Scrap(r, q("1 kg"), noReason) }, genealogy.ErrInvalid},
		{"adjust below zero", func() (genealogy.Change, error) {
			op := opAt(3)
			op.Reason = "COUNT"
			return genealogy.Adjust(r, q("-11 kg"), op)
		}, genealogy.ErrInsufficient},
		{"serialize a lot-tracked material", func() (genealogy.Change, error) {
			return genealogy.Serialize(housing, h, []genealogy.Serial{{ID: "S"}}, opAt(3))
		}, genealogy.ErrInvalid},
		{"serialize more units than on hand", func() (genealogy.Change, error) { return genealogy.Serialize(pump, p, sn("A", "B", "C"), opAt(3)) }, genealogy.ErrInsufficient},
		{"serialize a lot counted in kg", func() (genealogy.Change, error) { return genealogy.Serialize(pump, pKg, sn("A"), opAt(3)) }, genealogy.ErrUnit},
		{"serialize a lot counted in dozen", func() (genealogy.Change, error) { return genealogy.Serialize(pump, pDozen, sn("A"), opAt(3)) }, genealogy.ErrUnit},
		{"serialize an expired lot", func() (genealogy.Change, error) { return genealogy.Serialize(pump, pExpired, sn("A"), opAt(3)) }, genealogy.ErrExpired},
		{"serialize a held lot", func() (genealogy.Change, error) { return genealogy.Serialize(pump, pHeld, sn("A"), opAt(3)) }, genealogy.ErrNotAvailable},
		{"serialize a unit of another material", func() (genealogy.Change, error) { return genealogy.Serialize(pump, r, sn("A"), opAt(3)) }, genealogy.ErrMaterialMismatch},
		{"serialize one number twice", func() (genealogy.Change, error) { return genealogy.Serialize(pump, p, sn("A", "A"), opAt(3)) }, genealogy.ErrInvalid},
		{"serialize no units", func() (genealogy.Change, error) { return genealogy.Serialize(pump, p, nil, opAt(3)) }, genealogy.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch, err := c.run()
			require.ErrorIs(t, err, c.want)
			var ps genealogy.Problems
			require.True(t, errors.As(err, &ps), "a Problems list")
			assert.Zero(t, ch)
			assert.NotEmpty(t, err.Error())
		})
	}
	assert.Equal(t, before, snapshot(), "inputs are never modified")
}

func TestEveryProblemIsReported(t *testing.T) {
	w := newWorld(t)
	r := w.receive(t, resin, "R1", "10 kg")
	h := w.produce(t, housing, "H1", "5 ea")
	r.Status, r.Expiry = genealogy.OnHold, t0
	_, err := genealogy.Consume(r, h, q("20 kg"), opAt(5))
	var ps genealogy.Problems
	require.ErrorAs(t, err, &ps)
	assert.Len(t, ps, 3)
	for _, want := range []error{genealogy.ErrNotAvailable, genealogy.ErrExpired, genealogy.ErrInsufficient} {
		assert.ErrorIs(t, err, want)
	}
	assert.Contains(t, err.Error(), "3 problems")
	assert.Contains(t, err.Error(), "from.status")
}

func TestExpiryPolicies(t *testing.T) {
	w := newWorld(t)
	r := w.receive(t, resin, "R1", "10 kg")
	h := w.produce(t, housing, "H1", "5 ea")
	r.Expiry = t0
	op := opAt(5)
	op.Expiry = genealogy.ExpiryWarn
	ch, err := genealogy.Consume(r, h, q("1 kg"), op)
	require.NoError(t, err)
	require.Len(t, ch.Warnings, 1)
	assert.ErrorIs(t, ch.Warnings[0], genealogy.ErrExpired)

	op.Expiry = genealogy.ExpiryAllow
	ch, err = genealogy.Consume(r, h, q("1 kg"), op)
	require.NoError(t, err)
	assert.Empty(t, ch.Warnings)

	op = opAt(-1)
	_, err = genealogy.Consume(r, h, q("1 kg"), op)
	assert.NoError(t, err, "not expired before its expiry")
}

func TestMaterialValidateListsAll(t *testing.T) {
	err := genealogy.Material{Unit: "furlong", Tracking: "x", Kind: "y"}.Validate()
	var ps genealogy.Problems
	require.ErrorAs(t, err, &ps)
	assert.Len(t, ps, 4)
	assert.NoError(t, resin.Validate())
}

func TestQuantitiesConvertExactlyOrNotAtAll(t *testing.T) {
	w := newWorld(t)
	bolts := genealogy.Material{ID: "BOLT", Unit: "dozen", Tracking: genealogy.TrackLot, Kind: genealogy.KindComponent}
	b := w.receive(t, bolts, "B1", "1 dozen")
	sh := genealogy.Shipment{ID: "SH", Customer: "C"}
	_, err := genealogy.Ship(b, sh, q("1 ea"), opAt(2))
	require.ErrorIs(t, err, genealogy.ErrUnit, "1 ea is 0.0833… dozen: twelve of them left a rest that never shipped")
	ch, err := genealogy.Ship(b, sh, q("6 ea"), opAt(2))
	require.NoError(t, err)
	assert.Equal(t, "0.5 dozen", ch.Lots[0].OnHand.String())
}
