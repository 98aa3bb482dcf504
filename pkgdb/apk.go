package pkgdb

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
)

const (
	apkInstalled = "lib/apk/db/installed"
	maxAPK       = 256 << 20
)

// parseAPK parses Alpine's installed database (lib/apk/db/installed, apk-tools 2):
// one paragraph a package, separated by empty lines, of "K:value" lines. P:, V: and
// A: are the package's name, version and architecture; F: names a directory (relative
// to the root) and M: its "uid:gid:mode"; each R: names a file in the last F:, and the
// a: and Z: after it its "uid:gid:mode" and digest. A digest is "Q1" and the base64 of
// a SHA-1 (apk-tools' default), "Q2" and the base64 of a SHA-256, or 32 hexadecimal
// digits of an MD5 (old databases). Other keys are skipped.
func parseAPK(data []byte) ([]*Package, []*File, error) {
	var pkgs []*Package
	var files []*File
	var pkg *Package
	var dir string
	var dirFile, file *File
	ls := lines(data)
	for n, line := range ls {
		n++
		if len(line) == 0 {
			if pkg != nil && pkg.Name == "" {
				return nil, nil, &lineError{n, "package without P:"}
			}
			pkg, file, dirFile = nil, nil, nil
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			return nil, nil, &lineError{n, fmt.Sprintf("not \"K:value\": %.60q", line)}
		}
		if pkg == nil {
			pkg = &Package{Manager: APK}
			pkgs = append(pkgs, pkg)
			dir = "/"
		}
		v := string(line[2:])
		switch line[0] {
		case 'P':
			pkg.Name = v
		case 'V':
			pkg.Version = v
		case 'A':
			pkg.Arch = v
		case 'F':
			if strings.HasPrefix(v, "/") {
				return nil, nil, &lineError{n, fmt.Sprintf("F:%.60q: want a path relative to the root", v)}
			}
			dir = path.Clean("/" + v) // "F:" alone is the root
			dirFile = &File{Path: dir, Package: pkg}
			files = append(files, dirFile)
			file = nil
		case 'M':
			if dirFile == nil {
				return nil, nil, &lineError{n, "M: before any F:"}
			}
			if err := apkACL(dirFile, v, 0o040000); err != nil {
				return nil, nil, &lineError{n, err.Error()}
			}
		case 'R':
			if v == "" || strings.Contains(v, "/") {
				return nil, nil, &lineError{n, fmt.Sprintf("R:%.60q: want a file name", v)}
			}
			file = &File{Path: path.Join(dir, v), Package: pkg}
			files = append(files, file)
		case 'a':
			if file == nil {
				return nil, nil, &lineError{n, "a: before any R:"}
			}
			if err := apkACL(file, v, 0o100000); err != nil {
				return nil, nil, &lineError{n, err.Error()}
			}
		case 'Z':
			if file == nil {
				return nil, nil, &lineError{n, "Z: before any R:"}
			}
			alg, d, err := apkDigest(v)
			if err != nil {
				return nil, nil, &lineError{n, err.Error()}
			}
			file.Algorithm, file.Digest = alg, d
		}
	}
	if pkg != nil && pkg.Name == "" {
		return nil, nil, &lineError{len(ls), "package without P:"}
	}
	return pkgs, files, nil
}

// apkACL sets f's owner, group and mode from "uid:gid:mode" (mode in octal).
func apkACL(f *File, v string, typ uint32) error {
	parts := strings.Split(v, ":")
	if len(parts) != 3 {
		return fmt.Errorf("%.40q: want uid:gid:mode", v)
	}
	mode, err := strconv.ParseUint(parts[2], 8, 32)
	if err != nil || mode > 0o7777 {
		return fmt.Errorf("%.40q: mode is not octal permissions", v)
	}
	for _, id := range parts[:2] {
		if _, err := strconv.ParseUint(id, 10, 32); err != nil {
			return fmt.Errorf("%.40q: owner or group is not a number", v)
		}
	}
	f.Meta = &FileMeta{Owner: parts[0], Group: parts[1], Mode: typ | uint32(mode)}
	return nil
}

// apkDigest decodes a Z: value.
func apkDigest(v string) (Algorithm, []byte, error) {
	switch {
	case strings.HasPrefix(v, "Q1"), strings.HasPrefix(v, "Q2"):
		d, err := base64.StdEncoding.DecodeString(v[2:])
		if err == nil && v[1] == '1' && len(d) == 20 {
			return SHA1, d, nil
		}
		if err == nil && v[1] == '2' && len(d) == 32 {
			return SHA256, d, nil
		}
	case len(v) == 32:
		if d, err := hex.DecodeString(v); err == nil {
			return MD5, d, nil
		}
	}
	return "", nil, fmt.Errorf("digest %.50q: want Q1 and a base64 SHA-1, Q2 and a base64 SHA-256, or a hexadecimal MD5", v)
}

// loadAPK reads Alpine's installed database.
func (db *DB) loadAPK() (bool, error) {
	data, err := db.root.ReadFile(apkInstalled, maxAPK)
	if errors.Is(err, errNotExist) {
		return false, nil
	}
	if err != nil {
		return true, db.damage(APK, apkInstalled, err)
	}
	pkgs, files, err := parseAPK(data)
	if err != nil {
		return true, db.damage(APK, apkInstalled, err)
	}
	byPkg := make(map[*Package][]*File)
	for _, f := range files {
		byPkg[f.Package] = append(byPkg[f.Package], f)
	}
	for _, p := range pkgs {
		db.addPackage(p, byPkg[p])
	}
	return true, nil
}
