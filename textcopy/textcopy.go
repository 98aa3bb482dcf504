// Package textcopy decides what copy of a file's content a baseline may keep for
// content diffs, and makes it: only text (valid UTF-8 without NUL bytes), never a
// private key (recognised by its PEM or OpenSSH block), and with the values of lines
// that look like secrets replaced by "[redacted: <8 hex digits>]", the digits those of
// the value's BLAKE3 keyed with the baseline's Key for the file (Key.For), so that a
// changed secret shows as changed without showing what it is, and a short one cannot
// be found by hashing guesses without the key, nor by writing guesses in another file. A copy is kept as a zstd frame; Decode refuses one that
// does not decode within a limit.
//
// Which files are asked for at all (content_diff rules, no_diff patterns, the shadow
// files, world-readability) is the caller's policy (Never, and package config); what
// is in a file is decided here, on the bytes the walk read once.
package textcopy

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"regexp"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
	"github.com/zeebo/blake3"

	"fim/tree"
)

// MaxSize is the largest content_diff_max allowed, and the most a stored copy may
// decode to.
const MaxSize = 1 << 20

// DefaultMax is content_diff_max when a rule leaves it unset.
const DefaultMax = 64 << 10

// Take returns the copy to keep of content, read from a regular file of its rule's
// content_diff, or why none is kept: binary for what is not text, secret for a
// private key. The copy is the content with secrets redacted with key (Redact),
// compressed.
func Take(content []byte, key *Key) ([]byte, tree.NoCopy) {
	if !IsText(content) {
		return nil, tree.NoCopyBinary
	}
	if IsPrivateKey(content) {
		return nil, tree.NoCopySecret
	}
	return encoder.EncodeAll(Redact(content, key), nil), tree.CopyNone
}

// Key keys the digests that stand for redacted values. A baseline keeps one, made
// when it is made (NewKey) and carried by its successors, so that the digests of its
// copies and those of the files checked against it are comparable; it is as secret as
// the baseline file (0600), and fim never shows it.
type Key [32]byte

// For returns the key of the copies of the file at recorded path p: k keyed with p, so
// that one secret in two files is tagged differently, and a user who can write a file
// under a content_diff rule cannot learn another file's secret by writing guesses and
// comparing their tags in a report.
func (k *Key) For(p string) *Key {
	h, _ := blake3.NewKeyed(k[:]) // a 32-byte key: no error
	h.WriteString(p)
	var f Key
	h.Sum(f[:0])
	return &f
}

// NewKey returns a random key.
func NewKey() Key {
	var k Key
	rand.Read(k[:]) // never fails (crypto/rand)
	return k
}

// Encode returns the key in hex, as a baseline keeps it.
func (k *Key) Encode() string { return hex.EncodeToString(k[:]) }

// ParseKey decodes a key Encode wrote.
func ParseKey(s string) (Key, error) {
	var k Key
	if len(s) != 2*len(k) {
		return k, fmt.Errorf("redaction key is not %d hex digits", 2*len(k))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil || k.Encode() != s {
		return k, fmt.Errorf("redaction key is not %d hex digits", 2*len(k))
	}
	return k, nil
}

// Decode returns the text of a copy Take made. A copy that is not one zstd frame of
// valid text of at most MaxSize bytes is an error.
func Decode(frame []byte) (string, error) {
	if len(frame) == 0 {
		return "", errors.New("stored copy is empty")
	}
	text, err := decoder.DecodeAll(frame, nil)
	if err != nil {
		return "", fmt.Errorf("stored copy does not decode: %w", err)
	}
	if len(text) > MaxSize || !IsText(text) {
		return "", errors.New("stored copy is not text of at most 1 MiB")
	}
	return string(text), nil
}

// One encoder and one decoder serve every goroutine (EncodeAll and DecodeAll are safe
// for concurrent use).
var (
	encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest))
	decoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(MaxSize),
		zstd.WithDecoderMaxWindow(MaxSize))
)

// IsText reports whether b is valid UTF-8 without a NUL byte.
func IsText(b []byte) bool { return bytes.IndexByte(b, 0) < 0 && utf8.Valid(b) }

