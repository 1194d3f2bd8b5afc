#!/usr/bin/env bash
# Over the wire: while redis-cli --pipe loads N keys (default 10 M, 100 B values) into a
# running server, a second client sends PING every millisecond and records the slowest
# reply. A server that rehashes its table at once shows a spike of hundreds of ms here.
# usage: Benchmarks/growth-latency.sh PORT [N]
set -euo pipefail
PORT=$1; N=${2:-10000000}
python3 - "$PORT" <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
worst = 0.0; samples = []; deadline = time.time() + 600
open("/tmp/growth-latency.ready", "w").close()
import os
while os.path.exists("/tmp/growth-latency.ready") and time.time() < deadline:
    t = time.perf_counter(); s.sendall(b"PING\r\n"); s.recv(64); d = time.perf_counter() - t
    samples.append(d); worst = max(worst, d); time.sleep(0.001)
samples.sort()
print("ping_samples=%d p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f" % (len(samples),
      samples[len(samples)//2]*1e3, samples[int(len(samples)*.99)]*1e3, samples[int(len(samples)*.999)]*1e3, worst*1e3))
PY
probe=$!
sleep 0.5
awk -v n="$N" 'BEGIN{ v = sprintf("%0100d", 0); for (i = 0; i < n; i++) { k = "key:" i;
  printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n", length(k), k, v } }' \
  | redis-cli -p "$PORT" --pipe | tail -1
rm -f /tmp/growth-latency.ready
wait $probe
echo "dbsize=$(redis-cli -p "$PORT" dbsize)"
