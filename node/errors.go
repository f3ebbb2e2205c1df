package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/wallet"
)

// apiError is an error with the HTTP status and code it is answered with.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func badRequest(code, format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &apiError{status: http.StatusNotFound, code: "not_found", message: fmt.Sprintf(format, args...)}
}

// errTooLarge is answered with 413.
// (A 502 connect_failed answers a peer that cannot be reached.)
var errTooLarge = &apiError{status: http.StatusRequestEntityTooLarge, code: "body_too_large", message: "request body too large"}

// classify is the one place that maps an error to an HTTP status and a
// stable code. Rule violations keep their kind as the code
// (chain.ErrSpendTooHigh -> "spend_too_high").
func classify(err error) (status int, code string, message string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status, ae.code, ae.message
	}
	var re *chain.RuleError
	if errors.As(err, &re) {
		code = kindCode(re.Err)
		switch re.Err {
		case mempool.ErrConflict, chain.ErrDoubleSpend, mempool.ErrAlreadyConfirmed:
			return http.StatusConflict, code, err.Error()
		case chain.ErrMalformed, chain.ErrTrailingBytes, chain.ErrTooLarge:
			return http.StatusBadRequest, code, err.Error()
		case mempool.ErrOrphanRejected:
			return http.StatusUnprocessableEntity, "missing_inputs", err.Error()
		}
		return http.StatusUnprocessableEntity, code, err.Error()
	}
	switch {
	case errors.Is(err, chain.ErrBlockNotFound), errors.Is(err, chain.ErrTxNotFound):
		return http.StatusNotFound, "not_found", err.Error()
	case errors.Is(err, wallet.ErrInsufficientFunds):
		return http.StatusUnprocessableEntity, "insufficient_funds", err.Error()
	case errors.Is(err, wallet.ErrDustAmount):
		return http.StatusUnprocessableEntity, "dust_amount", err.Error()
	case errors.Is(err, wallet.ErrWrongNetwork):
		return http.StatusBadRequest, "wrong_network", err.Error()
	case errors.Is(err, wallet.ErrAddressFormat):
		return http.StatusBadRequest, "invalid_address", err.Error()
	case errors.Is(err, wallet.ErrLocked):
		return http.StatusConflict, "wallet_locked", err.Error()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "unavailable", "the request was cancelled or timed out"
	}
	return http.StatusInternalServerError, "internal", "internal error"
}
