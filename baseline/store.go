// Package baseline owns the snapshot on disk: a bbolt database holding a compact binary
// record per entry, in blocks of consecutive entries keyed by the tree.Key(path) of
// their first (less a common directory prefix, see Meta.KeyBase), each later key stored
// as what it adds to the one before (block.go), so that iteration follows the walk's order,
// and a meta bucket (format version, fim version, creation time, host, options, count,
// generation, accept history and a BLAKE3 digest of every record and of the rest of the
// meta). A baseline is always written to a new file beside the old one and renamed over
// it, so a crash leaves the previous baseline intact.
//
// The digest seals the whole meta with the records: a reader checks it once it has read
// every record (Reader.Entries at its end, Validate), and a signature covers the meta
// and so the digest. The meta is accepted only in its canonical encoding (the bytes
// json.Marshal gives), so what is digested is exactly what is read.
package baseline

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fim/tree"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zeebo/blake3"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"golang.org/x/sys/unix"
)

// FormatVersion is the version of the database layout this fim reads and writes.
// Version 3 stores the entries in blocks (block.go), half the size of version 2's one
// bbolt key per entry; version 2 is refused (make the baseline again). Version 2
// digests the meta with the records; version 1 digested only the records, so its meta
// could be edited unnoticed, and it is refused too.
const FormatVersion = 3

const magic = "fim-baseline"

var (
	bucketMeta    = []byte("meta")
	bucketEntries = []byte("entries")
	keyMagic      = []byte("magic")
	keyFormat     = []byte("format")
	keyInfo       = []byte("info")
)

// ErrBadBaseline is wrapped by every error that makes a baseline unusable: missing,
// empty (no bytes, or no entries), truncated, corrupt, foreign, or of an unknown format version.
var ErrBadBaseline = errors.New("unusable baseline")

// ErrLocked is returned when another fim holds the baseline.
var ErrLocked = errors.New("baseline is locked by another fim")

func bad(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrBadBaseline, path, fmt.Sprintf(format, args...))
}

// Meta describes a baseline.
type Meta struct {
	Format     int             `json:"format"`
	FimVersion string          `json:"fim_version"`
	Created    time.Time       `json:"created"`
	Host       string          `json:"host"`
	HostID     string          `json:"host_id,omitempty"`
	Policy     json.RawMessage `json:"policy"` // the options the walk used, opaque here
	Entries    uint64          `json:"entries"`
	// Generation counts the baselines written at this path: 1 for the first, one more
	// for each that replaced it (check --update, watch --update, accept, a new
	// baseline over a readable one). A check can refuse one older than it last saw.
	Generation uint64 `json:"generation"`
	// Digest seals the baseline: BLAKE3 over every block (key and value, so every
	// record) in order, and over this meta as encoded with Digest empty (see seal).
	Digest string `json:"digest"`
	KeyID  string `json:"key_id,omitempty"` // the key that signed it (KeyID), if signed
	// KeyBase is a directory above every recorded path whose bytes are left out of the
	// keys ("": none): the roots' common parent, which every key would repeat.
	KeyBase string `json:"key_base,omitempty"`
	// Packages is the digest of the package snapshot kept beside the baseline (see
	// package provenance), "" when there is none: the meta's Digest and signature seal
	// it with the records.
	Packages string `json:"packages,omitempty"`
	// Accepted is the history of fim accept on this baseline and those it was made
	// from, oldest first, at most MaxAccepted.
	Accepted []Acceptance `json:"accepted,omitempty"`
	// CopyStats counts the copies of files' content kept beside the records (see
	// bucketCopies); the Digest covers them.
	CopyStats
	// CopyKey is the key of the digests that stand for the secrets redacted in the
	// copies (textcopy.Key, in hex), made with the first baseline of a policy that keeps
	// copies and carried by its successors; "" when none was made. Like the copies, it
	// is kept only in this file (0600), and fim never shows it.
	CopyKey string `json:"copy_key,omitempty"`
}

