package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestServer(t *testing.T) {
	none, err := NewServer("", Build{})
	if none != nil || err != nil {
		t.Fatalf("NewServer(\"\") = %v, %v: want no server", none, err)
	}
	if none.Deliveries() != nil || none.Watch() != nil || none.Close() != nil {
		t.Error("no server: want no metrics, nothing to close")
	}
	none.Serve(context.Background(), nil, nil, nil, t.Logf)()

	if _, err := NewServer("localhost", Build{}); !errors.Is(err, ErrAddress) || !strings.HasPrefix(err.Error(), `--listen "localhost": want HOST:PORT`) {
		t.Errorf("a bad address: err = %v, want ErrAddress naming --listen", err)
	}
	s, err := NewServer("127.0.0.1:0", Build{Version: "1.2.3", Commit: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := NewServer(s.l.Addr().String(), Build{}); err == nil || errors.Is(err, ErrAddress) || !strings.HasPrefix(err.Error(), "--listen "+s.l.Addr().String()+": ") {
		t.Errorf("a port taken: err = %v, want the system's error naming --listen", err)
	}
	if s.Deliveries() == nil || s.Watch() == nil {
		t.Fatal("a server hands out no metrics")
	}
	stop := s.Serve(context.Background(), func() map[string]int { return map[string]int{"fanotify": 2} }, func() (uint64, int64) { return 0, 0 },
		func() error { return nil }, t.Logf)
	defer stop()
	resp, err := http.Get("http://" + s.l.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `fim_build_info{commit="abc"`) {
		t.Errorf("/metrics lacks fim_build_info:\n%s", body)
	}
}
