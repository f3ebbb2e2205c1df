package query

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/wallet"
)

// StatusError is an error with the HTTP status and code it is answered with.
type StatusError struct {
	Status  int
	Code    string
	Message string
}

// Error returns the message.
func (e *StatusError) Error() string { return e.Message }

// BadRequest is a 400 answer with a stable code and a message.
func BadRequest(code, format string, args ...any) error {
	return &StatusError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound is a 404 answer with a message.
func NotFound(format string, args ...any) error {
	return &StatusError{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

// ErrBodyTooLarge is answered with 413.
var ErrBodyTooLarge = &StatusError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: "request body too large"}

// Classify is the one place that maps an error to an HTTP status and a
// stable code. Rule violations keep their kind as the code
// (chain.ErrSpendTooHigh -> "spend_too_high").
func Classify(err error) (status int, code string, message string) {
	var ae *StatusError
	if errors.As(err, &ae) {
		return ae.Status, ae.Code, ae.Message
	}
	var re *chain.RuleError
	if errors.As(err, &re) {
		code = KindCode(re.Err)
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

var camel = regexp.MustCompile(`([a-z0-9])([A-Z])`)

// KindCode names an error kind in snake_case for API error codes and metric
// labels: ErrSpendTooHigh -> "spend_too_high".
func KindCode(k chain.ErrorKind) string {
	s := strings.TrimPrefix(string(k), "Err")
	return strings.ToLower(camel.ReplaceAllString(s, "${1}_${2}"))
}

// ParseTxID reads a txid as users write it (64 hex digits, byte-reversed);
// anything else is a 400 with code invalid_txid.
func ParseTxID(v string) (chain.Hash, error) {
	h, err := chain.ParseHash(v)
	if err != nil {
		return h, BadRequest("invalid_txid", "%q is not a txid: %v", v, err)
	}
	return h, nil
}
