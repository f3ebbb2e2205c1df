package explorer

import (
	"fmt"
	"html/template"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/minichain/minichain/wallet"
)

// explorerFuncs are the template functions of the explorer: formatting only,
// never data access. Each returns plain strings or values that html/template
// escapes for the context it writes them in.
var explorerFuncs = template.FuncMap{
	"amount":     formatCoins,
	"amountPtr":  formatCoinsPtr,
	"signed":     formatSignedCoins,
	"short":      shortHash,
	"zeros":      splitLeadingZeros,
	"ago":        formatAgo,
	"utc":        formatUTC,
	"bytes":      formatBytes,
	"hashrate":   formatHashrate,
	"num":        formatNumber,
	"int":        formatInt,
	"bigdec":     hexToDecimal,
	"feerate":    formatFeeRate,
	"percent":    func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
	"height":     formatHeightPtr,
	"static":     staticURL,
	"peerTarget": peerMultiaddr,
	"offset":     func(v any, d int64) int64 { return toInt64(v) + d },
}

// formatCoins renders base units as coins: "12.50000000".
func formatCoins(units uint64) string { return wallet.FormatAmount(units) }

// formatCoinsPtr renders an amount that may be unknown (an input whose
// spent output is not at hand).
func formatCoinsPtr(units *uint64) string {
	if units == nil {
		return "unknown"
	}
	return formatCoins(*units)
}

// formatSignedCoins renders a net change with its sign.
func formatSignedCoins(units int64) string {
	if units < 0 {
		return "−" + formatCoins(uint64(-units))
	}
	if units > 0 {
		return "+" + formatCoins(uint64(units))
	}
	return formatCoins(0)
}

// shortHash abbreviates a hash for tables: the first 10 and last 6 digits.
func shortHash(h string) string {
	if len(h) <= 20 {
		return h
	}
	return h[:10] + "…" + h[len(h)-6:]
}

// hashParts is a hash split into its leading zeros (the proof of work a
// reader can see) and the rest.
type hashParts struct {
	Zeros, Rest string
}

func splitLeadingZeros(h string) hashParts {
	i := 0
	for i < len(h) && h[i] == '0' {
		i++
	}
	return hashParts{Zeros: h[:i], Rest: h[i:]}
}

// formatAgo renders how long before now a unix time (any integer type)
// was.
func formatAgo(unix any, now int64) string {
	d := now - toInt64(unix)
	switch {
	case d < -60:
		return "in " + formatSeconds(-d)
	case d < 1:
		return "just now"
	}
	return formatSeconds(d) + " ago"
}

// formatSeconds renders a duration in seconds at a readable precision.
func formatSeconds(s int64) string {
	switch {
	case s < 120:
		return fmt.Sprintf("%d s", s)
	case s < 2*3600:
		return fmt.Sprintf("%d min", s/60)
	case s < 2*86400:
		return fmt.Sprintf("%d h", s/3600)
	}
	return fmt.Sprintf("%d days", s/86400)
}

// formatUTC renders a unix time (any integer type) as a UTC date and time.
func formatUTC(unix any) string {
	return time.Unix(toInt64(unix), 0).UTC().Format("2006-01-02 15:04:05 UTC")
}

// toInt64 converts the integer types the API views use.
func toInt64(v any) int64 {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	case uint32:
		return int64(x)
	case uint64:
		return int64(x)
	}
	return 0
}

// formatBytes renders a size: "312 B", "4.2 kB", "1.0 MB".
func formatBytes(n int) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1_000_000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.2f MB", float64(n)/1e6)
}

// formatHashrate renders hashes per second with an SI prefix.
func formatHashrate(h float64) string {
	units := []string{"H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s"}
	i := 0
	for h >= 1000 && i < len(units)-1 {
		h /= 1000
		i++
	}
	switch {
	case i == 0 && h > 0 && h < 10:
		return strconv.FormatFloat(h, 'g', 3, 64) + " " + units[i]
	case i == 0:
		return fmt.Sprintf("%.0f %s", h, units[i])
	}
	return fmt.Sprintf("%.2f %s", h, units[i])
}

// formatNumber renders a float (difficulty, latency) with four significant
// digits, or grouped thousands when large.
func formatNumber(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return "–"
	case math.Abs(f) >= 1e6:
		return strconv.FormatFloat(f, 'e', 3, 64)
	case math.Abs(f) >= 1000:
		return groupThousands(strconv.FormatFloat(math.Round(f), 'f', 0, 64))
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}

// formatInt renders an integer with grouped thousands.
func formatInt(v any) string {
	if x, ok := v.(uint64); ok {
		return groupThousands(strconv.FormatUint(x, 10))
	}
	return groupThousands(strconv.FormatInt(toInt64(v), 10))
}

// groupThousands puts a thin space between groups of three digits.
func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// hexToDecimal renders a hexadecimal work figure in decimal.
func hexToDecimal(h string) string {
	v, ok := new(big.Int).SetString(h, 16)
	if !ok {
		return h
	}
	return groupThousands(v.String())
}

// formatFeeRate renders fee per byte; an unknown fee gives "unknown".
func formatFeeRate(fee *uint64, size int) string {
	if fee == nil || size <= 0 {
		return "unknown"
	}
	return strconv.FormatFloat(float64(*fee)/float64(size), 'f', 1, 64) + " units/B"
}

// formatHeightPtr renders an optional height.
func formatHeightPtr(h *int32) string {
	if h == nil {
		return "–"
	}
	return strconv.FormatInt(int64(*h), 10)
}

// peerMultiaddr is a peer's full multiaddr, with its /p2p/ part, as
// POST /api/v1/peers and --bootstrap take it.
func peerMultiaddr(addr, id string) string {
	if strings.Contains(addr, "/p2p/") || id == "" {
		return addr
	}
	return addr + "/p2p/" + id
}
