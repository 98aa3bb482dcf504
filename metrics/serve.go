package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"fim/output"
	"fim/watch"
)

// ErrAddress is what Listen returns (wrapped) for an address that is not HOST:PORT.
var ErrAddress = errors.New("want HOST:PORT, e.g. 127.0.0.1:9464 or :9464")

// Listen binds addr (TCP HOST:PORT). A bad address is ErrAddress; a bind that fails
// (the port taken, a privileged port) is the system's error.
func Listen(addr string) (net.Listener, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAddress, err)
	}
	if _, err := net.ResolveTCPAddr("tcp", addr); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAddress, err)
	}
	l, err := net.Listen("tcp", addr)
	var op *net.OpError
	if errors.As(err, &op) {
		return nil, op.Err // "bind: address already in use": the caller names the address
	}
	return l, err
}

// Handler serves m's metrics in Prometheus's exposition formats at /metrics, and the
// health that health returns at /healthz: "ok" with 200 when it is nil, else its
// error, one line, with 503.
func Handler(m *Watch, health func() error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          m.reg, // promhttp_metric_handler_errors_total
		EnableOpenMetrics: true,
	}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := health(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "unhealthy: %v\n", err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// Serve serves Handler(m, health) on l until ctx ends; errors that end it early go to
// logf.
func Serve(ctx context.Context, l net.Listener, m *Watch, health func() error, logf func(string, ...any)) {
	srv := &http.Server{
		Handler:           Handler(m, health),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logf("--listen %s: %v", l.Addr(), err)
	}
}

// Server is what fim watch --listen serves: the registry of the watch and the listener
// bound for it. The nil *Server (no --listen) serves nothing, and hands the watch and
// the spool no metrics.
type Server struct {
	l   net.Listener
	reg *Watch
}

// NewServer binds addr before anything else is started, so that a port taken fails at
// once; "" is no server (nil). A bad address is ErrAddress, wrapped; both errors name
// the flag and the address.
func NewServer(addr string, b Build) (*Server, error) {
	if addr == "" {
		return nil, nil
	}
	l, err := Listen(addr)
	switch {
	case errors.Is(err, ErrAddress):
		return nil, fmt.Errorf("--listen %q: %w", addr, err)
	case err != nil:
		return nil, fmt.Errorf("--listen %s: %w", addr, err)
	}
	return &Server{l: l, reg: NewWatch(b)}, nil
}

// Deliveries is what the spool tells of its deliveries: nil without a server.
func (s *Server) Deliveries() output.DeliveryMetrics {
	if s == nil {
		return nil
	}
	return s.reg
}

// Watch is what the watcher tells of its batches and rescans: nil without a server.
func (s *Server) Watch() watch.Metrics {
	if s == nil {
		return nil
	}
	return s.reg
}

// Serve serves the metrics, with marks and backlog read at each scrape (ReadMarks),
// and the health that health returns, until the function it returns is called.
func (s *Server) Serve(ctx context.Context, marks func() map[string]int, backlog func() (uint64, int64), health func() error, logf func(string, ...any)) (stop func()) {
	if s == nil {
		return func() {}
	}
	s.reg.ReadMarks(marks, backlog)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Serve(ctx, s.l, s.reg, health, logf)
	}()
	return func() {
		cancel()
		<-done
	}
}

// Close releases the listener.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	return s.l.Close()
}
