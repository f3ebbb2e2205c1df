package loadgen

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/minichain/minichain/node/client"
)

// TestReasons: rejections are named by the API's code, and only a 409
// (double spend, conflict) makes the generator give up the coin.
func TestReasons(t *testing.T) {
	for _, tc := range []struct {
		err      error
		reason   string
		conflict bool
	}{
		{&client.Error{Status: 422, Code: "missing_inputs"}, "missing_inputs", false},
		{fmt.Errorf("submit: %w", &client.Error{Status: 409, Code: "double_spend"}), "double_spend", true},
		{&client.Error{Status: 422, Code: "fee_too_low"}, "fee_too_low", false},
		{context.DeadlineExceeded, "timeout", false},
		{fmt.Errorf("x: %w", context.Canceled), "cancelled", false},
		{errors.New("connection refused"), "transport_error", false},
	} {
		if got := reason(tc.err); got != tc.reason {
			t.Errorf("reason(%v) = %q, want %q", tc.err, got, tc.reason)
		}
		if got := isConflict(tc.err); got != tc.conflict {
			t.Errorf("isConflict(%v) = %v, want %v", tc.err, got, tc.conflict)
		}
	}
}

func TestSummarize(t *testing.T) {
	l := summarize([]float64{3, 1, 2, 10, 4})
	if l.N != 5 || l.P50 != 3 || l.P95 != 10 || l.Max != 10 || l.Mean != 4 {
		t.Fatalf("summarize: %+v", l)
	}
	if e := summarize(nil); e.N != 0 || e.Max != 0 {
		t.Fatalf("empty: %+v", e)
	}
}
