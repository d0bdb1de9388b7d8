module github.com/taktmes/takt/mqttdevice

go 1.25

require (
	github.com/eclipse/paho.mqtt.golang v1.5.1
	github.com/taktmes/takt v0.0.0
)

require (
	github.com/expr-lang/expr v1.17.8 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/shopspring/decimal v1.6.0 // indirect
	golang.org/x/net v0.44.0 // indirect
	golang.org/x/sync v0.17.0 // indirect
)

replace github.com/taktmes/takt => ../
