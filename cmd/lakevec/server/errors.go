package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/lakevec/lakevec/engine"
	"github.com/lakevec/lakevec/hnsw"
)

// errorBody is every error response: {"error": "..."}.
type errorBody struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

// apiError is an error with the status it is answered with. Its message
// is shown to the client.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func apiErr(status int, format string, args ...any) error {
	return &apiError{status, fmt.Sprintf(format, args...)}
}

// badParam is a 400 naming the parameter.
func badParam(name, format string, args ...any) error {
	return &apiError{http.StatusBadRequest, name + ": " + fmt.Sprintf(format, args...)}
}

// statusOf maps an error to its status and the message the client sees.
// Errors the client cannot act on (500) are not shown: they may name
// files of the data directory; the log has them under the request id.
func statusOf(err error) (int, string, bool) {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.msg, true
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit), true
	case errors.Is(err, engine.ErrNoDocument), errors.Is(err, engine.ErrNoCollection):
		return http.StatusNotFound, err.Error(), true
	case errors.Is(err, engine.ErrOutOfOrder):
		return http.StatusConflict, err.Error(), true
	case errors.Is(err, engine.ErrBadQuery), errors.Is(err, hnsw.ErrDimension), errors.Is(err, hnsw.ErrNonFinite),
		errors.Is(err, hnsw.ErrZeroVector), errors.Is(err, hnsw.ErrBadK):
		return http.StatusBadRequest, err.Error(), true
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, "request cancelled or timed out", true
	}
	return http.StatusInternalServerError, "internal error", false
}

// writeError answers err as JSON, logging what the client is not shown.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, shown := statusOf(err)
	ri := infoOf(r.Context())
	if !shown {
		msg += " (request " + ri.id + ")"
	}
	if status >= 500 {
		if lg := loggerOf(r); lg != nil {
			lg.Error("request failed", "request_id", ri.id, "route", ri.route, "status", status, "err", err)
		}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="lakevec"`)
	}
	writeJSON(w, status, errorBody{Error: msg, RequestID: ri.id})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}
