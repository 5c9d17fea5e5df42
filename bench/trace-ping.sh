#!/usr/bin/env bash
# Where a guest ping's round trip goes when QEMU's network is `usernet serve`:
# traces the scheduler and the socket syscalls of the running QEMU and serve
# processes for a few seconds (the kernel's tracefs; needs root) and prints,
# per echo request:
#   wake     QEMU's vCPU thread wakes the serve process -> its epoll returns
#   serve    the serve process reads the request -> writes the reply
#   qemu-rx  that write -> QEMU's main loop receives the reply (its wake-up,
#            then the big QEMU lock, held while the guest's vCPU runs)
# Run it while a guest pings, e.g. in another terminal:
#   scripts/netns-run.sh node --import tsx bench/backends.ts --backends usernet --figures ping --rounds 3
#   bench/trace-ping.sh [SECONDS]
# Matches 98-byte pings (busybox's default): 102 bytes with QEMU's length header.
set -euo pipefail
seconds=${1:-3}
T=/sys/kernel/tracing
[ -d "$T/events" ] || mount -t tracefs nodev "$T"
qemu=$(ps -eo pid,comm | awk '$2 ~ /^qemu-system/ {print $1; exit}')
serve=$(ps -eo pid,args | awk '/usernet(\.js)? serve/ && !/awk/ {print $1; exit}')
if [ -z "$qemu" ] || [ -z "$serve" ]; then
  echo "trace-ping: needs a running qemu-system-* and usernet serve (found qemu='$qemu' serve='$serve')" >&2
  exit 1
fi
out=$(mktemp)
cleanup() {
  echo 0 > "$T/tracing_on"
  echo 0 > "$T/events/enable"
  echo > "$T/set_event_pid"
  rm -f "$out"
}
trap cleanup EXIT
echo 0 > "$T/tracing_on"
echo > "$T/trace"
echo "$(ls /proc/$qemu/task /proc/$serve/task | grep -E '^[0-9]+$' | tr '\n' ' ')" > "$T/set_event_pid"
for e in sched/sched_waking syscalls/sys_exit_epoll_pwait syscalls/sys_exit_epoll_wait syscalls/sys_exit_read \
  syscalls/sys_enter_write syscalls/sys_enter_writev syscalls/sys_exit_recvmsg; do
  echo 1 > "$T/events/$e/enable"
done
echo 16384 > "$T/buffer_size_kb"
echo 1 > "$T/tracing_on"
sleep "$seconds"
echo 0 > "$T/tracing_on"
cat "$T/trace" > "$out"
awk -v serve="$serve" '
  function us(a, b) { return sprintf("%6.0f", (b - a) * 1e6) }
  $1 ~ /^qemu-system/ && $0 ~ ("sched_waking: comm=node pid=" serve " ") { req = $4 + 0; st = 1; next }
  st == 1 && $1 ~ ("-" serve "$") && /epoll_p?wait -> 0x[1-9]/ { woke = $4 + 0; st = 2; next }
  st == 2 && $1 ~ ("-" serve "$") && /sys_read -> 0x66$/ { rd = $4 + 0; st = 3; next }
  st == 3 && $1 ~ ("-" serve "$") && /sys_write(v)?\(/ { wr = $4 + 0; st = 4; next }
  st == 4 && $1 ~ /^qemu-system/ && /sys_recvmsg -> 0x66$/ {
    printf "wake %s us  serve %s us  qemu-rx %s us  request->reply in QEMU %s us\n", us(req, woke), us(rd, wr), us(wr, $4 + 0), us(req, $4 + 0)
    n++; st = 0
  }
  END { if (!n) print "no ping seen: is the guest pinging through this QEMU?" }
' "$out"
