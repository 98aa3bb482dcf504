package pkgdb

import (
	"strconv"
	"strings"
)

// idMaps are the user and group names of the root (etc/passwd, etc/group), for the
// owners rpm records by name. A name the root does not define is not compared.
type idMaps struct {
	users, groups map[string]uint32
}

const maxIDFile = 64 << 20

// ids reads the root's etc/passwd and etc/group once.
func (db *DB) ids() *idMaps {
	db.idsOnce.Do(func() {
		db.idMaps = &idMaps{users: db.readIDs("etc/passwd"), groups: db.readIDs("etc/group")}
	})
	return db.idMaps
}

func (db *DB) readIDs(name string) map[string]uint32 {
	data, err := db.root.ReadFile(name, maxIDFile)
	if err != nil {
		return nil
	}
	return parseIDs(data)
}

// parseIDs reads "name:password:id:..." lines (passwd(5), group(5)); a line that is
// not of that shape is skipped, and the first line of a name counts, as for getpwnam.
func parseIDs(data []byte) map[string]uint32 {
	out := make(map[string]uint32)
	for _, line := range lines(data) {
		f := strings.SplitN(string(line), ":", 4)
		if len(f) < 3 || f[0] == "" || strings.HasPrefix(f[0], "#") {
			continue
		}
		id, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		if _, dup := out[f[0]]; !dup {
			out[f[0]] = uint32(id)
		}
	}
	return out
}

// user returns the uid of owner: a number (apk records numbers) or a name of the root.
func (m *idMaps) user(owner string) (uint32, bool) { return lookupID(m.users, owner) }

// group returns the gid of group, a number or a name of the root.
func (m *idMaps) group(group string) (uint32, bool) { return lookupID(m.groups, group) }

func lookupID(names map[string]uint32, s string) (uint32, bool) {
	if s == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n), true
	}
	id, ok := names[s]
	return id, ok
}
