#!/usr/bin/env bash
# Benchmark: `lims consume --exit-at-end` from the embedded Kafka into SQLite.
# Pre-fills a dev-broker with EVENTS events of ~30 kB over PARTITIONS partitions per topic
# (under the embedded Kafka's 5 MiB per partition), then consumes them RUNS times, each run a new
# group into a fresh store, and prints every run and the medians: steady rate and peak RSS.
#
#   bench/consume.sh [PATH/TO/lims]       env: EVENTS=6000 PARTITIONS=16 RUNS=5
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIMS=${1:-$ROOT/build-release/lims}
EVENTS=${EVENTS:-6000}
PARTITIONS=${PARTITIONS:-16}
RUNS=${RUNS:-5}
if [[ ! -x $LIMS ]]; then
  "$ROOT/scripts/setup"
  cmake -S "$ROOT" -B "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$ROOT/build-release" -j"$(nproc)" --target lims >/dev/null
fi
WORK=$(mktemp -d)
trap 'kill $BROKER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

coproc BROKER { exec "$LIMS" dev-broker --partitions "$PARTITIONS" 2>"$WORK/broker.err"; }
BROKER_PID=$BROKER_PID
read -r BROKERS <&"${BROKER[0]}"
# 14-16 kB JPEGs are 28-32 kB events once hex-encoded, as LIMS's are.
"$LIMS" simulate -b "$BROKERS" --max-rate --count "$EVENTS" --image-size 14000:16000 --seed 1 \
  2>"$WORK/simulate.err"
cat "$WORK/simulate.err" >&2

echo "run,records,events_per_s,mb_per_s,peak_rss_mib"
for run in $(seq 1 "$RUNS"); do
  rm -f "$WORK"/bench.db*
  /usr/bin/time -v "$LIMS" consume -b "$BROKERS" --group "bench-$run" --exit-at-end \
    --store "sqlite:$WORK/bench.db" --progress 0 2>"$WORK/run.err"
  summary=$(grep '^consume: ' "$WORK/run.err" | tail -1)
  records=$(sed -E 's/^consume: ([0-9]+) records.*/\1/' <<<"$summary")
  rate=$(sed -E 's/.*steady rate ([0-9]+) events\/s.*/\1/' <<<"$summary")
  mbs=$(sed -E 's/.*events\/s, ([0-9.]+) MB\/s.*/\1/' <<<"$summary")
  rss_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/run.err")
  [[ $records == "$EVENTS" ]] || echo "bench: warning: run $run read $records of $EVENTS records" >&2
  echo "$run,$records,$rate,$mbs,$((rss_kib / 1024))"
done | tee "$WORK/runs.csv"
/usr/bin/python3 - "$WORK/runs.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), fieldnames=["run","records","eps","mbs","rss"]))
med = lambda k: statistics.median(float(r[k]) for r in rows)
print(f"median of {len(rows)} runs: {med('eps'):.0f} events/s, {med('mbs'):.1f} MB/s, "
      f"peak RSS {med('rss'):.0f} MiB")
PY
