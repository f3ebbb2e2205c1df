package apiserver_test

import (
	"encoding/json"
	"testing"

	"github.com/minichain/minichain/miner/sha256d"
	"github.com/minichain/minichain/node"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/node/nodetest"
)

// TestStatusReportsMinerKernel: /api/v1/status names the nonce-scan kernel
// the miner runs: the fastest by default, the forced one otherwise.
func TestStatusReportsMinerKernel(t *testing.T) {
	for _, k := range []sha256d.Kernel{sha256d.Auto, sha256d.Portable} {
		n := nodetest.Start(t, nodetest.Options{Tweak: func(c *node.Config) { c.MinerKernel = k }})
		a := do(t, n, call{method: "GET", path: "/api/v1/status"})
		var st api.Status
		if a.status != 200 || json.Unmarshal(a.body, &st) != nil {
			t.Fatalf("status: %d %s", a.status, a.body)
		}
		want, _ := k.Resolve()
		if st.MinerKernel != want.String() {
			t.Errorf("kernel %v: miner_kernel %q, want %q", k, st.MinerKernel, want)
		}
	}
}
