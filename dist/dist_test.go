// Package dist holds what fim ships besides its binary: the systemd units of
// dist/systemd, installed by `make install`, and the Kubernetes DaemonSet of
// dist/kubernetes. Its tests install fim as a package would and check the result with
// the tools that read it: systemd-analyze verify for the units.
package dist

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	fimconfig "fim/config"
	"fim/internal/fstest"

	"go.yaml.in/yaml/v3"

	"golang.org/x/sys/unix"
)

// install runs `make install` with PREFIX prefix below DESTDIR destdir (and the build
// directory in a temporary one); "" for a temporary directory as PREFIX, without
// DESTDIR. It returns where PREFIX's files are.
func install(t *testing.T, destdir, prefix string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		fstest.Skipf(t, "no make: %v", err)
	}
	tmp := t.TempDir()
	if prefix == "" {
		prefix = filepath.Join(tmp, "usr")
	}
	cmd := exec.Command("make", "--no-print-directory", "install", "PREFIX="+prefix, "DESTDIR="+destdir, "BIN="+filepath.Join(tmp, "build"))
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	return filepath.Join(destdir, prefix)
}

// TestInstall installs fim as a package build does, with PREFIX=/opt/fim below a
// temporary DESTDIR, and checks what is there: the binary, the manual page, the
// completions of each shell and the units, each with its mode, the units running the
// binary where it will be (PREFIX/bin/fim).
func TestInstall(t *testing.T) {
	const prefix = "/opt/fim"
	destdir := t.TempDir()
	installed := install(t, destdir, prefix)
	for _, f := range []struct {
		path string
		mode os.FileMode
		want string // a part of its contents
	}{
		{"bin/fim", 0o755, ""},
		{"share/man/man1/fim.1", 0o644, ".TH FIM 1 "},
		{"share/bash-completion/completions/fim", 0o644, "complete "},
		{"share/zsh/site-functions/_fim", 0o644, "#compdef fim"},
		{"share/fish/vendor_completions.d/fim.fish", 0o644, "complete -c fim"},
		{"lib/systemd/system/fim-watch.service", 0o644, "\nExecStart=" + prefix + "/bin/fim watch "},
		{"lib/systemd/system/fim-check.service", 0o644, "\nExecStart=" + prefix + "/bin/fim check "},
		{"lib/systemd/system/fim-check.timer", 0o644, "\nOnCalendar="},
	} {
		p := filepath.Join(installed, f.path)
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("make install: %v", err)
			continue
		}
		if st.Mode() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, st.Mode(), f.mode)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(f.want)) || len(b) == 0 {
			t.Errorf("%s does not hold %q", f.path, f.want)
		}
	}
	out, err := exec.Command(filepath.Join(installed, "bin/fim"), "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "fim ") {
		t.Errorf("installed fim --version: %v: %s", err, out)
	}
}

// TestUnits has systemd-analyze verify the installed units: every directive known and
// well formed, the command and the manual page they name there. It prints what it
// finds wrong and exits 0 for most of it, so any output fails the test.
func TestUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		fstest.Skipf(t, "no systemd-analyze (Debian's systemd package): %v", err)
	}
	prefix := install(t, "", "")
	units, err := filepath.Glob(filepath.Join(prefix, "lib/systemd/system/fim-*"))
	if err != nil || len(units) != 3 {
		t.Fatalf("installed units: %q, %v", units, err)
	}
	cmd := exec.Command(analyze, append([]string{"verify"}, units...)...)
	// Documentation=man:fim(1) is looked up with man, in the installed tree.
	cmd.Env = append(os.Environ(), "MANPATH="+filepath.Join(prefix, "share/man"), "SYSTEMD_LOG_COLOR=0")
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// unitCapabilities returns the capabilities fim-watch.service leaves fim, as setpriv
// names them: "+sys_admin", ….
func unitCapabilities(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("systemd/fim-watch.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapabilityBoundingSet="); ok {
			var caps []string
			for _, c := range strings.Fields(v) {
				caps = append(caps, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
			}
			return caps
		}
	}
	t.Fatal("fim-watch.service has no CapabilityBoundingSet=")
	return nil
}

