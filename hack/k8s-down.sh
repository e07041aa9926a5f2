#!/usr/bin/env bash
# k8s-down.sh stops the control plane k8s-up.sh started and removes its
# state. K8S_STATE_DIR and K8S_BIN_DIR are read as k8s-up.sh reads them.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${K8S_STATE_DIR:-$ROOT/.cache/k8s/run}
BIN=${K8S_BIN_DIR:-$ROOT/.cache/k8s/bin}

if [ ! -d "$STATE" ]; then
	echo "k8s-down: no control plane in $STATE" >&2
	exit 0
fi
if [ ! -x "$BIN/controlplane" ]; then
	echo "k8s-down: $BIN/controlplane is missing; cannot stop $STATE (see $STATE/pids.json)" >&2
	exit 1
fi
exec "$BIN/controlplane" down -state "$STATE"
