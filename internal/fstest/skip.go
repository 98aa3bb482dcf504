package fstest

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Required reports whether FIM_REQUIRE_ROOT=1 forbids skipping: CI sets it, so that a
// test that needs root, a tool or a kernel feature fails where it would be skipped.
func Required() bool { return os.Getenv("FIM_REQUIRE_ROOT") == "1" }

// Skipf skips the test for the reason given, or fails it when FIM_REQUIRE_ROOT=1.
func Skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("%s, and FIM_REQUIRE_ROOT=1", fmt.Sprintf(format, args...))
	}
	t.Skipf(format, args...)
}

// RequireRoot skips a test that needs root (fails it when FIM_REQUIRE_ROOT=1).
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skipf(t, "needs root")
	}
}

// RequireTool returns the path of a program the test runs, or skips the test (fails
// it when FIM_REQUIRE_ROOT=1); install says where the program comes from.
func RequireTool(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skipf(t, "%s not installed (%s)", name, install)
	}
	return p
}
