#!/bin/sh
# The system packages the workbench needs beyond Python: Chromium and its driver (the web
# interface's end-to-end tests drive a real browser), PostgreSQL, age (the archive custodian's
# standard tool, which the custody tests use to open archive keys), and strace (the crash
# campaign, bench/crash_campaign.py, kills rehearsals at exact system calls with it).
# Idempotent: installs only what is missing, running `apt-get update` once, and only as root on
# Debian (or a derivative). Anywhere else, missing packages stop it with a one-line message.
# Other parts of the workbench may add packages to PACKAGES.
set -eu

PACKAGES="chromium chromium-driver postgresql age strace"

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
    for package in $PACKAGES; do
        installed "$package" || missing="$missing $package"
    done
else
    for command in chromium chromedriver psql age strace; do
        command -v "$command" >/dev/null 2>&1 || missing="$missing $command"
    done
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ] || [ ! -f /etc/debian_version ]; then
    echo "install-debian-packages: missing:$missing (as root on Debian: scripts/install-debian-packages.sh)" >&2
    exit 1
fi
echo "install-debian-packages: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086  # one word per package
apt-get install -y -qq --no-install-recommends $missing