// IsPrivateKey reports whether b holds a private key block: PEM ("-----BEGIN RSA
// PRIVATE KEY-----", "… ENCRYPTED PRIVATE KEY", "… OPENSSH PRIVATE KEY", "… PGP
// PRIVATE KEY BLOCK"), such a block base64-encoded (a kubeconfig's client-key-data),
// or a PuTTY key file.
func IsPrivateKey(b []byte) bool {
	if isPEMPrivateKey(b) {
		return true
	}
	// "LS0tLS1CRUdJTi" is "-----BEGIN" in base64: the first bytes of each such value
	// are decoded and looked at as a PEM header.
	for rest := b; ; {
		i := bytes.Index(rest, []byte("LS0tLS1CRUdJTi"))
		if i < 0 {
			break
		}
		rest = rest[i:]
		n := 0
		for n < len(rest) && n < 128 && isBase64(rest[n]) {
			n++
		}
		head, _ := base64.StdEncoding.AppendDecode(nil, rest[:n&^3])
		if isPEMPrivateKey(head) {
			return true
		}
		rest = rest[n:]
	}
	return puttyKey.Match(b)
}

// puttyKey is the first line of a PuTTY key file, wherever a line holds it.
var puttyKey = regexp.MustCompile(`(?m)^[\s\x{FEFF}]*PuTTY-User-Key-File-`)

func isBase64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '='
}

// isPEMPrivateKey reports whether b holds the BEGIN line of a PEM private key block.
func isPEMPrivateKey(b []byte) bool {
	for rest := b; ; {
		i := bytes.Index(rest, []byte("-----BEGIN "))
		if i < 0 {
			break
		}
		rest = rest[i+len("-----BEGIN "):]
		line := rest
		if j := bytes.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		if bytes.Contains(line, []byte("PRIVATE KEY")) {
			return true
		}
	}
	return false
}

// neverPaths are recorded paths whose content is never kept, whatever a policy says.
var neverPaths = []string{"/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-"}

// Never reports whether the content of the file at a recorded path is never kept:
// the shadow files (and their backups), wherever a --root puts them.
func Never(p string) bool {
	for _, n := range neverPaths {
		if p == n {
			return true
		}
	}
	return false
}

// DefaultNoDiff are the no_diff patterns every policy has, to which a configuration
// may add its own: key and certificate stores, credentials files, SSH keys (but not
// their .pub halves, which Public lets through).
var DefaultNoDiff = []string{
	"**/*.key", "**/*.pem", "**/*.p12", "**/*.pfx", "**/*.jks", "**/*.keystore", "**/*.keytab",
	"**/id_*", "**/ssh_host_*_key", "**/.git-credentials", "**/.netrc", "**/.pgpass",
	"**/.aws/credentials", "**/.docker/config.json", "/etc/ssl/private/**",
	"/etc/sudoers.d/*.secret",
}

// Public reports whether a path matching a no_diff pattern is a public key all the
// same (its name ends in .pub), which the patterns let through.
func Public(p string) bool { return path.Ext(p) == ".pub" }

// secretLine finds a value to redact in one line: an assignment to a secret-looking
// name (password, passwd, secret, token, api_key, private_key, with a prefix or
// suffix: db_password, client_secret, "token":), or an Authorization header's
// credentials. The value is the whole of it: a quoted one to its closing quote (a
// backslash escaping a double quote), or the end of the line when none closes it; an
// unquoted one to the end of the line, spaces, commas and semicolons included
// ("correct horse battery", "abc;def"): what follows a secret on its line may be more
// of it, and is redacted with it ("Password=abc;Database=x" shows neither).
var secretLine = regexp.MustCompile(`(?i)` +
	`(?:(?:pass(?:wd|word|phrase)?|secret|token|api[_-]?key|private[_-]?key|credentials?)[\w.-]*["']?\s*[:=]\s*` +
	`|\b(?:bearer|basic)\s+)` +
	`(?:"((?:[^"\\\r\n]|\\[^\r\n])+)|'([^'\r\n]+)|([^\s"'](?:[^\r\n]*\S)?))`)

