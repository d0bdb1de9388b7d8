module github.com/taktmes/takt/reliability

go 1.25.0

require (
	github.com/shopspring/decimal v1.6.0
	github.com/stretchr/testify v1.12.1
	github.com/taktmes/takt v0.0.0
)

require (
	github.com/expr-lang/expr v1.17.8 // indirect
	github.com/google/uuid v1.6.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

replace (
	github.com/taktmes/takt => ../
	github.com/taktmes/takt/pgstore => ../pgstore
)
