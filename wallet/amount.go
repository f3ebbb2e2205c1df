package wallet

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/minichain/minichain/chain"
)

// ErrAmount is returned for an amount that does not parse.
var ErrAmount = errors.New("invalid amount")

// ParseAmount parses an amount in coins with up to 8 decimals ("1.5",
// "0.00000001", "21000000") into base units, exactly: the digits are read as
// integers, never through a float.
func ParseAmount(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("%w: empty", ErrAmount)
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("%w %q", ErrAmount, s)
	}
	if len(frac) > 8 {
		return 0, fmt.Errorf("%w %q: more than 8 decimals", ErrAmount, s)
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("%w %q: only digits and one '.' are allowed", ErrAmount, s)
			}
		}
	}
	var w uint64
	if whole != "" {
		var err error
		if len(whole) > 8 {
			return 0, fmt.Errorf("%w %q: more than the 21,000,000 coins that exist", ErrAmount, s)
		}
		if w, err = strconv.ParseUint(whole, 10, 64); err != nil {
			return 0, fmt.Errorf("%w %q", ErrAmount, s)
		}
	}
	var f uint64
	if frac != "" {
		padded := frac + strings.Repeat("0", 8-len(frac))
		f, _ = strconv.ParseUint(padded, 10, 64)
	}
	v := w*chain.UnitsPerCoin + f
	if v > chain.MaxMoney {
		return 0, fmt.Errorf("%w %q: more than the 21,000,000 coins that exist", ErrAmount, s)
	}
	return v, nil
}

// FormatAmount renders base units as coins with 8 decimals: 150000000 is
// "1.50000000".
func FormatAmount(units uint64) string {
	return fmt.Sprintf("%d.%08d", units/chain.UnitsPerCoin, units%chain.UnitsPerCoin)
}
