package loadgen

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"time"

	"github.com/minichain/minichain/chain"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("loadgen: invalid config")

// Config is one load run.
type Config struct {
	// Nodes are the nodes' API base URLs, e.g. http://127.0.0.1:8081. The
	// first one funds the wallets and is the reference for confirmations.
	Nodes []string
	// Token is the first node's API token (for its wallet).
	Token string
	// Wallets is how many wallets send to each other (default 10).
	Wallets int
	// Fund is what each wallet gets, in base units (default 10 coins).
	Fund uint64
	// Rate is the target transfers per second (default 5).
	Rate float64
	// Count stops sending after this many transfers (0: no limit).
	Count int
	// Duration stops sending after this long (default 1 minute).
	Duration time.Duration
	// ConfirmWait bounds the wait for confirmations after sending
	// (default 2 minutes; negative: do not wait).
	ConfirmWait time.Duration
	// Grace is how long a wallet waits before spending a coin created
	// through another node (default 2 s).
	Grace time.Duration
	// FeeRate is the fee in base units per byte (default 2).
	FeeRate uint64
	// Workers is how many submissions may be in flight at once (default
	// 4); the node acknowledges a transfer only once it is stored.
	Workers int
	// Keep leaves the coins in the throwaway wallets at the end; by
	// default they go back to the first node's wallet.
	Keep bool
	// Seed seeds the choice of payers, payees and amounts (0: random).
	Seed uint64
	// Progress, if set, receives a line about every second.
	Progress io.Writer
}

func (c *Config) setDefaults() error {
	if err := CheckNodes(c.Nodes); err != nil {
		return err
	}
	if c.Wallets == 0 {
		c.Wallets = 10
	}
	if c.Fund == 0 {
		c.Fund = 10 * chain.UnitsPerCoin
	}
	if c.Rate == 0 {
		c.Rate = 5
	}
	if c.Duration == 0 {
		c.Duration = time.Minute
	}
	if c.ConfirmWait == 0 {
		c.ConfirmWait = 2 * time.Minute
	}
	if c.Grace == 0 {
		c.Grace = 2 * time.Second
	}
	if c.FeeRate == 0 {
		c.FeeRate = 2
	}
	if c.Workers == 0 {
		c.Workers = 4
	}
	switch {
	case c.Wallets < 2 || c.Wallets > 10_000:
		return fmt.Errorf("%w: --wallets %d: want 2 to 10000", ErrConfig, c.Wallets)
	case c.Rate < 0 || math.IsNaN(c.Rate) || c.Rate > 10_000:
		return fmt.Errorf("%w: --rate %v: want up to 10000 per second", ErrConfig, c.Rate)
	case c.Workers < 1 || c.Workers > 256:
		return fmt.Errorf("%w: --workers %d: want 1 to 256", ErrConfig, c.Workers)
	case c.Count < 0:
		return fmt.Errorf("%w: --count must not be negative", ErrConfig)
	case c.Duration < 0 || c.Duration > 24*time.Hour:
		return fmt.Errorf("%w: --duration %v: want up to 24h", ErrConfig, c.Duration)
	case c.ConfirmWait > 24*time.Hour:
		return fmt.Errorf("%w: --confirm-wait %v: want up to 24h", ErrConfig, c.ConfirmWait)
	case c.Fund < 10*minSplit:
		return fmt.Errorf("%w: --fund %d: want at least %d base units", ErrConfig, c.Fund, 10*minSplit)
	case c.Token == "":
		return fmt.Errorf("%w: the first node's API token is needed to fund the wallets", ErrConfig)
	}
	return nil
}

// CheckNodes checks the node URLs: at least one, each http:// or https://
// with a host.
func CheckNodes(nodes []string) error {
	if len(nodes) == 0 {
		return fmt.Errorf("%w: no --node given", ErrConfig)
	}
	for _, n := range nodes {
		u, err := url.Parse(n)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: node %q is not an http:// or https:// URL", ErrConfig, n)
		}
	}
	return nil
}

// minSplit is the smallest coin a transfer splits; smaller ones are paid
// whole.
const minSplit = 100_000

// requestTimeout bounds one API call.
const requestTimeout = 15 * time.Second
