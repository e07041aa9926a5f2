#!/bin/sh
# Installs what the notification tests' mail server needs: Debian's
# python3-aiosmtpd for Debian's own /usr/bin/python3. Safe to run again.
set -eu
if /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "python3-aiosmtpd is missing and installing it needs root: apt-get install python3-aiosmtpd" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq python3-aiosmtpd >/dev/null
/usr/bin/python3 -c 'import aiosmtpd'
