module github.com/taktmes/takt/examples/plant

go 1.25

require (
	github.com/taktmes/takt v0.0.0
	github.com/taktmes/takt/pgstore v0.0.0
)

replace (
	github.com/taktmes/takt => ../..
	github.com/taktmes/takt/pgstore => ../../pgstore
)