// Acceptance records one fim accept: who accepted which differences into the baseline,
// and when.
type Acceptance struct {
	Time      time.Time `json:"time"`
	User      string    `json:"user,omitempty"` // name of the user fim ran as, if known
	UID       int       `json:"uid"`
	Selectors []string  `json:"selectors"` // the selecting flags, as given ("--path=/etc/**")
	Accepted  int       `json:"accepted"`  // differences accepted
	Remaining int       `json:"remaining"` // differences left as they were, still reported
}

// MaxAccepted is how many acceptances Meta.Accepted keeps.
const MaxAccepted = 100

// AddAcceptance appends a to the history, dropping the oldest beyond MaxAccepted.
func (m *Meta) AddAcceptance(a Acceptance) {
	h := append(m.Accepted[:len(m.Accepted):len(m.Accepted)], a)
	if len(h) > MaxAccepted {
		h = slices.Clone(h[len(h)-MaxAccepted:])
	}
	m.Accepted = h
}

// KeyBaseFor returns the KeyBase for a walk of roots: the deepest directory that holds
// every root strictly below it.
func KeyBaseFor(roots []string) string {
	base := ""
	for i, r := range roots {
		parent := filepath.Dir(r)
		if i == 0 {
			base = parent
			continue
		}
		for !tree.IsWithin(parent, base) {
			base = filepath.Dir(base)
		}
	}
	if base == "/" || base == "." {
		return ""
	}
	return base
}

// keyOf is the key of path under base; ok is false for a path not below base.
func keyOf(base, path string) ([]byte, bool) { return appendKeyOf(nil, base, path) }

// appendKeyOf appends the key of path under base to dst, as keyOf.
func appendKeyOf(dst []byte, base, path string) ([]byte, bool) {
	if base == "" {
		return tree.AppendKey(dst, path), true
	}
	if len(path) <= len(base) || path[len(base)] != '/' || path[:len(base)] != base {
		return dst, false
	}
	return tree.AppendKey(dst, path[len(base):]), true
}

func pathOf(base string, key []byte) string { return tree.JoinKey(base, key) }

// digest accumulates the canonical digest of a sequence of records.
type digest struct {
	h   *blake3.Hasher
	buf []byte
}

func newDigest() *digest { return &digest{h: blake3.New()} }

func (d *digest) add(key, val []byte) {
	d.buf = binary.AppendUvarint(d.buf[:0], uint64(len(key)))
	d.buf = append(d.buf, key...)
	d.buf = binary.AppendUvarint(d.buf, uint64(len(val)))
	d.h.Write(d.buf)
	d.h.Write(val)
}

// sealContext starts what seal hashes, so that no other BLAKE3 input can pass for it.
const sealContext = "fim baseline meta v2\x00"

// seal returns the meta's Digest: BLAKE3 over the records' digest, the copies' digest
// (nil when the meta counts no copies, see checkCopies) and body, the meta encoded with
// Digest empty. The digests have a fixed length and the meta says whether there are
// copies, so body is all the rest: no two (records, copies, meta) hash the same input.
func (d *digest) seal(copies, body []byte) string {
	h := blake3.New()
	h.WriteString(sealContext)
	h.Write(d.h.Sum(nil))
	h.Write(copies)
	h.Write(body)
	return "blake3:" + hex.EncodeToString(h.Sum(nil))
}

// metaBody is the meta as seal hashes it: canonically encoded, with Digest empty.
func metaBody(m Meta) ([]byte, error) {
	m.Digest = ""
	return json.Marshal(m)
}

// LockTimeout is how long Create waits for another fim to release the baseline.
var LockTimeout = 2 * time.Second

