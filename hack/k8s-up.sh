#!/usr/bin/env bash
# k8s-up.sh starts a local Kubernetes control plane for trying gennaker's
# Kubernetes provider and for its end-to-end tests: etcd (Debian's
# etcd-server, installed when missing), kube-apiserver, kube-controller-manager
# and kube-scheduler built from k8s.io/kubernetes (tools/k8s), and kwok
# simulating a few nodes so that pods are scheduled and become Ready.
#
# Binaries are built once into .cache/k8s/bin and reused until tools/k8s
# changes. Everything it prints goes to stderr except the last line, on
# stdout: the path of the kubeconfig to use.
#
#   K8S_STATE_DIR  where this control plane lives (default .cache/k8s/run)
#   K8S_BIN_DIR    where the binaries are cached (default .cache/k8s/bin)
#   K8S_NODES      how many fake nodes (default 3)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${K8S_STATE_DIR:-$ROOT/.cache/k8s/run}
BIN=${K8S_BIN_DIR:-$ROOT/.cache/k8s/bin}
GO=${GO:-go}
TOOLS=$ROOT/tools/k8s

log() { echo "k8s-up: $*" >&2; }

if ! command -v etcd >/dev/null 2>&1; then
	log "installing etcd-server from Debian"
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq etcd-server >&2
fi

mkdir -p "$BIN"
# Building takes long (minutes on two cores), so it runs at low priority and
# only when the pinned versions change; a lock keeps concurrent callers (a
# test and a developer) from building at once.
exec 9>"$BIN/.lock"
flock 9

kube_stamp=$(cat "$TOOLS/go.mod" "$TOOLS/go.sum" | sha256sum | cut -c1-16)
if [ "$(cat "$BIN/.kube-stamp" 2>/dev/null)" != "$kube_stamp" ]; then
	version=$(cd "$TOOLS" && $GO list -m -f '{{.Version}}' k8s.io/kubernetes)
	minor=$(echo "$version" | cut -d. -f2)
	ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
	log "building kube-apiserver, kube-controller-manager, kube-scheduler $version and kwok into $BIN (the first build takes a while)"
	start=$(date +%s)
	(cd "$TOOLS" && nice -n 10 $GO build -trimpath -ldflags "$ldflags" -o "$BIN/" \
		k8s.io/kubernetes/cmd/kube-apiserver \
		k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler \
		sigs.k8s.io/kwok/cmd/kwok) >&2
	log "built in $(( $(date +%s) - start ))s"
	echo "$kube_stamp" >"$BIN/.kube-stamp"
fi

cp_stamp=$(cat "$TOOLS/go.mod" "$TOOLS/go.sum" "$TOOLS"/cmd/controlplane/*.go | sha256sum | cut -c1-16)
if [ "$(cat "$BIN/.controlplane-stamp" 2>/dev/null)" != "$cp_stamp" ]; then
	(cd "$TOOLS" && nice -n 10 $GO build -trimpath -o "$BIN/controlplane" ./cmd/controlplane) >&2
	echo "$cp_stamp" >"$BIN/.controlplane-stamp"
fi

crds=$(cd "$TOOLS" && $GO list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/crd/bases
exec 9>&-
exec "$BIN/controlplane" up -state "$STATE" -bin "$BIN" -kwok-crds "$crds" -nodes "${K8S_NODES:-3}"
