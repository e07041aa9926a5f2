#!/bin/sh
# Prints the path of Debian's Chromium, installing the package first when it
# is missing (as root, waiting for other installs to release the lock). The
# web UI's browser tests drive it with playwright-core.
set -eu
if path=$(command -v chromium 2>/dev/null); then
	echo "$path"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "Debian's chromium is missing; install it with: sudo apt-get install chromium" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >&2
command -v chromium
