package explorer_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minichain/minichain/node/nodetest"
)

// TestLatestBlockPage: /block/latest sends the visitor to the tip's own
// page (keeping the query), and follows the tip as blocks arrive.
func TestLatestBlockPage(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Quiet: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range 2 {
		hs, err := n.Client.Generate(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := noFollow.Get(n.URL + "/block/latest?tx=0")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "/block/"+hs[0]+"?tx=0" {
			t.Fatalf("/block/latest: %d, Location %q; want 302 to the tip %s", resp.StatusCode, loc, hs[0])
		}
	}
	resp, err := http.Get(n.URL + "/block/latest")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Block 2") {
		t.Fatalf("following the redirect: %d\n%.300s", resp.StatusCode, page)
	}
}
