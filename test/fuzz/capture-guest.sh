#!/usr/bin/env bash
# Captures what the bundled guest really sends and gets into test/fuzz/corpus/capture.pcap,
# the source of the fuzz seed corpus (then: node --import tsx test/fuzz/derive-corpus.ts).
# Inside the private namespace: a DNS responder on 127.0.0.1:53 answering every A query
# with 127.0.0.1, an HTTP server on 127.0.0.1:8080, and a TFTP root with one file.
#   scripts/netns-run.sh test/fuzz/capture-guest.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "${USERNET_NETNS:-}" = 1 ] || { echo "run it through scripts/netns-run.sh" >&2; exit 1; }
root=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$root"' EXIT
echo "hello from the tftp root of the capture" > "$root/hello.txt"
python3 -m http.server 8080 --bind 127.0.0.1 --directory "$root" >/dev/null 2>&1 &
python3 - <<'PY' &
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 53))
while True:
    d, a = s.recvfrom(4096)
    r = bytearray(d); r[2] |= 0x80; r[3] = 0x80; r[7] = 1
    r += bytes([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1])
    s.sendto(bytes(r), a)
PY
sleep 1
node bin/usernet.js run --timeout 600 --pcap test/fuzz/corpus/capture.pcap --netdev "user,tftp=$root" --exec \
  'udhcpc -i eth0 -q -n -t 5; nslookup www.example.test 10.0.2.3; ping -c 2 10.0.2.2; ping -c 1 -s 1400 10.0.2.2;
   wget -q -O- http://10.0.2.2:8080/hello.txt; tftp -g -r hello.txt -l /tmp/h 10.0.2.2;
   tftp -b 1024 -g -r hello.txt -l /tmp/h2 10.0.2.2; udhcpc -n -q -i eth0 >/dev/null 2>&1; echo done'
