package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// access is what a route requires.
type access int

const (
	public access = iota // no key ever: liveness, readiness, the OpenAPI document
	read                 // the read-only key or the admin key
	admin                // the admin key
)

func (a access) String() string { return [...]string{"public", "read", "admin"}[a] }

// keyDigest hashes a key so comparisons take the same time whatever the
// length of the presented token.
func keyDigest(k string) []byte {
	d := sha256.Sum256([]byte(k))
	return d[:]
}

// authorize checks the bearer token of r against the route's access. With
// no key configured (only possible on a loopback address) every request is
// allowed. It never logs or echoes the token.
func (s *Server) authorize(r *http.Request, need access) error {
	if need == public || (s.readKey == nil && s.admKey == nil) {
		return nil
	}
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return apiErr(http.StatusUnauthorized, "missing bearer token: send Authorization: Bearer <key>")
	}
	d := keyDigest(strings.TrimSpace(tok))
	isAdmin := s.admKey != nil && subtle.ConstantTimeCompare(d, s.admKey) == 1
	isRead := s.readKey != nil && subtle.ConstantTimeCompare(d, s.readKey) == 1
	switch {
	case isAdmin:
		return nil
	case isRead && need == read:
		return nil
	case isRead:
		return apiErr(http.StatusForbidden, "this key is read-only; %s needs the admin key", r.Pattern)
	}
	return apiErr(http.StatusUnauthorized, "invalid bearer token")
}
