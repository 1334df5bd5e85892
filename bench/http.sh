#!/usr/bin/env bash
# Benchmark: GET /image-plant/{plant}/{id} from `lims serve` with CONNECTIONS concurrent
# keep-alive connections (wrk), over a SQLite store of IMAGES images per plant (~30 kB JSON each,
# as LIMS's are), and the same with ?fields=meta. Runs each RUNS times for DURATION seconds and
# prints every run (with wrk's socket errors, if any), the medians (requests/s, p50 and p99
# latency), the server's CPU time per request, and at the end its peak RSS. CONNECTIONS may list several counts ("8 64 256"): one store, each count in turn.
# SERVE_ARGS go to `lims serve` (e.g. "--http-threads 4").
#
#   bench/http.sh [PATH/TO/lims]   env: IMAGES=300 RUNS=5 DURATION=5 CONNECTIONS=8 SERVE_ARGS=
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIMS=${1:-$ROOT/build-release/lims}
IMAGES=${IMAGES:-300}
RUNS=${RUNS:-5}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-8}
if [[ ! -x $LIMS ]]; then
  "$ROOT/scripts/setup"
  cmake -S "$ROOT" -B "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$ROOT/build-release" -j"$(nproc)" --target lims >/dev/null
fi
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

# The store: IMAGES camera images per plant, streamed in as the consumer would.
coproc BROKER { exec "$LIMS" dev-broker --partitions 4 2>"$WORK/broker.err"; }
PIDS+=("$BROKER_PID")
read -r BROKERS <&"${BROKER[0]}"
"$LIMS" simulate -b "$BROKERS" --max-rate --count $((IMAGES * 3 * 2)) --image-size 14000:16000 \
  --seed 1 2>/dev/null
"$LIMS" consume -b "$BROKERS" -e --store "sqlite:$WORK/bench.db" 2>/dev/null

# shellcheck disable=SC2086  # SERVE_ARGS: words
"$LIMS" serve --store "sqlite:$WORK/bench.db" --listen 127.0.0.1:0 ${SERVE_ARGS:-} 2>"$WORK/serve.err" &
SERVER=$!
PIDS+=("$SERVER")
until grep -qs "serving HTTP on" "$WORK/serve.err"; do
  kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$WORK/serve.err" >&2; exit 1; }
  sleep 0.1
done
URL=$(grep -o 'http://[0-9.:]*' "$WORK/serve.err" | head -1)
TOTAL=$(/usr/bin/python3 -c "import json,urllib.request as u; print(min(json.load(u.urlopen( \
'$URL/image-plant/%s/total/' % p))['total_images'] for p in ('potato', 'tomato', 'pepper')))")

# Each request asks for a random id of a random plant.
cat >"$WORK/ids.lua" <<LUA
local plants = {"potato", "tomato", "pepper"}
local suffix = os.getenv("SUFFIX") or ""
request = function()
  return wrk.format("GET", "/image-plant/" .. plants[math.random(3)] .. "/" ..
                    math.random($TOTAL) .. suffix)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.3f %.3f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status,
    summary.requests))
end
LUA
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
cpu_seconds() { awk '{print ($14 + $15) / 100}' "/proc/$SERVER/stat"; }  # the server's user + system
for c in $CONNECTIONS; do
for variant in "full record:" "?fields=meta:?fields=meta"; do
  name=${variant%%:*}; suffix=${variant#*:}
  : >"$WORK/results"
  cpu_before=$(cpu_seconds)
  for run in $(seq "$RUNS"); do
    SUFFIX=$suffix wrk -t2 -c"$c" -d"${DURATION}s" --timeout 10s -s "$WORK/ids.lua" "$URL" >"$WORK/wrk.out"
    grep '^RESULT' "$WORK/wrk.out" | tee -a "$WORK/results" |
      sed "s/^RESULT/bench: $name run $run: req\/s p50_ms p99_ms non2xx requests:/"
    grep 'Socket errors' "$WORK/wrk.out" | sed "s/^ */bench: $name run $run: /" || true
  done
  echo "bench: $name: median $(cut -d' ' -f2 "$WORK/results" | median) req/s," \
    "p50 $(cut -d' ' -f3 "$WORK/results" | median) ms, p99 $(cut -d' ' -f4 "$WORK/results" | median) ms" \
    "($c connections, $TOTAL images per plant)"
  echo "bench: $name: lims serve used $(awk -v cpu="$(cpu_seconds)" -v before="$cpu_before" \
    '{n += $6} END {printf "%.0f", (cpu - before) / n * 1e6}' "$WORK/results") µs of CPU per request"
done
done
echo "bench: lims serve: peak RSS $(awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER/status") MiB"
