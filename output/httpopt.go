package output

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// reservedHeaders are the request headers fim sets itself on each attempt, which a
// --header may not replace.
var reservedHeaders = []string{"Content-Encoding", "Content-Length", "Transfer-Encoding", "Idempotency-Key", "Host", "Connection"}

// ParseHeader parses one extra HTTP request header written "NAME: VALUE", as curl takes
// it. The value is a secret (an API key, a token): no error names it, nor any part of s
// after the name.
func ParseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", errors.New(`want "NAME: VALUE" (no colon)`)
	}
	name, value = strings.TrimSpace(name), strings.Trim(value, " \t")
	if !validHeaderName(name) {
		return "", "", fmt.Errorf("%q is not a header name (letters, digits and !#$%%&'*+-.^_`|~)", name)
	}
	for _, r := range reservedHeaders {
		if strings.EqualFold(name, r) {
			return "", "", fmt.Errorf("%s is set by fim itself", http.CanonicalHeaderKey(name))
		}
	}
	if value == "" {
		return "", "", fmt.Errorf("%s: no value", name)
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return "", "", fmt.Errorf("%s: the value holds a control character", name)
		}
	}
	return name, value, nil
}

// validHeaderName reports whether s is an HTTP field name: a token (RFC 9110 §5.6.2).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// LoadTLS returns the TLS configuration of an https output: the certificate
// authorities in the PEM file ca, when given, are the only roots trusted (else the
// system's); certFile and keyFile, which go together, are the client certificate and
// its private key in PEM, for a collector that authenticates its clients. It returns
// nil when all three are empty. Errors name the file.
func LoadTLS(ca, certFile, keyFile string) (*tls.Config, error) {
	if ca == "" && certFile == "" && keyFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate in it", ca)
		}
		cfg.RootCAs = pool
	}
	switch {
	case certFile != "" && keyFile != "":
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s with key %s: %w", certFile, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case certFile != "":
		return nil, fmt.Errorf("client certificate %s: no key file given for it", certFile)
	case keyFile != "":
		return nil, fmt.Errorf("client key %s: no certificate file given for it", keyFile)
	}
	return cfg, nil
}

// secrets returns what must not appear in a message about h: each value, and each of
// its words of 8 bytes or more (the token of "Bearer TOKEN"), longest first.
func secrets(h http.Header) []string {
	var out []string
	for _, vs := range h {
		for _, v := range vs {
			out = append(out, v)
			for _, w := range strings.Fields(v) {
				if len(w) >= 8 && w != v {
					out = append(out, w)
				}
			}
		}
	}
	// Longest first, so that a value is replaced before a word of it.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// scrub replaces every secret in s with "[redacted]": for what a collector sends back
// (the start of a response body, a redirect's Location), which may echo a header. The
// start of a secret (4 bytes or more) that ends s, where a body was cut, goes too.
func scrub(s string, secrets []string) string {
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, "[redacted]")
	}
	for _, v := range secrets {
		for k := len(v) - 1; k >= 4; k-- {
			if strings.HasSuffix(s, v[:k]) {
				return s[:len(s)-k] + "[redacted]"
			}
		}
	}
	return s
}
