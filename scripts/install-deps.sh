#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, as root:
# the system packages in scripts/system-packages.txt, then the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" = 0 ]; then
  apt-get update -q >/dev/null 2>&1 || echo "install-deps: apt-get update reported errors; continuing with the indexes it got" >&2
  # shellcheck disable=SC2046
  apt-get install -y -q --no-install-recommends $(grep -v '^#' scripts/system-packages.txt) >/dev/null
else
  echo "install-deps: not root, skipping system packages (tests that need them will say so)" >&2
fi
npm ci --no-audit --no-fund
