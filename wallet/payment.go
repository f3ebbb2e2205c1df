package wallet

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"

	"github.com/minichain/minichain/chain"
)

// Payment errors.
var (
	// ErrInsufficientFunds is the kind of an *InsufficientFundsError.
	ErrInsufficientFunds = errors.New("insufficient funds")
	// ErrDustAmount is returned for a payment below the dust limit.
	ErrDustAmount = errors.New("amount is below the dust limit")
	// ErrAmountRange is returned for an amount above the money supply.
	ErrAmountRange = errors.New("amount is above the money supply")
	// ErrFeeTooHigh is returned for a fee rate above the maximum, unless
	// the payment is forced.
	ErrFeeTooHigh = errors.New("fee rate is above the maximum")
)

// DefaultMaxFeeRate is the highest fee rate, in base units per byte, a
// payment may pay unless forced: a guard against a typo that hands the
// coins to a miner, as Bitcoin Core's maxfeerate. A 250-byte payment at
// this rate pays 0.0025 coins.
const DefaultMaxFeeRate = 1000

// PayOptions tune BuildPayment.
type PayOptions struct {
	// FeeRate is the fee in base units per byte (0 means 1).
	FeeRate uint64
	// MaxFeeRate refuses a higher FeeRate with ErrFeeTooHigh (0 means
	// DefaultMaxFeeRate) ...
	MaxFeeRate uint64
	// ... unless Force is set.
	Force bool
}

// InsufficientFundsError says how much the wallet can spend and how much the
// payment needs (amount plus fee).
type InsufficientFundsError struct {
	Have, Need uint64
}

func (e *InsufficientFundsError) Error() string {
	return fmt.Sprintf("insufficient funds: have %s, need %s", FormatAmount(e.Have), FormatAmount(e.Need))
}

// Unwrap makes errors.Is(err, ErrInsufficientFunds) true.
func (e *InsufficientFundsError) Unwrap() error { return ErrInsufficientFunds }

// DustLimit is the smallest output a payment creates; change below it is
// left to the fee instead. It matches the mempool's default policy.
const DustLimit = 546

// Sizes used to estimate a transaction's size before it is signed. An input
// is at most 149 bytes: outpoint 36, script length 1, script 108 (push of a
// 72-byte DER signature plus sighash byte, push of a 33-byte key), sequence 4.
const (
	txOverhead = 4 + 1 + 1 + 4 // version, input count, output count, lock time
	inputSize  = 36 + 1 + 1 + 73 + 1 + 33 + 4
	outputSize = 8 + 1 + 25
)

// EstimateSize returns the largest size a transaction of nIn P2PKH inputs
// and nOut P2PKH outputs can have once signed.
func EstimateSize(nIn, nOut int) int { return txOverhead + nIn*inputSize + nOut*outputSize }

// Payment is a built, signed transaction and what it does.
type Payment struct {
	Tx     *chain.Tx
	Fee    uint64
	Change uint64
	// ChangeAddress is set when the transaction pays change. It is the
	// wallet's next unused change address, reserved but not yet used up:
	// call KeepChange once the transaction was accepted.
	ChangeAddress *Address
	changeIndex   uint32
}

// BuildPayment pays amount (base units) to `to` at o.FeeRate, spending the
// wallet's coins as the ledger reports them: mature, confirmed or
// unconfirmed, and not already spent in the pool. Coins are chosen largest
// first; change goes to the wallet's next unused change address, unless it
// would be dust, in which case it goes to the fee. Every input is signed and
// the finished transaction is checked with the chain's own script engine
// before it is returned. The wallet must be unlocked.
//
// The change address is only reserved: call KeepChange when the
// transaction was accepted. A payment that fails does not use an address
// up, so failed sends cannot push the wallet's coins past the gap a restore
// scans.
func (w *Wallet) BuildPayment(l Ledger, to Address, amount uint64, o PayOptions) (*Payment, error) {
	feeRate, err := w.checkPayment(to, amount, o)
	if err != nil {
		return nil, err
	}
	if w.Locked() {
		return nil, ErrLocked
	}
	coins, err := w.Coins(l)
	if err != nil {
		return nil, err
	}
	selected, total, fee, err := selectCoins(coins, amount, feeRate)
	if err != nil {
		return nil, err
	}

	tx := &chain.Tx{Version: 1}
	for _, c := range selected {
		tx.TxIn = append(tx.TxIn, chain.TxIn{PrevOut: c.OutPoint, Sequence: chain.MaxSequence})
	}
	tx.TxOut = append(tx.TxOut, chain.TxOut{Value: amount, PkScript: to.Script()})
	pay := &Payment{Tx: tx}
	change := total - amount - fee
	if change >= DustLimit {
		addr, index, err := w.nextChange()
		if err != nil {
			return nil, err
		}
		tx.TxOut = append(tx.TxOut, chain.TxOut{Value: change, PkScript: addr.Script()})
		pay.Change, pay.ChangeAddress, pay.changeIndex = change, &addr, index
	} else {
		change = 0
	}
	pay.Fee = total - amount - change
	if err := w.signInputs(tx, selected); err != nil {
		return nil, err
	}
	if err := chain.CheckTxSanity(tx, w.params); err != nil {
		return nil, fmt.Errorf("built transaction fails sanity checks: %w", err)
	}
	if size := tx.SerializeSize(); pay.Fee < satMul(feeRate, uint64(size)) {
		return nil, fmt.Errorf("built transaction pays %d for %d bytes, below the rate %d", pay.Fee, size, feeRate)
	}
	return pay, nil
}

