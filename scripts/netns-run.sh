#!/usr/bin/env bash
# Runs a command inside a private network and mount namespace made for it:
# only loopback exists, and /etc/resolv.conf names 127.0.0.1, where a test's
# own DNS server may listen. Guest traffic forwarded by our slirp can reach
# nothing but this namespace's loopback. Needs root (CI runs as root).
set -euo pipefail
if [ "${USERNET_NETNS:-}" = 1 ]; then exec "$@"; fi
if [ "$(id -u)" != 0 ]; then
  echo "netns-run: needs root to create a private network namespace (unshare -n)" >&2
  exit 1
fi
exec unshare --net --mount --propagation private env USERNET_NETNS=1 bash -c '
  set -e
  ip link set lo up
  resolv=$(mktemp)
  printf "nameserver 127.0.0.1\n" > "$resolv"
  mount --bind "$resolv" /etc/resolv.conf
  exec "$@"' netns-run "$@"