// Writer builds a new baseline. Entries must be added in key order.
type Writer struct {
	path, tmp string
	lock      *os.File
	file      *os.File // tmp, held open so that a walk knows it (see Files)
	db        *bolt.DB
	tx        *bolt.Tx
	bucket    *bolt.Bucket
	pending   int
	count     uint64
	lastKey   []byte
	// KeyBase, set before the first Add, leaves the roots' common parent out of the keys
	// (see Meta.KeyBase).
	KeyBase string
	// Signer, if set, signs the baseline on Commit.
	Signer ed25519.PrivateKey
	arena  []byte
	block  blockWriter
	dig    *digest
	copies *bolt.Bucket // nil until the first copy
	cdig   *digest
	stats  CopyStats
}

const batchSize = 10000

// Create starts a new baseline that will replace path on Commit. It takes path's lock
// (path + ".lock"), waiting at most LockTimeout.
func Create(path string) (*Writer, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	lock, err := Lock(path)
	if err != nil {
		return nil, err
	}
	removeStale(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		lock.Close()
		return nil, err
	}
	tmp := f.Name()
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(tmp)
		lock.Close()
		return nil, err
	}
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{NoSync: true, NoFreelistSync: true, NoGrowSync: true,
		InitialMmapSize: 1 << 30, Timeout: time.Second})
	if err != nil {
		f.Close()
		os.Remove(tmp)
		lock.Close()
		return nil, fmt.Errorf("create %s: %w", tmp, err)
	}
	w := &Writer{path: path, tmp: tmp, lock: lock, file: f, db: db, dig: newDigest()}
	if err := w.begin(); err != nil {
		w.Abort()
		return nil, err
	}
	return w, nil
}

// removeStale removes the temporary files that writers killed before Commit or Abort
// left beside path. The caller holds path's lock, so no live writer is using one. Only
// files a writer could have left are removed: regular, fim's own user's, mode 0600
// and one link. Anything else under such a name is left for a walk to report.
func removeStale(path string) {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+".tmp-"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		var st unix.Stat_t
		p := filepath.Join(dir, e.Name())
		if unix.Lstat(p, &st) == nil && st.Mode == unix.S_IFREG|0o600 && st.Uid == uint32(os.Geteuid()) && st.Nlink == 1 {
			os.Remove(p)
		}
	}
}

// TempPattern returns the lock beside path and the name prefix of the temporary files a
// Writer makes there.
func TempPattern(path string) (lock, tmpPrefix string) {
	return path + ".lock", filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
}

