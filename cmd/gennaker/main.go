// Command gennaker runs gennaker on one machine (`gennaker up`) and manages
// applications, pipelines and executions through its API.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/gennaker/gennaker/shared/runtime/env"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var exit *exitError
	if errors.As(err, &exit) {
		if exit.msg != "" {
			fmt.Fprintln(stderr, exit.msg)
		}
		return exit.code
	}
	fmt.Fprintln(stderr, "Error:", err)
	return 1
}

// exitError ends the command with a status code; msg, if any, was not yet
// printed.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("exit status %d", e.code)
}

// globals are the flags every command shares.
type globals struct {
	api    string
	output string
	stdout io.Writer
	stderr io.Writer
}

func (g *globals) json() bool { return g.output == "json" }

func (g *globals) client() *client {
	c := newClient(g.api)
	c.warn = g.stderr
	return c
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "gennaker",
		Short: "Continuous delivery in the Spinnaker tradition, from serverless parts",
		Long: `gennaker runs Spinnaker-style pipelines: locally with 'gennaker up', or on AWS.

Start the platform with 'gennaker up', then manage it with the other commands
(or with Spinnaker's spin CLI: the API speaks Gate's paths and payloads).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch g.output {
			case "", "text", "json":
				return nil
			}
			return fmt.Errorf("--output %q is not supported; use json or text", g.output)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	defaultAPI := os.Getenv(env.API)
	if defaultAPI == "" {
		defaultAPI = "http://127.0.0.1:8084"
	}
	root.PersistentFlags().StringVar(&g.api, "api", defaultAPI, "gennaker API URL (env GENNAKER_API)")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "text", "output format: text or json")

	root.AddCommand(
		newUpCmd(g),
		newDemoCmd(g),
		newAppCmd(g),
		newPipelineCmd(g),
		newExecutionCmd(g),
		newWhoamiCmd(g),
		newAuditCmd(g),
	)
	return root
}
