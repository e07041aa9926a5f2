package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gennaker/gennaker/shared/demo"
)

func newDemoCmd(g *globals) *cobra.Command {
	var o demo.Options
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Deploy the hello service three times on this machine, with real traffic",
		Long: `Run gennaker's demo in this process: build examples/hello, start the local
runtime, deploy v1, deploy v2 by red/black while requests flow through the
local load balancer, deploy a broken v3 that fails its health check and is
rolled back, and print what happened. Run it from the repository.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			progress := g.stdout
			if g.json() {
				progress = g.stderr
			}
			summary, err := demo.Run(ctx, progress, o)
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			if g.json() {
				return printJSON(g.stdout, summary)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.DataDir, "data-dir", "", "keep the demo's store and instance logs here (default: a temporary directory, removed at the end)")
	cmd.Flags().StringVar(&o.HelloBinary, "hello-binary", "", "deploy this hello binary instead of building examples/hello")
	cmd.Flags().IntVar(&o.Instances, "instances", 2, "instances per server group")
	cmd.Flags().StringVar(&o.Listen, "listen", "127.0.0.1:8084", "serve the API and web UI here while the demo runs (a free port when taken; empty: none)")
	return cmd
}