// Lock takes the exclusive lock that guards path against a second writer.
func Lock(path string) (*os.File, error) {
	lockPath, _ := TempPattern(path)
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(LockTimeout)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", lockPath, err)
		}
		if time.Now().After(deadline) {
			holder, _ := os.ReadFile(lockPath)
			f.Close()
			if pid := string(bytes.TrimSpace(holder)); pid != "" {
				return nil, fmt.Errorf("%w: %s (pid %s), gave up after %v", ErrLocked, path, pid, LockTimeout)
			}
			return nil, fmt.Errorf("%w: %s, gave up after %v", ErrLocked, path, LockTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The pid is only a hint for the message of a writer that gives up waiting: the
	// flock is the lock, so a pid that cannot be written (a full disk) is no failure.
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

func (w *Writer) begin() error {
	tx, err := w.db.Begin(true)
	if err != nil {
		return err
	}
	b, err := tx.CreateBucketIfNotExists(bucketEntries)
	if err != nil {
		tx.Rollback()
		return err
	}
	b.FillPercent = 1.0 // keys arrive in order: pack pages full
	w.tx, w.bucket = tx, b
	if w.copies != nil {
		w.copies = tx.Bucket(bucketCopies)
		w.copies.FillPercent = 1.0
	}
	return nil
}

// Add records e. Entries must come in strictly increasing key order.
func (w *Writer) Add(e *tree.Entry) error {
	key, ok := keyOf(w.KeyBase, e.Path)
	if !ok {
		return fmt.Errorf("baseline: %q is not below the key base %q", e.Path, w.KeyBase)
	}
	if w.lastKey != nil && bytes.Compare(key, w.lastKey) <= 0 {
		return fmt.Errorf("baseline: %q added out of order", e.Path)
	}
	if !w.block.add(key, e) {
		if err := w.flush(); err != nil {
			return err
		}
		w.block.add(key, e)
	}
	if err := w.addCopy(key, e); err != nil {
		return err
	}
	w.lastKey = append(w.lastKey[:0], key...)
	w.count++
	return nil
}

// flush stores the block being built, if it holds entries, and commits the
// transaction every batchSize entries.
func (w *Writer) flush() error {
	if w.block.n == 0 {
		return nil
	}
	// bbolt keeps the key and value slices until the transaction commits: carve them
	// from an arena that is reused only after the commit.
	start := len(w.arena)
	w.arena = append(w.arena, w.block.key...)
	w.arena = append(w.arena, w.block.val...)
	key := w.arena[start : start+len(w.block.key) : start+len(w.block.key)]
	val := w.arena[start+len(key) : len(w.arena) : len(w.arena)]
	if err := w.bucket.Put(key, val); err != nil {
		return fmt.Errorf("write %s: %w", w.tmp, err)
	}
	w.dig.add(key, val)
	w.pending += w.block.n
	w.block.n = 0
	if w.pending >= batchSize {
		if err := w.tx.Commit(); err != nil {
			return fmt.Errorf("write %s: %w", w.tmp, err)
		}
		w.pending = 0
		w.arena = w.arena[:0]
		return w.begin()
	}
	return nil
}

// Commit writes the meta, makes the new baseline durable and renames it over the old one.
// A baseline that Open would refuse (one of no entries) is not written: Commit aborts,
// leaves the old baseline as it was and returns an ErrBadBaseline error.
func (w *Writer) Commit(m Meta) error {
	if err := w.flush(); err != nil {
		w.Abort()
		return err
	}
	m.Format = FormatVersion
	m.Entries = w.count
	m.KeyID = ""
	m.KeyBase = w.KeyBase
	m.CopyStats = w.stats
	if m.Generation == 0 {
		m.Generation = 1
	}
	if w.Signer != nil {
		m.KeyID = KeyID(w.Signer.Public().(ed25519.PublicKey))
	}
	body, err := metaBody(m)
	if err != nil {
		w.Abort()
		return err
	}
	var copies []byte
	if w.cdig != nil {
		copies = w.cdig.h.Sum(nil)
	}
	m.Digest = w.dig.seal(copies, body)
	info, err := json.Marshal(m)
	if err != nil {
		w.Abort()
		return err
	}
	// Never replace a baseline with one that Open refuses: the meta is checked as
	// Open checks it, before anything is renamed.
	var sig []byte
	if w.Signer != nil {
		sig = ed25519.Sign(w.Signer, signedMessage(info))
	}
	if _, err := decodeMeta([]byte(magic), []byte(strconv.Itoa(FormatVersion)), info, sig); err != nil {
		w.Abort()
		return fmt.Errorf("%w: new %s refused: %v", ErrBadBaseline, w.path, err)
	}
	err = w.finish(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if err := b.Put(keyMagic, []byte(magic)); err != nil {
			return err
		}
		if err := b.Put(keyFormat, []byte(strconv.Itoa(FormatVersion))); err != nil {
			return err
		}
		if sig != nil {
			if err := b.Put(keySignature, sig); err != nil {
				return err
			}
		}
		return b.Put(keyInfo, info)
	})
	if err != nil {
		w.Abort()
		return fmt.Errorf("write %s: %w", w.tmp, err)
	}
	if err := os.Rename(w.tmp, w.path); err != nil {
		w.Abort()
		return err
	}
	// The new baseline is in place; the rename is durable once its directory is synced.
	// A failure here leaves the new baseline readable but not known to survive a crash:
	// it is an error, not a silence.
	d, err := os.Open(filepath.Dir(w.path))
	if err == nil {
		err = d.Sync()
		d.Close()
	}
	w.file.Close()
	w.lock.Close()
	if err != nil {
		return fmt.Errorf("sync the directory of %s after replacing it: %w", w.path, err)
	}
	return nil
}

// Files returns the files the writer holds open until Commit or Abort: the lock and
// the new baseline. A walk leaves them out (walk.OwnFiles).
func (w *Writer) Files() []*os.File { return []*os.File{w.lock, w.file} }

func (w *Writer) finish(meta func(*bolt.Tx) error) error {
	if err := meta(w.tx); err != nil {
		return err
	}
	if err := w.tx.Commit(); err != nil {
		return err
	}
	w.tx = nil
	if err := w.db.Sync(); err != nil {
		return err
	}
	err := w.db.Close()
	w.db = nil
	return err
}

// Abort discards the new baseline; the old one is untouched.
func (w *Writer) Abort() {
	if w.tx != nil {
		w.tx.Rollback()
		w.tx = nil
	}
	if w.db != nil {
		w.db.Close()
		w.db = nil
	}
	os.Remove(w.tmp)
	w.file.Close()
	w.lock.Close()
}

// Reader reads a baseline. It holds one read transaction for its lifetime.
type Reader struct {
	path  string
	files []*os.File // the database (the very file bbolt maps) and its lock, if any
	db    *bolt.DB
	tx    *bolt.Tx
	meta  Meta
	size  int64 // bytes of the file, all mapped
	// info is the meta as stored, and signature its signature (nil: unsigned); body is
	// the meta as the digest seals it (metaBody).
	info, signature, body []byte
	// gets keeps Get's cursors, on this Reader's transaction, and key buffers.
	gets  sync.Pool
	ahead *sync.WaitGroup // the request to read the file ahead (readAhead)
}

// Open opens the baseline at path read-only and validates that it is a complete fim
// database of a known format. Every failure wraps ErrBadBaseline.
func Open(path string) (r *Reader, err error) {
	f, err := precheck(path)
	if err != nil {
		return nil, err
	}
	ahead := readAhead(f)
	files := []*os.File{f}
	closeFiles := func() {
		ahead.Wait()
		for _, f := range files {
			f.Close()
		}
	}
	defer guard(path, &err, func() { closeFiles(); r = nil })()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: LockTimeout})
	if err != nil {
		closeFiles()
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, bad(path, "not a fim database (%v)", err)
	}
	// bbolt opened path again: it must have found the file checked above.
	if st, err := os.Stat(path); err != nil || !sameFile(f, st) {
		db.Close()
		closeFiles()
		return nil, bad(path, "replaced while it was being opened")
	}
	lockPath, _ := TempPattern(path)
	if lf, err := os.OpenFile(lockPath, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0); err == nil {
		files = append(files, lf)
	}
	tx, err := db.Begin(false)
	if err != nil {
		db.Close()
		closeFiles()
		return nil, bad(path, "%v", err)
	}
	r = &Reader{path: path, files: files, db: db, tx: tx, ahead: ahead}
	if st, err := os.Stat(path); err == nil {
		r.size = st.Size()
	}
	if err := r.readMeta(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// readAhead asks the kernel to read the whole database file into the page cache, in
// the background: a check reads every record through the mapping, in key order or as
// lookups following the walk, and on a cold cache each page would otherwise come from
// disk on its own fault, in the walk's way. The request (which returns once the reads
// are queued) is made on a goroutine of its own, which the returned group waits for:
// the file is closed only after it.
func readAhead(f *os.File) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Go(func() { unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_WILLNEED) })
	return &wg
}

