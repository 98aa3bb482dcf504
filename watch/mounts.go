package watch

import (
	"bytes"
	"fim/tree"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Mount is one line of /proc/self/mountinfo: a mount of a filesystem's directory Root
// at Point.
type Mount struct {
	ID    int
	Dev   string // major:minor of the filesystem
	Root  string // the directory of the filesystem mounted
	Point string // where, in fim's mount namespace
}

// ParseMountinfo decodes /proc/self/mountinfo (proc(5)). It never panics: a malformed
// line is an error naming it, and the mounts before it are returned.
func ParseMountinfo(data []byte) ([]Mount, error) {
	var out []Mount
	for n, line := range bytes.Split(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		f := strings.Fields(string(line))
		if len(f) < 5 {
			return out, fmt.Errorf("mountinfo line %d: %d fields, want at least 5", n+1, len(f))
		}
		id, err := strconv.Atoi(f[0])
		if err != nil {
			return out, fmt.Errorf("mountinfo line %d: mount id %q", n+1, f[0])
		}
		root, err1 := unescapeMount(f[3])
		point, err2 := unescapeMount(f[4])
		if err1 != nil || err2 != nil {
			return out, fmt.Errorf("mountinfo line %d: bad escape in %q or %q", n+1, f[3], f[4])
		}
		out = append(out, Mount{ID: id, Dev: f[2], Root: root, Point: point})
	}
	return out, nil
}

// unescapeMount undoes the octal escapes (\040 for a space, \012, \134...) the kernel
// writes in mountinfo paths.
func unescapeMount(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+4 > len(s) {
			return "", fmt.Errorf("short escape")
		}
		v, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
		if err != nil {
			return "", err
		}
		b.WriteByte(byte(v))
		i += 3
	}
	return b.String(), nil
}

// mountsBelow returns the mount points strictly below each of the real directories
// dirs, in mountinfo order: the filesystems a walk that crosses mounts reaches.
func mountsBelow(dirs []string) ([]string, error) {
	if len(dirs) == 0 {
		return nil, nil
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	mounts, err := ParseMountinfo(data)
	if err != nil {
		return nil, fmt.Errorf("/proc/self/mountinfo: %w", err)
	}
	var out []string
	for _, m := range mounts {
		for _, d := range dirs {
			if m.Point != d && tree.IsWithin(m.Point, d) {
				out = append(out, m.Point)
				break
			}
		}
	}
	return out, nil
}

// markPaths returns the real directories whose filesystems fanotify marks: the roots,
// and the mount points below each root that crosses mounts (cross_mounts), which its
// walk reaches and whose changes the roots' own marks do not see. Mounts made later
// are found by the periodic rescan.
func (w *Watcher) markPaths(roots []string) []string {
	var crossing []string
	for i, r := range w.Walker.Roots {
		if r.CrossMounts {
			crossing = append(crossing, roots[i])
		}
	}
	inner, err := mountsBelow(crossing)
	if err != nil {
		w.logf("filesystems mounted below %s are not marked: %v", strings.Join(crossing, ", "), err)
	}
	return append(slices.Clip(roots), inner...)
}
