package pgstore_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/taktmes/takt/genealogy"
	"github.com/taktmes/takt/mes"
	"github.com/taktmes/takt/pgstore"
)

// Example opens the store and runs the engine on it. It needs a database, so it is compiled
// but not run by go test; the package's tests run the same flows against
// TAKT_POSTGRES_DSN.
func Example() {
	ctx := context.Background()
	s, err := pgstore.Open(ctx, os.Getenv("TAKT_POSTGRES_DSN"), pgstore.WithSchema("takt"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	plant, err := mes.Open(ctx, s)
	if err != nil {
		log.Fatal(err)
	}
	_ = plant // plant.CreateWorkOrder(...), plant.ReleaseWorkOrder(...), ...

	// A whole backward trace is one recursive query.
	trace, err := s.TraceBackward(ctx, genealogy.LotNode("FIN-1"), genealogy.TraceOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(trace.Nodes), "nodes")
}
