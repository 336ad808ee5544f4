// Package processor names the live connectors this build has. Adding a
// connector is a package beside internal/processor/stripe and one line
// here (docs/processors.md has the checklist).
package processor

import (
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/processor/stripe"
)

// Connectors returns the live connectors by the name an operator gives
// `cartgateway accounts set-processor --processor`.
func Connectors() map[string]gateway.Connector {
	return map[string]gateway.Connector{
		stripe.Name: stripe.Connector,
	}
}
