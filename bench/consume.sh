#!/usr/bin/env bash
# Benchmark: `lims consume --exit-at-end` into SQLite, against a baseline Python consumer
# (bench/baseline_consumer.py) run the same way, from the embedded Kafka or a real broker.
# Pre-fills the broker with EVENTS events of ~30 kB over PARTITIONS partitions per topic (under
# the embedded Kafka's 5 MiB per partition), then consumes them RUNS times with each consumer,
# each run a new group into a fresh store, and prints every run, the medians (steady rate, CPU
# time per event, peak RSS, minor page faults) and the ratios of the medians. CPU time is the
# process's user + system time over the whole run (start-up and group join included) divided by
# the events read: a figure that moves less between machines than a rate.
#
# KAFKA=3.8 or KAFKA=4 runs a real Apache Kafka broker of that version instead (the test
# fixture, tests/fixtures/kafka: Java and Maven), and first runs each consumer once unmeasured:
# the first group on a new broker creates __consumer_offsets.
#
# CONSUME_ARGS adds arguments to every `lims consume` (a lever to try, e.g. "-X fetch.max.bytes=1048576");
# GLIBC_TUNABLES set to anything leaves glibc's allocator untuned (lims then skips its mallopt()).
# The last lims run's time-by-stage line is printed after the medians.
#
# Further lims binaries (other builds) are measured the same way, taking turns with the first run
# by run on the same pre-filled broker, and compared with it.
#
#   bench/consume.sh [PATH/TO/lims [OTHER/lims...]]
#   env: EVENTS=6000 PARTITIONS=16 RUNS=5 BASELINE=1 KAFKA=embedded CONSUME_ARGS=
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIMS=${1:-$ROOT/build-release/lims}
BUILDS=("$LIMS" "${@:2}")  # other builds to compare, named lims2, lims3, ... in the output
NAMES=(lims)
for ((i = 2; i <= ${#BUILDS[@]}; i++)); do NAMES+=("lims$i"); done
EVENTS=${EVENTS:-6000}
PARTITIONS=${PARTITIONS:-16}
RUNS=${RUNS:-5}
BASELINE=${BASELINE:-1}
KAFKA=${KAFKA:-embedded}
CONSUME_ARGS=${CONSUME_ARGS:-}
if [[ ! -x $LIMS ]]; then
  "$ROOT/scripts/setup"
  cmake -S "$ROOT" -B "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$ROOT/build-release" -j"$(nproc)" --target lims >/dev/null
fi
if [[ $BASELINE == 1 || $KAFKA != embedded ]] &&
  ! /usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null; then
  echo "bench: installing python3-confluent-kafka" >&2
  apt-get update -qq && apt-get install -y -qq python3-confluent-kafka >/dev/null
fi
WORK=$(mktemp -d)
BROKER_PID=
cleanup() {
  [[ -n $BROKER_PID ]] && kill "$BROKER_PID" 2>/dev/null || true
  [[ $KAFKA != embedded ]] && "$ROOT/tests/fixtures/kafka/stop" "$WORK/kafka" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ $KAFKA == embedded ]]; then
  coproc BROKER { exec "$LIMS" dev-broker --partitions "$PARTITIONS" 2>"$WORK/broker.err"; }
  BROKER_PID=$BROKER_PID
  read -r BROKERS <&"${BROKER[0]}"
else
  BROKERS=$("$ROOT/tests/fixtures/kafka/start" --kafka "$KAFKA" "$WORK/kafka")
  /usr/bin/python3 - "$BROKERS" "$PARTITIONS" <<'PY'
import sys
from confluent_kafka.admin import AdminClient, NewTopic
admin = AdminClient({"bootstrap.servers": sys.argv[1]})
topics = [NewTopic(t, int(sys.argv[2]), 1) for t in ("potato", "tomato", "pepper")]
for future in admin.create_topics(topics).values():
    future.result(30)
PY
fi
echo "bench: Kafka: $KAFKA at $BROKERS" >&2
# 14-16 kB JPEGs are 28-32 kB events once hex-encoded, as LIMS's are.
"$LIMS" simulate -b "$BROKERS" --max-rate --count "$EVENTS" --image-size 14000:16000 --seed 1 \
  2>"$WORK/simulate.err"
cat "$WORK/simulate.err" >&2

# measure NAME RUN COMMAND... (the command gets GROUP and STORE_PATH appended in that order)
measure() {
  local name=$1 run=$2 summary records rate mbs rss_kib cpu_s faults
  shift 2
  rm -f "$WORK"/bench.db*
  /usr/bin/time -v "$@" "$name-$run" "$WORK/bench.db" 2>"$WORK/run.err" >/dev/null
  summary=$(grep -E '^consume: [0-9]+ records' "$WORK/run.err" | tail -1)
  records=$(sed -E 's/^consume: ([0-9]+) records.*/\1/' <<<"$summary")
  rate=$(sed -E 's/.*steady rate ([0-9]+) events\/s.*/\1/' <<<"$summary")
  mbs=$(sed -E 's/.*events\/s, ([0-9.]+) MB\/s.*/\1/' <<<"$summary")
  rss_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/run.err")
  cpu_s=$(awk -F': ' '/User time|System time/ {t += $2} END {print t}' "$WORK/run.err")
  faults=$(awk -F': ' '/Minor \(reclaiming a frame\) page faults/ {print $2}' "$WORK/run.err")
  grep -E '^consume: time by stage' "$WORK/run.err" >"$WORK/$name.stages" || true
  [[ $records == "$EVENTS" ]] || echo "bench: warning: $name run $run read $records of $EVENTS" >&2
  echo "$name,$run,$records,$rate,$mbs,$(awk -v c="$cpu_s" -v n="$records" \
    'BEGIN {printf "%.1f", n ? c * 1e6 / n : 0}'),$((rss_kib / 1024)),$faults"
}
lims_consume() {  # LIMS GROUP STORE_PATH
  # shellcheck disable=SC2086 # CONSUME_ARGS is a list of arguments
  "$1" consume -b "$BROKERS" --exit-at-end --progress 0 --group "$2" --store "sqlite:$3" \
    $CONSUME_ARGS
}
export -f lims_consume
export BROKERS CONSUME_ARGS

if [[ $KAFKA != embedded ]]; then  # warm-up runs, not measured
  for i in "${!BUILDS[@]}"; do
    lims_consume "${BUILDS[$i]}" "warmup-lims$i" "$WORK/warmup$i.db" >/dev/null 2>&1
  done
  if [[ $BASELINE == 1 ]]; then
    /usr/bin/python3 "$ROOT/bench/baseline_consumer.py" "$BROKERS" warmup-python \
      "$WORK/warmup-py.db" >/dev/null 2>&1
  fi
fi
echo "consumer,run,records,events_per_s,mb_per_s,cpu_us_per_event,peak_rss_mib,minor_faults"
{
  for run in $(seq 1 "$RUNS"); do  # the builds take turns, run by run
    for i in "${!BUILDS[@]}"; do
      measure "${NAMES[$i]}" "$run" bash -c 'lims_consume "$@"' _ "${BUILDS[$i]}"
    done
  done
  if [[ $BASELINE == 1 ]]; then
    for run in $(seq 1 "$RUNS"); do
      measure python "$run" /usr/bin/python3 "$ROOT/bench/baseline_consumer.py" "$BROKERS"
    done
  fi
} | tee "$WORK/runs.csv"
/usr/bin/python3 - "$WORK/runs.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]),
                           fieldnames=["consumer", "run", "records", "eps", "mbs", "cpu", "rss",
                                       "faults"]))
