//go:build !js

package native

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them. pion
// needs no ignore: a closed link waits in Close for pion's goroutines
// (PeerConnection.GracefulClose), and goleak retries while the last ones,
// such as the vnet router's loop, wind down.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
