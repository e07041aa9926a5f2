// Command hello is the demo service gennaker deploys: a small HTTP server
// that says which version it is, and that can be told to fail its health
// check or to answer errors, so deployments have something to catch.
//
// Environment:
//
//	PORT           port to listen on, on 127.0.0.1 (the local provider sets it)
//	VERSION        the version it reports (default "dev")
//	FAIL_HEALTH    "true": /health answers 503 from the start
//	ERROR_RATE     fraction of requests to / answered 500, 0 to 1
//	LATENCY        how long / waits before it answers, such as 30ms
//	STARTUP_DELAY  how long to wait before listening, such as 500ms
//
// Endpoints:
//
//	GET  /                      "hello from <version>", header X-Version
//	GET  /health                200, or 503 when told to fail
//	POST /admin/health?fail=…   true or false
//	POST /admin/errors?rate=…   0 to 1
//	POST /admin/exit            exit at once with status 1 (a crash)
package main

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

type service struct {
	version    string
	instance   string
	failHealth atomic.Bool
	errorRate  atomic.Uint64 // per mille
	latency    time.Duration
}

func main() {
	s := &service{version: envOr("VERSION", "dev"), instance: os.Getenv("INSTANCE_ID")}
	s.failHealth.Store(os.Getenv("FAIL_HEALTH") == "true")
	if r, err := strconv.ParseFloat(os.Getenv("ERROR_RATE"), 64); err == nil {
		s.setRate(r)
	}
	if d, err := time.ParseDuration(os.Getenv("LATENCY")); err == nil {
		s.latency = d
	}
	if d, err := time.ParseDuration(os.Getenv("STARTUP_DELAY")); err == nil {
		time.Sleep(d)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+envOr("PORT", "8080"))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.hello)
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("POST /admin/health", s.setHealth)
	mux.HandleFunc("POST /admin/errors", s.setErrors)
	mux.HandleFunc("POST /admin/exit", func(http.ResponseWriter, *http.Request) { os.Exit(1) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		// Finish the requests in flight, then exit.
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("hello %s listening on %s", s.version, ln.Addr())
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

func (s *service) setRate(r float64) { s.errorRate.Store(uint64(max(0, min(r, 1)) * 1000)) }

func (s *service) hello(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("X-Version", s.version)
	time.Sleep(s.latency)
	if rate := s.errorRate.Load(); rate > 0 && rand.Uint64N(1000) < rate {
		http.Error(w, fmt.Sprintf("hello %s: failing on purpose", s.version), http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "hello from %s (%s)\n", s.version, s.instance)
}

func (s *service) health(w http.ResponseWriter, _ *http.Request) {
	if s.failHealth.Load() {
		http.Error(w, "unhealthy on purpose", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *service) setHealth(w http.ResponseWriter, r *http.Request) {
	fail, err := strconv.ParseBool(r.URL.Query().Get("fail"))
	if err != nil {
		http.Error(w, "fail must be true or false", http.StatusBadRequest)
		return
	}
	s.failHealth.Store(fail)
	fmt.Fprintf(w, "failHealth=%v\n", fail)
}

func (s *service) setErrors(w http.ResponseWriter, r *http.Request) {
	rate, err := strconv.ParseFloat(r.URL.Query().Get("rate"), 64)
	if err != nil || rate < 0 || rate > 1 {
		http.Error(w, "rate must be a number from 0 to 1", http.StatusBadRequest)
		return
	}
	s.setRate(rate)
	fmt.Fprintf(w, "errorRate=%v\n", rate)
}

func envOr(k, dflt string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return dflt
}
