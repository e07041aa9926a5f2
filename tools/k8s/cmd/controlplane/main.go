// Command controlplane starts and stops a small but real Kubernetes control
// plane on this machine: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok, which simulates the nodes, so pods are scheduled,
// become Ready, and Deployments really roll out.
//
//	controlplane up   -state DIR -bin DIR   # prints the kubeconfig path last
//	controlplane down -state DIR
//
// Every port is picked free on 127.0.0.1, so several control planes (a
// developer's and a test's) can run side by side, each in its own state
// directory. The processes outlive `up`; `down` stops the ones recorded in
// the state directory and removes it.
//
// Simulation conventions (kwok runs no containers):
//   - a pod annotated kwok.gennaker.dev/exit-code: "N" that belongs to a Job
//     exits with N (default 0) as soon as it is running;
//   - ClusterLogs and Logs objects (kwok.x-k8s.io/v1alpha1) say which file
//     serves a pod's logs, in CRI log format, through the usual pods/log API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	state := fs.String("state", ".cache/k8s/run", "state directory: certificates, data, logs, pids, kubeconfig")
	bin := fs.String("bin", ".cache/k8s/bin", "directory holding kube-apiserver, kube-controller-manager, kube-scheduler and kwok")
	crds := fs.String("kwok-crds", "", "directory of kwok's CRD manifests (kustomize/crd/bases of sigs.k8s.io/kwok)")
	nodes := fs.Int("nodes", 3, "how many fake nodes to create")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long to wait for the control plane to become ready")
	_ = fs.Parse(args)

	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			fatal(err)
		}
		return a
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	switch cmd {
	case "up":
		cp := &controlPlane{state: abs(*state), bin: abs(*bin), nodes: *nodes}
		if *crds != "" {
			cp.crds = abs(*crds)
		}
		kubeconfig, err := cp.up(ctx)
		if err != nil {
			fmt.Fprintf(os.Stderr, "controlplane up: %v\n", err)
			fmt.Fprintf(os.Stderr, "logs are in %s\n", filepath.Join(cp.state, "logs"))
			if !errors.Is(err, errAlreadyRunning) {
				_ = down(abs(*state), false)
			}
			os.Exit(1)
		}
		// The last line is the kubeconfig path: scripts and tests read it.
		fmt.Println(kubeconfig)
	case "down":
		if err := down(abs(*state), true); err != nil {
			fatal(err)
		}
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: controlplane up|down [-state DIR] [-bin DIR] [-kwok-crds DIR] [-nodes N]")
	os.Exit(2)
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
	os.Exit(1)
}