// nssLine is a line of nsswitch.conf for the passwd database, which secretLine's
// "passwd" would take for a secret: "passwd:" (or "passwd_compat:") followed only by
// NSS services and bracketed status actions ("files systemd", "sss [NOTFOUND=return]
// files"). Such a value names where accounts are looked up, and is a word of that
// closed list, never a secret; any other word after "passwd:" ("passwd: hunter2") is
// redacted as before.
var nssLine = regexp.MustCompile(`^\s*passwd(?:_compat)?\s*:(?:\s+(?:` +
	`files|db|dns|nis|nisplus|compat|hesiod|ldap|sss|systemd|winbind|wins|mymachines|myhostname|` +
	`resolve|mdns[46]?(?:_minimal)?|altfiles|cache|usrfiles|extrausers|libvirt(?:_guest)?|` +
	`\[!?[A-Za-z]+=[a-z]+(?:\s+!?[A-Za-z]+=[a-z]+)*\]))+\s*(?:#.*)?$`)

// xmlSecret finds the text of an XML element of a secret-looking name
// ("<password>VALUE</password>", Maven's settings.xml), to the next tag.
var xmlSecret = regexp.MustCompile(`(?i)<[\w.:-]*(?:pass(?:wd|word|phrase)?|secret|token|api[_-]?key|private[_-]?key|credentials?)[\w.:-]*(?:\s[^<>]*)?>([^<\r\n]+)`)

// urlPassword finds the password of a URL's user information
// ("postgres://app:PASSWORD@db/x"), to the URL's last "@" before its path.
var urlPassword = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s/?#@:]*:([^\s/?#]+)@`)

// cryptHash is a password hash in crypt's modular format ($ID$[PARAMS$]SALT$HASH:
// $6$, $y$, $2b$, $apr1$, $argon2id$…), as the shadow file and htpasswd keep them.
var cryptHash = regexp.MustCompile(`\$[0-9a-z-]{1,10}\$(?:[^$\s:]*\$){1,3}[./A-Za-z0-9+=]{16,}`)

// mayHoldHash is cryptHash's cheap test: a "$" with another close after it.
func mayHoldHash(line []byte) bool {
	for i := bytes.IndexByte(line, '$'); i >= 0; {
		next := bytes.IndexByte(line[i+1:], '$')
		if next < 0 {
			return false
		}
		if next >= 1 && next <= 10 {
			return true
		}
		i += 1 + next
	}
	return false
}

// awsKey is an AWS access key id.
var awsKey = regexp.MustCompile(`\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b`)

// keywords are what a line must hold (in lower case) for secretLine, xmlSecret,
// urlPassword, awsKey or a PEM block to apply (cryptHash: mayHoldHash): a cheap test that
// spares most lines the expressions.
var keywords = [][]byte{[]byte("pass"), []byte("secret"), []byte("token"), []byte("key"), []byte("bearer"),
	[]byte("basic"), []byte("credential"), []byte("-----begin"), []byte("akia"), []byte("asia"),
	[]byte("agpa"), []byte("aida"), []byte("aroa"), []byte("anpa"), []byte("://")}

// Redact returns text with secrets' values replaced by "[redacted: H]", H being the
// first 8 hex digits of the value's BLAKE3 keyed with key: the value of every assignment secretLine
// matches, the text of XML elements of such names, Authorization credentials, the passwords of URLs,
// password hashes in crypt's format, AWS access key ids, and the body of every PEM
// block (one line for the whole body, between its BEGIN and END lines) and of every
// YAML block scalar of a secret-looking key (one line for its lines). Everything
// else, line breaks included, is kept as it was.
func Redact(text []byte, key *Key) []byte {
	keywords := hasKeyword(text)
	if !keywords && !mayHoldHash(text) {
		return text
	}
	out := make([]byte, 0, len(text))
	var pem []byte // the body of the PEM block or YAML block scalar being read, or nil outside one
	inPEM := false
	yamlIndent := -1 // the indentation of the key of the YAML block scalar being read
	for len(text) > 0 {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line = text[:i+1]
		}
		text = text[len(line):]
		body := bytes.TrimRight(line, "\r\n")
		if yamlIndent >= 0 {
			if len(bytes.TrimSpace(body)) == 0 || len(body)-len(bytes.TrimLeft(body, " \t")) > yamlIndent {
				pem = append(pem, line...)
				continue
			}
			if len(pem) > 0 {
				out = appendRedacted(out, pem, key)
				out = append(out, '\n')
			}
			yamlIndent, pem = -1, nil
		}
		switch {
		case inPEM && bytes.HasPrefix(bytes.TrimSpace(body), []byte("-----END ")):
			out = appendRedacted(out, pem, key)
			out = append(out, '\n')
			out = append(out, line...)
			inPEM, pem = false, nil
		case inPEM:
			pem = append(pem, line...)
		case bytes.HasPrefix(bytes.TrimSpace(body), []byte("-----BEGIN ")):
			out = append(out, line...)
			inPEM, pem = true, []byte{}
		default:
			out = redactLine(out, line, key, keywords)
			if m := yamlBlock.FindSubmatchIndex(body); m != nil {
				yamlIndent, pem = m[3]-m[2], []byte{}
			}
		}
	}
	if inPEM || len(pem) > 0 { // a block at the end, or without its END: its body is redacted all the same
		out = appendRedacted(out, pem, key)
		out = append(out, '\n')
	}
	return out
}

