package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/runtime/local"
	"github.com/gennaker/gennaker/shared/runtime/platform"
)

// shutdownGrace bounds how long requests in flight may take to finish after
// SIGTERM.
const shutdownGrace = 10 * time.Second

type upOptions struct {
	listen         string
	dataDir        string
	accounts       string
	logLevel       string
	auth           string
	insecureNoAuth bool
}

func newUpCmd(g *globals) *cobra.Command {
	o := &upOptions{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the whole platform on this machine: API, state machines, store",
		Long: `Run gennaker on this machine, in one process: the API (Gate's paths, so
'spin' works with no configuration), the state-machine runtime that runs the
pipelines, and the embedded store in --data-dir.

GET /health answers 200 once the platform is ready. SIGTERM or Ctrl-C stops it
cleanly; executions in progress resume at the next 'gennaker up'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return up(ctx, o, g)
		},
	}
	home, _ := os.UserHomeDir()
	cmd.Flags().StringVar(&o.listen, "listen", "127.0.0.1:8084", "address to serve the API on (port 0 picks a free one)")
	cmd.Flags().StringVar(&o.dataDir, "data-dir", filepath.Join(home, ".gennaker"), "directory holding the store")
	cmd.Flags().StringVar(&o.accounts, "accounts", "", "YAML configuration file: deployment accounts (accounts: [{name, provider, …}]; the local account is always there) and the installation's stage types (stageTypes: [{type, webhook: {url, …}}])")
	cmd.Flags().StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().StringVar(&o.auth, "auth", "", "YAML identity file: users: [{name, token | tokenSha256, roles}], admins: [role]; requests then authenticate with Authorization: Bearer <token> or HTTP Basic name:token")
	cmd.Flags().BoolVar(&o.insecureNoAuth, "insecure-no-auth", false, "serve a non-loopback --listen address without --auth: anyone who can reach it may do anything as anyone")
	return cmd
}

func up(ctx context.Context, o *upOptions, g *globals) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", o.logLevel)
	}
	log := slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := local.LoadConfig(o.accounts)
	var bad *platform.AccountsError
	if errors.As(err, &bad) {
		// The message says which flag; it is the one the Lambda functions
		// give for the same document.
		return err
	}
	if err != nil {
		return fmt.Errorf("--accounts: %w", err)
	}
	var authCfg *auth.Config
	if o.auth != "" {
		if authCfg, err = auth.LoadConfig(o.auth); err != nil {
			return fmt.Errorf("--auth: %w", err)
		}
		if fi, err := os.Stat(o.auth); err == nil && fi.Mode().Perm()&0o077 != 0 && holdsTokens(authCfg) {
			fmt.Fprintf(g.stderr, "warning: %s holds tokens and other users may read it (mode %v); chmod 600 it, or store tokenSha256 instead\n", o.auth, fi.Mode().Perm())
		}
	} else if !o.insecureNoAuth {
		if err := loopbackOnly(o.listen); err != nil {
			return err
		}
	}

	// Listen first: a busy port is reported before any data is touched,
	// and /health can say "starting" while the runtime opens.
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w (is another gennaker or Gate running? choose another address with --listen)", o.listen, err)
	}
	gate := &readyGate{}
	srv := &http.Server{Handler: gate, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	if cfg.Notifications.BaseURL == "" {
		cfg.Notifications.BaseURL = "http://" + ln.Addr().String()
	}
	rt, err := local.Open(ctx, local.Options{DataDir: o.dataDir, Accounts: cfg.Accounts, StageTypes: cfg.StageTypes, Metrics: cfg.MetricsAccounts, Notifications: cfg.Notifications, Version: version, Logger: log, Auth: authCfg})
	if errors.As(err, &bad) {
		_ = srv.Close()
		return err
	}
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("open the local runtime in %s: %w", o.dataDir, err)
	}
	gate.set(rt.API())
	addr := "http://" + ln.Addr().String()
	log.Info("gennaker is up", "api", addr, "data", o.dataDir, "version", version)
	fmt.Fprintf(g.stderr, "gennaker %s is up: API on %s, data in %s\n", version, addr, o.dataDir)
	if authCfg == nil {
		fmt.Fprintf(g.stderr, "authentication is off: every caller is one user with every right (use --auth FILE to turn it on)\n")
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		_ = rt.Close()
		return fmt.Errorf("serve the API: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	errShutdown := srv.Shutdown(shutdownCtx)
	if errors.Is(errShutdown, context.DeadlineExceeded) {
		_ = srv.Close()
	}
	if err := rt.Close(); err != nil {
		return fmt.Errorf("close the local runtime: %w", err)
	}
	log.Info("stopped; executions in progress resume at the next 'gennaker up'")
	return nil
}

// holdsTokens reports whether the identity file holds tokens in the clear.
func holdsTokens(cfg *auth.Config) bool {
	for _, u := range cfg.Users {
		if u.Token != "" {
			return true
		}
	}
	return false
}

// loopbackOnly refuses an address other machines can reach: without --auth
// anyone who reaches the API may do anything as anyone.
func loopbackOnly(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", listen, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--listen %s would serve the API beyond this machine without authentication; "+
		"give --auth FILE (users with tokens and roles), or listen on 127.0.0.1, or accept the risk with --insecure-no-auth", listen)
}

// readyGate answers 503 until the API is ready, then serves it.
type readyGate struct{ h atomic.Pointer[http.Handler] }

func (g *readyGate) set(h http.Handler) { g.h.Store(&h) }

func (g *readyGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := g.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, `{"status":503,"error":"Service Unavailable","message":"gennaker is starting; try again in a moment","timestamp":%d}`+"\n", time.Now().UnixMilli())
}
