package embed

import (
	"context"
	"crypto/tls"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// backoff is the wait before retry number attempt (0 for the first retry):
// u·min(max, min·2^attempt) for u uniform in [0, 1), "full jitter".
func backoff(attempt int, minWait, maxWait time.Duration, u float64) time.Duration {
	d := maxWait
	if attempt < 62 && minWait <= maxWait>>attempt {
		d = minWait << attempt
	}
	return time.Duration(u * float64(d))
}

func randFloat() float64 { return rand.Float64() }

// parseRetryAfter reads how long the service asks the client to wait:
// Retry-After-Ms (milliseconds, sent by some OpenAI-compatible services)
// or Retry-After, as seconds or an HTTP date. ok is false when the answer
// has neither or they do not parse.
func parseRetryAfter(h http.Header, now time.Time) (wait time.Duration, ok bool) {
	const maxSeconds = 1e6 // beyond any cap; avoids overflow
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && !math.IsInf(ms, 0) {
			return time.Duration(min(ms, maxSeconds*1000) * float64(time.Millisecond)), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, maxSeconds)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryableTransport reports whether a network error may pass: not a
// refused connection (nothing listens there), an unknown host or a
// certificate the client does not trust, which retrying cannot fix.
func retryableTransport(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return false
	}
	var cert *tls.CertificateVerificationError
	return !errors.As(err, &cert)
}
