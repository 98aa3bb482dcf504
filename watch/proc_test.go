package watch

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"fim/diff"
)

const testCID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseCgroup(t *testing.T) {
	pod := "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901"
	podSys := strings.ReplaceAll(pod, "-", "_")
	for _, tc := range []struct {
		name, in string
		want     *diff.Container
	}{
		{"host", "0::/user.slice/user-0.slice/session-1.scope\n", nil},
		{"docker", "0::/system.slice/docker-" + testCID + ".scope\n", &diff.Container{ID: testCID, Runtime: "docker"}},
		{"docker cgroupfs, v1", "4:memory:/docker/" + testCID + "\n0::/\n", &diff.Container{ID: testCID, Runtime: "docker"}},
		{"containerd", "0::/system.slice/cri-containerd-" + testCID + ".scope", &diff.Container{ID: testCID, Runtime: "containerd"}},
		{"cri-o", "0::/machine.slice/crio-" + testCID + ".scope", &diff.Container{ID: testCID, Runtime: "cri-o"}},
		{"cri-o monitor", "0::/system.slice/crio-conmon-" + testCID + ".scope", nil},
		{"podman", "0::/machine.slice/libpod-" + testCID + ".scope/container", &diff.Container{ID: testCID, Runtime: "podman"}},
		{"nspawn", `0::/machine.slice/machine-web\x2d1.scope/payload`, &diff.Container{ID: "web-1", Runtime: "systemd-nspawn"}},
		{"kubepods burstable", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podSys + ".slice/cri-containerd-" + testCID + ".scope",
			&diff.Container{ID: testCID, Runtime: "containerd", PodUID: pod, QoS: "burstable"}},
		{"kubepods guaranteed", "0::/kubepods.slice/kubepods-pod" + podSys + ".slice/crio-" + testCID + ".scope",
			&diff.Container{ID: testCID, Runtime: "cri-o", PodUID: pod, QoS: "guaranteed"}},
		{"kubepods besteffort cgroupfs", "0::/kubepods/besteffort/pod" + pod + "/" + testCID,
			&diff.Container{ID: testCID, PodUID: pod, QoS: "besteffort"}},
		{"pod only", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + podSys + ".slice",
			&diff.Container{PodUID: pod, QoS: "besteffort"}},
		{"short id", "0::/system.slice/docker-0123.scope", nil},
		{"upper-case id", "0::/system.slice/docker-" + strings.ToUpper(testCID) + ".scope", nil},
		{"garbage", "::::\n\x00", nil},
	} {
		if got := parseCgroup([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func FuzzParseCgroup(f *testing.F) {
	f.Add([]byte("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901.slice/cri-containerd-" + testCID + ".scope\n"))
	f.Add([]byte("4:memory:/docker/" + testCID + "\n0::/\n"))
	f.Add([]byte(`0::/machine.slice/machine-a\x2.scope`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if c := parseCgroup(data); c != nil && c.ID == "" && c.PodUID == "" {
			t.Errorf("%q: empty container %+v", data, c)
		}
	})
}

func TestParseStat(t *testing.T) {
	line := func(comm string) string {
		return "42 (" + comm + ") S 7 42 42 34817 42 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 100 18446744073709551615"
	}
	for _, tc := range []struct {
		in   string
		want procStat
		ok   bool
	}{
		{line("bash"), procStat{comm: "bash", ppid: 7, tty: 34817, start: 123456}, true},
		{line("a) S 1 (b"), procStat{comm: "a) S 1 (b", ppid: 7, tty: 34817, start: 123456}, true},
		{line("x y"), procStat{comm: "x y", ppid: 7, tty: 34817, start: 123456}, true},
		{"42 (bash) S 7", procStat{}, false},
		{"42 bash S 7 42 42 0 42 0 0 0 0 0 0 0 0 0 0 0 0 0 1", procStat{}, false},
		{")(", procStat{}, false},
	} {
		got, ok := parseStat([]byte(tc.in))
		if ok != tc.ok || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if got := ttyName(34817); got != "pts/1" {
		t.Errorf("tty 34817: %q, want pts/1", got)
	}
	for nr, want := range map[uint32]string{0: "", 4<<8 | 1: "tty1", 4<<8 | 65: "ttyS1", 137<<8 | 2: "pts/258", 5<<8 | 1: "5:1"} {
		if got := ttyName(nr); got != want {
			t.Errorf("tty %d: %q, want %q", nr, got, want)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (bash) S 7 42 42 34817 42 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000\n"))
	f.Add([]byte("1 ()) ) ) R 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, ok := parseStat(data)
		if ok && (st.ppid < 0 || !strings.Contains(string(data), "("+st.comm+")")) {
			t.Errorf("%q: %+v", data, st)
		}
		_ = ttyName(st.tty)
	})
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tsu\nUid:\t65534\t0\t0\t0\nGid:\t100\t101\t101\t101\nGroups:\t\n"
	if u, eu, g, eg := parseStatus([]byte(status)); fmt.Sprint(u, eu, g, eg) != "65534 0 100 101" {
		t.Errorf("ids %d %d %d %d, want 65534 0 100 101", u, eu, g, eg)
	}
	if u, eu, g, eg := parseStatus([]byte("Uid:\tx\nGid:\n")); fmt.Sprint(u, eu, g, eg) != "-1 -1 -1 -1" {
		t.Errorf("malformed: %d %d %d %d, want -1s", u, eu, g, eg)
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("Name:\tsu\nUid:\t65534\t0\t0\t0\nGid:\t100\t101\t101\t101\n"))
	f.Add([]byte("Uid:\t4294967296\t-1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, eu, g, eg := parseStatus(data)
		for _, id := range []int{u, eu, g, eg} {
			if id < -1 || id > 1<<32-1 {
				t.Errorf("%q: id %d", data, id)
			}
		}
	})
}

// TestReadSmall reads files of sizes about its buffer and its bound whole, or up to the
// bound, and names the file it cannot open.
func TestReadSmall(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 2047, 2048, 2049, 4097, 10000, procFileMax, procFileMax + 1, 3 * procFileMax} {
		p := filepath.Join(dir, fmt.Sprint(size))
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i % 251)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readSmall(p)
		if err != nil {
			t.Fatal(err)
		}
		if want := data[:min(size, procFileMax)]; !bytes.Equal(got, want) {
			t.Errorf("%d bytes: read %d, want the first %d", size, len(got), len(want))
		}
	}
	if _, err := readSmall(filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "none")) {
		t.Errorf("missing file: %v", err)
	}
	// A /proc file, which says it is empty: read whole all the same.
	got, err := readSmall("/proc/self/status")
	if err != nil || !bytes.Contains(got, []byte("\nUid:")) {
		t.Errorf("/proc/self/status: %q, %v", got, err)
	}
}