// checkPayment checks a payment's address, amount and fee rate, and
// returns the rate to pay (at least 1).
func (w *Wallet) checkPayment(to Address, amount uint64, o PayOptions) (uint64, error) {
	if to.Params == nil || to.Params.Name != w.params.Name {
		return 0, fmt.Errorf("%w: paying an address of another network", ErrWrongNetwork)
	}
	if amount > chain.MaxMoney {
		return 0, fmt.Errorf("%w: %s is more than %s", ErrAmountRange, FormatAmount(amount), FormatAmount(chain.MaxMoney))
	}
	if amount < DustLimit {
		return 0, fmt.Errorf("%w: %s is less than %s", ErrDustAmount, FormatAmount(amount), FormatAmount(DustLimit))
	}
	feeRate := max(o.FeeRate, 1)
	maxRate := o.MaxFeeRate
	if maxRate == 0 {
		maxRate = DefaultMaxFeeRate
	}
	if feeRate > maxRate && !o.Force {
		return 0, fmt.Errorf("%w: %d units per byte is above %d (a fee of about %s for a simple payment); force it if you mean it",
			ErrFeeTooHigh, feeRate, maxRate, FormatAmount(satMul(feeRate, uint64(EstimateSize(1, 2)))))
	}
	return feeRate, nil
}

// selectCoins chooses, largest first, the mature coins not spent in the
// pool that pay amount and the fee at feeRate of a transaction spending
// them to two outputs. It returns them, their total and that fee, or an
// *InsufficientFundsError.
func selectCoins(coins []Coin, amount, feeRate uint64) (selected []Coin, total, fee uint64, err error) {
	var usable []Coin
	var have uint64
	for _, c := range coins {
		if c.Mature && !c.SpentInPool {
			usable = append(usable, c)
			have += c.Value
		}
	}
	sort.SliceStable(usable, func(i, j int) bool { return usable[i].Value > usable[j].Value })
	for _, c := range usable {
		selected = append(selected, c)
		total += c.Value
		fee = satMul(feeRate, uint64(EstimateSize(len(selected), 2)))
		if total >= satAdd(amount, fee) {
			break
		}
	}
	if total < satAdd(amount, fee) || len(selected) == 0 {
		need := satAdd(amount, satMul(feeRate, uint64(EstimateSize(max(len(usable), 1), 2))))
		return nil, 0, 0, &InsufficientFundsError{Have: have, Need: need}
	}
	return selected, total, fee, nil
}

// signInputs signs every input of tx, which spends coins in order, and
// verifies each signature with the chain's script engine.
func (w *Wallet) signInputs(tx *chain.Tx, coins []Coin) error {
	sh := chain.NewSigHashes(tx)
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, c := range coins {
		pkh, ok := chain.ExtractPubKeyHash(c.PkScript)
		if !ok {
			return fmt.Errorf("input %d: coin is not P2PKH", i)
		}
		priv, err := w.privKeyLocked(pkh)
		if err != nil {
			return err
		}
		if err := chain.SignP2PKH(tx, i, priv, c.Value, sh); err != nil {
			return err
		}
	}
	for i, c := range coins {
		if err := chain.VerifyScript(tx.TxIn[i].SigScript, c.PkScript, tx, i, c.Value, sh); err != nil {
			return fmt.Errorf("input %d does not verify: %w", i, err)
		}
	}
	return nil
}

// satMul is a*b, or the largest uint64 when that overflows: amounts and fees
// computed from a person's input must not wrap around.
func satMul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}

// satAdd is a+b, or the largest uint64 when that overflows.
func satAdd(a, b uint64) uint64 {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return s
}