// TestWatchCapabilities runs fim watch as root with the capability bounding set of
// fim-watch.service, then with each of those capabilities taken away, and checks what
// each is for: without CAP_SYS_ADMIN fim falls back to inotify (no writer known),
// without CAP_DAC_READ_SEARCH it cannot read a file of another user's, mode 0600 (a
// root without it is only its owner's, the group's or others' in the file's mode),
// without CAP_SYS_PTRACE it does not know the writer's executable and directory. With
// fanotify, the kernel's proc connector is listened to with these capabilities.
func TestWatchCapabilities(t *testing.T) {
	fstest.RequireRoot(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		fstest.Skipf(t, "no setpriv (util-linux): %v", err)
	}
	caps := unitCapabilities(t)
	fim := filepath.Join(install(t, "", ""), "bin/fim")
	for _, drop := range append([]string{""}, caps...) {
		name := "all"
		if drop != "" {
			name = "without-" + drop[1:]
		}
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "fs")
			must(t, os.Mkdir(root, 0o755))
			if err := unix.Mount("tmpfs", root, "tmpfs", 0, "size=8m,mode=0777"); err != nil {
				fstest.Skipf(t, "mount tmpfs: %v", err)
			}
			t.Cleanup(func() { must(t, unix.Unmount(root, unix.MNT_DETACH)) })
			secret := filepath.Join(root, "secret")
			must(t, os.WriteFile(secret, []byte("s\n"), 0o600))
			must(t, os.Chown(secret, 65534, 65534))
			// nobody reaches the tmpfs through t.TempDir's directories.
			for d := filepath.Dir(root); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
				must(t, os.Chmod(d, 0o755))
			}
			bounding := "-all," + strings.Join(slices.DeleteFunc(slices.Clone(caps), func(c string) bool { return c == drop }), ",")
			cmd := exec.Command(setpriv, "--bounding-set", bounding, "--inh-caps", "-all", "--",
				fim, "watch", "--format", "json", "--interval", "0", "--batch-timeout", "50ms", "--dedup-window", "0", "--no-provenance", root)
			var stderr fstest.SyncBuffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			must(t, err)
			must(t, cmd.Start())
			t.Cleanup(func() {
				cmd.Process.Kill()
				cmd.Wait()
			})
			events := make(chan map[string]any, 16)
			go func() {
				defer close(events)
				dec := json.NewDecoder(stdout)
				for {
					var ev map[string]any
					if dec.Decode(&ev) != nil {
						return
					}
					events <- ev
				}
			}()
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(stderr.String(), "watch: ready: ") {
				if time.Now().After(deadline) {
					t.Fatalf("fim watch not ready:\n%s", stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			if fanotify := drop != "+sys_admin" && drop != "+dac_read_search"; fanotify &&
				!strings.Contains(stderr.String(), "(fanotify, proc connector") {
				t.Errorf("without %q: the proc connector is not listened to:\n%s", drop, stderr.String())
			}
			if drop == "+dac_read_search" {
				// The file is not read: fim says so. Nor can fanotify's file handles be
				// opened, so fsnotify watches instead, and says why.
				for _, want := range []string{secret + ": permission denied", "opening a handle on " + root} {
					if !strings.Contains(stderr.String(), want) {
						t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
					}
				}
			}
			// The writer is nobody, and stays until its change is reported, so that fim
			// finds it in /proc.
			writer := exec.Command("sh", "-c", `echo x >> "$0" && read _`, secret)
			writer.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
			hold, err := writer.StdinPipe()
			must(t, err)
			must(t, writer.Start())
			defer func() {
				hold.Close()
				writer.Wait()
			}()
			var ev map[string]any
			select {
			case ev = <-events:
			case <-time.After(10 * time.Second):
				t.Fatalf("no event within 10s:\n%s", stderr.String())
			}
			file, _ := ev["file"].(map[string]any)
			process, _ := ev["process"].(map[string]any)
			if got, want := ev["source"], map[bool]string{true: "fanotify", false: "fsnotify"}[drop != "+sys_admin" && drop != "+dac_read_search"]; got != want {
				t.Errorf("source %v, want %s", got, want)
			}
			if (file["hash"] != nil) != (drop != "+dac_read_search") {
				t.Errorf("hash %v of a file of nobody's, mode 0600, without %q\n%s", file["hash"], drop, stderr.String())
			}
			if drop != "+sys_admin" && drop != "+dac_read_search" {
				if exe, want := process["exe"], drop != "+sys_ptrace"; (exe != nil) != want {
					t.Errorf("the writer's exe %v without %q; want it known: %v", exe, drop, want)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// kubernetesVersion is the version of the schemas in testdata/kubernetes-json-schema.
const kubernetesVersion = "1.32.2"

// kubeconform validates the manifest files with kubeconform against the schemas of
// testdata, strictly (unknown fields refused), and returns its output and error.
func kubeconform(t *testing.T, files ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("kubeconform")
	if err != nil {
		fstest.Skipf(t, "no kubeconform (make bin/kubeconform, then bin/ on the PATH): %v", err)
	}
	args := []string{"-strict", "-summary", "-kubernetes-version", kubernetesVersion,
		"-schema-location", "testdata/kubernetes-json-schema/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"}
	out, err := exec.Command(bin, append(args, files...)...).CombinedOutput()
	return string(out), err
}

// TestDaemonSet validates dist/kubernetes against the Kubernetes schemas, checks that
// a schema violation is caught, and that the configuration it gives fim loads and the
// flags it passes are fim watch's.
func TestDaemonSet(t *testing.T) {
	const manifest = "kubernetes/fim-daemonset.yaml"
	out, err := kubeconform(t, manifest)
	if err != nil || !strings.Contains(out, "Valid: 3, Invalid: 0, Errors: 0, Skipped: 0") {
		t.Fatalf("kubeconform %s: %v\n%s", manifest, err, out)
	}
	b, err := os.ReadFile(manifest)
	must(t, err)
	for _, c := range []struct{ from, to string }{
		{"hostPID: true", "hostPID: yes-please"},
		{"readOnlyRootFilesystem: true", "readOnlyRootFilesystem: true\n            readOnlyHost: true"},
		{`add: ["SYS_ADMIN"`, `add: [1`},
	} {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		if !bytes.Contains(b, []byte(c.from)) {
			t.Fatalf("%s has no %q", manifest, c.from)
		}
		must(t, os.WriteFile(bad, bytes.Replace(b, []byte(c.from), []byte(c.to), 1), 0o644))
		if out, err := kubeconform(t, bad); err == nil {
			t.Errorf("kubeconform takes %q for %q:\n%s", c.to, c.from, out)
		}
	}

	var container struct {
		Args []string
	}
	var config string
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc struct {
			Kind string
			Data map[string]string
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct{ Args []string }
					}
				}
			}
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		switch doc.Kind {
		case "ConfigMap":
			config = doc.Data["fim.yaml"]
		case "DaemonSet":
			container.Args = doc.Spec.Template.Spec.Containers[0].Args
		}
	}
	file := filepath.Join(t.TempDir(), "fim.yaml")
	must(t, os.WriteFile(file, []byte(config), 0o644))
	cfg, err := fimconfig.Load(file)
	if err != nil {
		t.Fatalf("the ConfigMap's fim.yaml: %v", err)
	}
	if cfg.Root != "/host" {
		t.Errorf("the ConfigMap's fim.yaml reads the tree under %q, want /host", cfg.Root)
	}
	if len(container.Args) == 0 || container.Args[0] != "watch" {
		t.Fatalf("the container runs fim %q, want watch", container.Args)
	}
	help, err := exec.Command("go", "run", "../cmd/fim", "watch", "--help").CombinedOutput()
	must(t, err)
	for _, a := range container.Args[1:] {
		if strings.HasPrefix(a, "--") && !strings.Contains(string(help), "   "+a+" ") {
			t.Errorf("the container passes %s, which fim watch does not know", a)
		}
	}
}