medians = {}
for name in dict.fromkeys(r["consumer"] for r in rows):
    mine = [r for r in rows if r["consumer"] == name]
    med = lambda k: statistics.median(float(r[k]) for r in mine)
    medians[name] = {k: med(k) for k in ("eps", "cpu", "rss")}
    print(f"{name}: median of {len(mine)} runs: {med('eps'):.0f} events/s, "
          f"{med('mbs'):.1f} MB/s, {med('cpu'):.0f} us CPU per event, peak RSS {med('rss'):.0f} MiB, "
          f"{med('faults'):.0f} minor page faults")
lims = medians["lims"]
for name, m in medians.items():
    if name.startswith("lims") and name != "lims" and lims["eps"] and lims["cpu"]:
        print(f"{name} / lims: {m['eps'] / lims['eps']:.2f}x the events/s, "
              f"{m['cpu'] / lims['cpu']:.2f}x the CPU per event")
if "python" in medians and medians["python"]["eps"] and lims["cpu"]:
    py = medians["python"]
    print(f"lims / python: {lims['eps'] / py['eps']:.1f}x the events/s, "
          f"{py['cpu'] / lims['cpu']:.1f}x less CPU per event")
PY
if [[ -s $WORK/lims.stages ]]; then sed 's/^consume:/lims, last run:/' "$WORK/lims.stages"; fi