func (r *Reader) readMeta() error {
	b := r.tx.Bucket(bucketMeta)
	if b == nil {
		return bad(r.path, "not a fim database (a bbolt file without fim's meta)")
	}
	meta, err := decodeMeta(b.Get(keyMagic), b.Get(keyFormat), b.Get(keyInfo), b.Get(keySignature))
	if err != nil {
		return bad(r.path, "%v", err)
	}
	r.meta, r.info = meta, bytes.Clone(b.Get(keyInfo))
	if r.body, err = metaBody(meta); err != nil {
		return bad(r.path, "corrupt meta: %v", err)
	}
	if sig := b.Get(keySignature); sig != nil {
		r.signature = bytes.Clone(sig)
	}
	if r.tx.Bucket(bucketEntries) == nil {
		return bad(r.path, "corrupt database: no entries bucket")
	}
	return nil
}

// decodeMeta decodes and validates the meta bucket's values. It never panics.
func decodeMeta(magicVal, formatVal, info, sig []byte) (Meta, error) {
	var m Meta
	if !bytes.Equal(magicVal, []byte(magic)) {
		return m, errors.New("not a fim database (a bbolt file without fim's meta)")
	}
	format, err := strconv.Atoi(string(formatVal))
	if err != nil || strconv.Itoa(format) != string(formatVal) {
		return m, fmt.Errorf("corrupt meta: format %q", formatVal)
	}
	switch {
	case format == 1:
		return m, errors.New("format version 1, whose meta is not covered by its digest: make the baseline again with this fim (fim baseline)")
	case format == 2:
		return m, errors.New("format version 2, an older layout of the records: make the baseline again with this fim (fim baseline)")
	case format != FormatVersion:
		return m, fmt.Errorf("format version %d, this fim reads version %d (upgrade fim, or make a new baseline)", format, FormatVersion)
	}
	if err := json.Unmarshal(info, &m); err != nil {
		return m, fmt.Errorf("corrupt meta: %v", err)
	}
	if canon, err := json.Marshal(m); err != nil || !bytes.Equal(canon, info) {
		return m, errors.New("corrupt meta: not in the encoding fim writes")
	}
	switch {
	case m.Format != FormatVersion:
		return m, fmt.Errorf("corrupt meta: format %d inside, %d outside", m.Format, format)
	case len(m.Digest) != len("blake3:")+64 || !strings.HasPrefix(m.Digest, "blake3:") || !isLowerHex(m.Digest[len("blake3:"):]):
		return m, fmt.Errorf("corrupt meta: digest %q", m.Digest)
	case m.Generation == 0:
		return m, errors.New("corrupt meta: generation 0")
	case m.KeyBase != "" && (m.KeyBase[0] != '/' || filepath.Clean(m.KeyBase) != m.KeyBase || m.KeyBase == "/"):
		return m, fmt.Errorf("corrupt meta: key base %q", m.KeyBase)
	case m.CopyKey != "" && (len(m.CopyKey) != 64 || !isLowerHex(m.CopyKey)):
		return m, errors.New("corrupt meta: copy key")
	case sig != nil && len(sig) != ed25519.SignatureSize:
		return m, fmt.Errorf("corrupt signature (%d bytes)", len(sig))
	case m.Entries == 0:
		return m, errors.New("no entries recorded, nothing to check a tree against")
	}
	return m, nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// release drops the pages of the mapped file from this process's page tables. A
// full iteration would otherwise count the whole database in the resident set; the
// pages stay in the page cache, and come back with a minor fault when touched again.
// The mapping is shared and read-only, so nothing is lost.
func (r *Reader) release() {
	if r.size <= 0 {
		return
	}
	info := r.db.Info()
	page := int64(os.Getpagesize())
	size := (r.size + page - 1) / page * page
	unix.Syscall(unix.SYS_MADVISE, info.Data, uintptr(size), unix.MADV_DONTNEED)
}

// Meta returns the baseline's meta.
func (r *Reader) Meta() Meta { return r.meta }

// Path returns the file the baseline was read from.
func (r *Reader) Path() string { return r.path }

// Files returns the files the reader holds open until Close: the database and its
// lock file, if there is one. A walk leaves them out (walk.OwnFiles).
func (r *Reader) Files() []*os.File { return r.files }

// Close releases the database.
func (r *Reader) Close() error {
	if r.tx != nil {
		r.tx.Rollback()
	}
	r.ahead.Wait()
	for _, f := range r.files {
		f.Close()
	}
	return r.db.Close()
}

// sameFile reports whether st is the file open as f.
func sameFile(f *os.File, st os.FileInfo) bool {
	fst, err := f.Stat()
	return err == nil && os.SameFile(fst, st)
}

// Iter returns an iterator over the entries in key order, for one goroutine at a time.
func (r *Reader) Iter() *Iter {
	return &Iter{r: r, dig: newDigest()}
}

// Entries is every entry in key order, as a walk of the tree delivers them, checked at
// the end against the digest (Iter.Entries). It ends when ctx is done, with ctx's error.
func (r *Reader) Entries(ctx context.Context) tree.Seq {
	return r.Iter().Entries(ctx)
}

// Iter iterates over a baseline's entries and checks, at the end, that they are exactly
// those the baseline was written with.
type Iter struct {
	r       *Reader
	ec      *entryCursor // made by the first next, under its guard
	started bool
	done    bool
	count   uint64
	dig     *digest

	// Entries Prior decoded, handed out again by next when it reads the same bytes.
	looked *lookedUp
}

// Entries is the entries in key order, each read under the fault guard on the
// goroutine that reads it. At the end it verifies the record count and digest against
// the meta; a mismatch, or a damaged or truncated file, is an ErrBadBaseline error. It
// ends when ctx is done, with ctx's error. It is read once.
func (it *Iter) Entries(ctx context.Context) tree.Seq {
	return func(yield func(*tree.Entry, error) bool) {
		for {
			e, err := it.next()
			if err == nil && e != nil {
				err = ctx.Err()
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if e == nil || !yield(e, nil) {
				return
			}
		}
	}
}

// next returns the next entry, or nil at the end (see Entries).
func (it *Iter) next() (e *tree.Entry, err error) {
	if it.done {
		return nil, nil
	}
	defer guard(it.r.path, &err, func() { it.done, e = true, nil })()
	var ok bool
	if !it.started {
		// Each block is read from a copy of it, once: what it digests is what it
		// decodes, whatever happens to the file meanwhile.
		it.ec = &entryCursor{c: it.r.tx.Bucket(bucketEntries).Cursor(), copy: true, onBlock: it.block}
		it.started = true
		ok, err = it.ec.first()
	} else {
		ok, err = it.ec.next()
	}
	br := &it.ec.br
	if err != nil {
		it.done = true
		return nil, bad(it.r.path, "record %q: %v", pathOf(it.r.meta.KeyBase, br.key), err)
	}
	if !ok {
		it.done = true
		copies, err := it.r.checkCopies()
		if err != nil {
			return nil, bad(it.r.path, "corrupt database: %v", err)
		}
		if it.count != it.r.meta.Entries || it.dig.seal(copies, it.r.body) != it.r.meta.Digest {
			if it.r.signature != nil {
				return nil, bad(it.r.path, "records or meta do not match the digest in its signed meta: altered since it was signed")
			}
			return nil, bad(it.r.path, "corrupt database: records or meta do not match the digest in its meta")
		}
		return nil, nil
	}
	it.count++
	if it.count%8192 == 0 {
		it.r.release()
	}
	if it.looked != nil {
		if e := it.looked.take(br.key, br.base(), br.rec); e != nil {
			return e, it.r.attachCopy(e) // decoded by Prior from the bytes just digested
		}
	}
	e = &tree.Entry{Path: pathOf(it.r.meta.KeyBase, br.key)}
	if err := br.decode(e); err != nil {
		it.done = true
		return nil, bad(it.r.path, "record %q: %v", e.Path, err)
	}
	return e, it.r.attachCopy(e)
}

// block digests a block the iterator reaches, and checks that its first key follows
// the last key of the block before.
func (it *Iter) block(k, v []byte) error {
	if it.count > 0 && bytes.Compare(k, it.ec.br.key) <= 0 {
		return fmt.Errorf("%w: block out of order", errRecord)
	}
	it.dig.add(k, v)
	return nil
}

// getter is one Get's cursor on the entries and buffer for the key looked up.
type getter struct {
	ec  entryCursor
	key []byte
}

// Get returns the entry recorded for path, or nil. Like Iter.Entries, it turns a damaged page
// (a bbolt assertion or a memory fault) into an ErrBadBaseline error.
func (r *Reader) Get(path string) (e *tree.Entry, err error) {
	defer guard(r.path, &err, func() { e = nil })()
	g, _ := r.gets.Get().(*getter)
	if g == nil {
		g = &getter{ec: entryCursor{c: r.tx.Bucket(bucketEntries).Cursor()}}
	}
	defer r.gets.Put(g)
	var ok bool
	if g.key, ok = appendKeyOf(g.key[:0], r.meta.KeyBase, path); !ok {
		return nil, nil
	}
	ok, err = g.ec.get(g.key)
	if err != nil {
		return nil, bad(r.path, "block %q: %v", pathOf(r.meta.KeyBase, g.ec.br.blockKey), err)
	}
	if !ok {
		return nil, nil
	}
	e = &tree.Entry{Path: path}
	if err := g.ec.br.decode(e); err != nil {
		return nil, bad(r.path, "record %q: %v", path, err)
	}
	return e, r.attachCopy(e)
}

// TempPath returns the file the new baseline is being written to.
func (w *Writer) TempPath() string { return w.tmp }

// Count returns the number of entries added so far.
func (w *Writer) Count() uint64 { return w.count }

// Subtree is the entry recorded at path and every entry below it, in key order. A
// damaged or truncated file is an ErrBadBaseline error; each entry is read under the
// fault guard and yielded outside it, so that the consumer's own panics stay panics.
func (r *Reader) Subtree(path string) tree.Seq {
	return func(yield func(*tree.Entry, error) bool) {
		base := r.meta.KeyBase
		prefix, ok := keyOf(base, path)
		if !ok {
			if base == "" || !tree.IsWithin(base, path) {
				return // nothing recorded there
			}
			prefix = nil // path holds the base: everything
		}
		all := prefix == nil || base == "" && path == "/"
		var ec entryCursor
		// next reads the next entry under the prefix, or nil after the last.
		next := func() (e *tree.Entry, err error) {
			defer guard(r.path, &err, func() { e = nil })()
			var ok bool
			switch {
			case ec.c != nil:
				ok, err = ec.next()
			case all:
				ec.c = r.tx.Bucket(bucketEntries).Cursor()
				ok, err = ec.first()
			default:
				ec.c = r.tx.Bucket(bucketEntries).Cursor()
				ok, err = ec.seek(prefix)
			}
			k := ec.br.key
			if err != nil {
				return nil, bad(r.path, "record %q: %v", pathOf(base, k), err)
			}
			if !ok || !all && (!bytes.HasPrefix(k, prefix) || len(k) > len(prefix) && k[len(prefix)] != 0) {
				return nil, nil
			}
			e = &tree.Entry{Path: pathOf(base, k)}
			if err := ec.br.decode(e); err != nil {
				return nil, bad(r.path, "record %q: %v", e.Path, err)
			}
			return e, r.attachCopy(e)
		}
		for {
			e, err := next()
			if err != nil {
				yield(nil, err)
				return
			}
			if e == nil || !yield(e, nil) {
				return
			}
		}
	}
}

// guard makes a memory fault on the calling goroutine a panic rather than the end of
// the process while one read of the mapped database lasts (a file cut short under fim
// faults), and turns such a panic, or bbolt's own on a damaged page, into an
// ErrBadBaseline error for the baseline at path, stored in *err if err is not nil. It
// restores the goroutine's setting afterwards. Every read of the mapping runs under it:
//
//	defer guard(r.path, &err, nil)()
//
// onFault, if not nil, runs after such a panic, to drop what the read held.
func guard(path string, err *error, onFault func()) func() {
	old := debug.SetPanicOnFault(true)
	return func() {
		debug.SetPanicOnFault(old)
		if p := recover(); p != nil {
			if onFault != nil {
				onFault()
			}
			if err != nil {
				*err = bad(path, "corrupt database (%v)", p)
			}
		}
	}
}
