#!/bin/sh
# Re-records the committed capture fixtures (needs root; run from anywhere):
#   test/baker-dump/captures/make_fixtures.sh build/bin/baker-dump
# any_v4_v6.pcap: `baker-dump -i any` (Linux cooked capture) of IPv4 and IPv6 loopback datagrams:
# heartbeats 1, 2, 4 (a gap), a goodbye, Deltas to a subscriber on ::1 with a gap, a snapshot
# chunk, one undecodable datagram (protocol v2, ops and snapshot routes with versions). Fixed
# incarnation and epoch, sent_ms = the clock; the time stamps are whenever it was recorded. (The
# committed file was recorded before versions and its three directory datagrams rewritten to the
# shapes below, time stamps kept.)
set -eu
dump=${1:?usage: make_fixtures.sh path/to/baker-dump}
here=$(cd "$(dirname "$0")" && pwd)
out="$here/any_v4_v6.pcap"
"$dump" -i any --port 47400 -c 9 -w "$out" 2>"$out.log" &
pid=$!
# wait for "listening"
for _ in $(seq 50); do grep -q listening "$out.log" && break; sleep 0.1; done
/usr/bin/python3 - <<'PY'
import socket, msgpack, time
INC = 1796000000000000  # the watson incarnation: its start, us since 1970
def pack(t, body): return msgpack.packb([2, t, 0, body], use_bin_type=True)
def now_ms(): return int(time.time() * 1000)
def hb(seq): return pack(1, ["greeting", "i-1", bytes([10, 0, 0, 1]), 8080, 100, 0, ["v1"],
                             INC, seq, 500, now_ms()])
w = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
w.bind(("127.0.0.1", 47401))
for seq in (1, 2, 4):
    w.sendto(hb(seq), ("127.0.0.1", 47400))
w.sendto(pack(2, ["greeting", "i-1", INC, 5, now_ms()]), ("127.0.0.1", 47400))
d = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
d.bind(("::1", 47400))
s = ("::1", 47402)
# ops and snapshot routes carry the version (watson incarnation, seq) they come from; i-2's watson
# started 1 us after i-1's; its remove is a goodbye (removal 1)
add = [0, "greeting", "i-2", bytes(15) + b"\x02", 9090, 100, 0, [], INC + 1, 1]
sub = 0x77
d.sendto(pack(5, [0xd1, sub, 0, 0, 1, 0, [add]]), s)
d.sendto(pack(5, [0xd1, sub, 0, 2, 3, 0, [[2, "greeting", "i-2", INC + 1, 2, 1]]]), s)
d.sendto(pack(8, [0xd1, sub, 9, 3, 0, 2, 1,
                  [["greeting", "i-1", bytes([10, 0, 0, 1]), 8080, 100, 0, [], INC, 4]]]), s)
d.sendto(pack(6, [0xd1, sub, 9, 3, 0xabc, 1, 1, 15000]), s)
w.sendto(b"\xc1\x00", ("127.0.0.1", 47400))
PY
wait "$pid"
rm -f "$out.log"
ls -l "$out"
