#!/usr/bin/env bash
# Installs Debian's prometheus package, which the canary analysis tests
# start on a free port to scrape the local load balancer. Idempotent: does
# nothing when a prometheus binary is already on PATH.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1; then
	exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi
echo "installing prometheus from Debian" >&2
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
# The package's postinst starts a system service on :9090 where systemd
# runs; the tests start their own on a free port and never use it.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends prometheus >&2
command -v prometheus >/dev/null
