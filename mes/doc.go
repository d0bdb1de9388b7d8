// Package mes is Takt's engine: the commands and queries a host application calls to run
// production, and the interfaces a host implements (store.Store for records, Authorizer for
// permissions, SignatureVerifier for electronic signatures).
//
// Every command loads state from the Store, applies the rules of the domain packages
// (routing, genealogy, quality, labor, dispatch, equipment), checks the actor's authority
// and commits the state change, its domain events and its audit record in one transaction.
// A command either happens completely or not at all; a bad input returns a typed error and
// changes nothing.
//
//	plant, err := mes.Open(ctx, memstore.New(), mes.WithClock(clock))
//	wo, err := plant.CreateWorkOrder(ctx, mes.NewWorkOrder{Site: "PLANT-1", Number: "4711",
//		Product: "PUMP-100", Qty: units.MustParse("50 ea")}, mes.By(erp), mes.IdempotencyKey("erp-4711"))
//
// Errors wrap the sentinel values of this package, so hosts test them with errors.Is
// (errors.Is(err, mes.ErrOnHold)) and show err.Error() to a person: it says what was wrong
// and how to fix it.
package mes
