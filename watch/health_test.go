package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fim/diff"
)

// TestHealth drives a watch through what Health reports under each backend: healthy
// once ready, with its marks counted; stalled while Emit does not return; marks lost
// while the root is removed, and healthy again once it is made again and watched.
func TestHealth(t *testing.T) {
	for _, backend := range []string{"fanotify", "fsnotify"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			root := filepath.Join(backendDir(t, backend), "w")
			if err := os.MkdirAll(filepath.Join(root, "~sync"), 0o755); err != nil {
				t.Fatal(err)
			}
			var (
				mu   sync.Mutex
				gate chan struct{} // when set, Emit waits for it to close
			)
			r := startWatcher(t, backend, root, func(w *Watcher) {
				w.StallAfter = 500 * time.Millisecond
				emit := w.Emit
				w.Emit = func(events []diff.Event) error {
					mu.Lock()
					g := gate
					mu.Unlock()
					if g != nil {
						<-g
					}
					return emit(events)
				}
			})
			if err := r.w.Health(); err != nil {
				t.Fatalf("ready: Health: %v", err)
			}
			if n := r.w.Marks()[backend]; n < 1 {
				t.Errorf("Marks: %v, want at least one %s mark", r.w.Marks(), backend)
			}
			// wait polls Health until want says yes.
			wait := func(what string, want func(error) bool) {
				t.Helper()
				deadline := time.Now().Add(eventTimeout)
				var err error
				for err = r.w.Health(); !want(err); err = r.w.Health() {
					if time.Now().After(deadline) {
						t.Fatalf("Health: %v after %v, want %s", err, eventTimeout, what)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			healthy := func(err error) bool { return err == nil }
			says := func(s string) func(error) bool {
				return func(err error) bool { return err != nil && strings.Contains(err.Error(), s) }
			}

			g := make(chan struct{})
			mu.Lock()
			gate = g
			mu.Unlock()
			r.run("tee", "a")
			wait("a stalled loop", says("the event loop has not turned for"))
			mu.Lock()
			gate = nil
			mu.Unlock()
			close(g)
			wait("healthy once Emit returns", healthy)
			r.expect(backend, 0, "create T/a")

			if err := os.RemoveAll(root); err != nil {
				t.Fatal(err)
			}
			wait("marks lost", says(fmt.Sprintf("marks lost: %s (", root)))
			if err := os.MkdirAll(filepath.Join(root, "~sync"), 0o755); err != nil {
				t.Fatal(err)
			}
			wait("healthy once the root is back", healthy)
			if err := r.stop(); err != nil {
				t.Errorf("Run: %v", err)
			}
			if err := r.w.Health(); err == nil || err.Error() != "stopping" {
				t.Errorf("after Run: Health: %v, want stopping", err)
			}
		})
	}
}