// yamlBlock is the key line of a YAML block scalar ("password: |", "- token: >-") of a
// secret-looking name: the lines indented more than the line, and blank ones, are its
// value.
var yamlBlock = regexp.MustCompile(`(?i)^([ \t]*)(?:-[ \t]+)*["']?[\w.-]*(?:pass(?:wd|word|phrase)?|secret|token|api[_-]?key|private[_-]?key|credentials?)[\w.-]*["']?[ \t]*:[ \t]*[|>][-+0-9]*[ \t]*(?:#.*)?$`)

func hasKeyword(b []byte) bool {
	lower := bytes.ToLower(b)
	for _, k := range keywords {
		if bytes.Contains(lower, k) {
			return true
		}
	}
	return false
}

// The expressions whose last group is a value to redact: the element's text, the
// URL's password, the whole hash or key id.
var (
	allValues  = []*regexp.Regexp{xmlSecret, urlPassword, cryptHash, awsKey}
	hashValues = []*regexp.Regexp{cryptHash}
)

// redactLine appends line to out with the values secretLine and the expressions of
// values find redacted; keywords says whether the text holds any of keywords.
func redactLine(out, line []byte, key *Key, keywords bool) []byte {
	keyword := keywords && hasKeyword(line)
	if !keyword && !mayHoldHash(line) {
		return append(out, line...)
	}
	var spans [][2]int   // value spans, in order, not overlapping
	values := hashValues // all a line without a keyword may hold
	if keyword {
		values = allValues
	}
	if keyword && !nssLine.Match(bytes.TrimRight(line, "\r\n")) {
		for _, m := range secretLine.FindAllSubmatchIndex(line, -1) {
			for g := 2; g < len(m); g += 2 { // the one alternative of the value that matched
				if m[g] >= 0 {
					spans = append(spans, [2]int{m[g], m[g+1]})
					break
				}
			}
		}
	}
	for _, re := range values {
		for _, m := range re.FindAllSubmatchIndex(line, -1) {
			if v := m[len(m)-2:]; !covered(spans, v[0], v[1]) {
				spans = append(spans, [2]int{v[0], v[1]})
			}
		}
	}
	if len(spans) == 0 {
		return append(out, line...)
	}
	sortSpans(spans)
	at := 0
	for _, s := range spans {
		if s[0] < at {
			continue
		}
		out = append(out, line[at:s[0]]...)
		out = appendRedacted(out, line[s[0]:s[1]], key)
		at = s[1]
	}
	return append(out, line[at:]...)
}

func covered(spans [][2]int, a, b int) bool {
	for _, s := range spans {
		if a < s[1] && b > s[0] {
			return true
		}
	}
	return false
}

func sortSpans(s [][2]int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j][0] < s[j-1][0]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// Marker is how a redacted value begins.
const Marker = "[redacted: "

func appendRedacted(out, value []byte, key *Key) []byte {
	h, _ := blake3.NewKeyed(key[:]) // a 32-byte key: no error
	h.Write(value)
	var sum [32]byte
	out = append(out, Marker...)
	out = hex.AppendEncode(out, h.Sum(sum[:0])[:4])
	return append(out, ']')
}
