#!/usr/bin/env bash
# e2e: `lims bench` as a user runs it, on short embedded workloads: both paths with an SLA, a
# sweep, and --max; every file there with its columns, one events.csv row per change and path,
# summaries that add up, charts that parse as XML with a line per path. Then `lims simulate`
# with the same seed twice into producer stores: the same changes.
# With "real" as the second argument it runs one short bench against the real Kafka and MongoDB
# named by LIMS_KAFKA_BOOTSTRAP_FILE and LIMS_MONGODB_URI_FILE instead.
set -euo pipefail
LIMS=$(realpath "${1:?usage: bench.sh PATH/TO/lims [real]}")
E2E_TAG=e2e.bench
source "$(dirname "$0")/lib.sh"
e2e_init

# check_run DIR PATHS: the files of one run, cross-checked.
check_run() {
  local dir=$1 paths=$2
  for f in events.csv timeline.csv summary.csv stages.csv latency_cdf.svg bytes_over_time.svg \
    stages.svg report.md; do
    [[ -s $dir/$f ]] || fail "$dir/$f is missing or empty"
  done
  $PY - "$dir" "$paths" <<'PY' || fail "$dir: the files do not add up"
import csv, sys, xml.etree.ElementTree as ET
d, paths = sys.argv[1], sys.argv[2].split(",")
def rows(name, header):
    with open(f"{d}/{name}") as f:
        r = list(csv.reader(f))
    assert r[0] == header.split(","), f"{name}: header {r[0]}"
    return [dict(zip(r[0], x)) for x in r[1:]]
events = rows("events.csv", "mode,plant,id,op,bytes,produced_at,visible_at,latency_ms")
summary = rows("summary.csv", "mode,events,visible,lost,payload_bytes,wire_bytes,bytes_per_s,"
               "events_per_s,p50_ms,p95_ms,p99_ms,max_ms,within_sla,cpu_s,peak_rss_mib,"
               "vcpu_at_lims_pace,annual_cost_usd")
timeline = rows("timeline.csv", "second,mode,events,payload_bytes,wire_bytes")
assert [s["mode"] for s in summary] == paths, summary
for s in summary:
    mine = [e for e in events if e["mode"] == s["mode"]]
    assert len(mine) == int(s["events"]) > 0, (s["mode"], len(mine), s["events"])
    seen = [e for e in mine if e["visible_at"]]
    assert len(seen) == int(s["visible"]) == int(s["events"]), f"{s['mode']}: lost changes"
    assert all(float(e["latency_ms"]) >= 0 for e in seen)
    assert max(float(e["latency_ms"]) for e in seen) == float(s["max_ms"])
    assert sum(float(t["events"]) for t in timeline if t["mode"] == s["mode"]) == len(seen)
    assert float(s["wire_bytes"]) > 0 and float(s["cpu_s"]) > 0 and float(s["peak_rss_mib"]) > 1
# Each path accounted for its time by stage: its own stages, some work and CPU in them, a
# bottleneck named in the report, and a bar of CPU by stage in the chart.
stages = rows("stages.csv", "mode,stage,kind,wall_s,cpu_s")
expected = {"stream": {"fetch", "decode", "store", "commit", "kafka_client"},
            "batch": {"read", "write", "wait"}}
report = open(f"{d}/report.md").read()
assert "## Where the time goes" in report, "report.md lacks the time by stage"
for mode in paths:
    mine = {r["stage"]: r for r in stages if r["mode"] == mode}
    assert expected[mode] <= set(mine), (mode, sorted(mine))
    work = [r for r in mine.values() if r["kind"] == "work"]
    assert sum(float(r["wall_s"]) for r in work) > 0, (mode, work)
    assert sum(float(r["cpu_s"]) for r in mine.values()) > 0, (mode, mine)
    assert f"- {mode}: bottleneck **" in report, f"report.md names no bottleneck for {mode}"
bars = ET.parse(f"{d}/stages.svg").getroot()
labels = [t.text for t in bars.iter("{http://www.w3.org/2000/svg}text")
          if t.get("class") == "bar-label"]
assert labels == paths, labels
assert any(True for r in bars.iter("{http://www.w3.org/2000/svg}rect")
           if r.get("class") == "segment"), "stages.svg has no segments"
for svg in ("latency_cdf.svg", "bytes_over_time.svg"):
    root = ET.parse(f"{d}/{svg}").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
    # A line per path, each with points.
    lines = [p.get("points", "").split()
             for p in root.iter("{http://www.w3.org/2000/svg}polyline")]
    assert len(lines) == len(paths) and all(len(p) >= 1 for p in lines), (svg, lines)
PY
}

if [[ ${2:-} == real ]]; then
  step "bench --brokers --producer-store --store --batch-store: real Kafka and MongoDB"
  brokers=$(<"${LIMS_KAFKA_BOOTSTRAP_FILE:?}")
  uri=$(<"${LIMS_MONGODB_URI_FILE:?}")
  name=e2ebench$$
  "$LIMS" bench --duration 4 --speedup 600 --initial 20 --sla 10s --out real \
    --brokers "$brokers" --topic-prefix "$name." --partitions 2 --producer-store "$uri/${name}p" \
    --store "$uri/${name}s" --batch-store "$uri/${name}b" 2>real.err ||
    fail "bench exited $?: $(tail -3 real.err)"
  check_run real stream,batch
  # bench created the plant topics, with the partitions asked for, before the consumer joined.
  $PY - "$brokers" "$name." <<'PY' || fail "the plant topics are missing or not 2 partitions"
import sys
from confluent_kafka.admin import AdminClient
topics = AdminClient({"bootstrap.servers": sys.argv[1]}).list_topics(timeout=10).topics
for plant in ("potato", "tomato", "pepper"):
    t = topics[sys.argv[2] + plant]
    assert len(t.partitions) == 2, (plant, len(t.partitions))
PY
  say "both paths measured on real infrastructure"
  step "PASS"
  exit 0
fi

step "bench --mode both: two paths, their files, the SLA column"
"$LIMS" bench --duration 3 --speedup 600 --initial 10 --sla 10s --out both 2>both.err ||
  fail "bench exited $?: $(tail -3 both.err)"
grep -q '^bench: [0-9]* s, [0-9]* changes written' both.err || fail "no progress line"
check_run both stream,batch
grep -q '| stream | ' both/report.md && grep -q 'within SLA' both/report.md ||
  fail "report.md lacks the summary table with the SLA"
say "both paths measured"

step "bench --sweep intensity=1,2 --mode batch: a run per value and the scaling table"
"$LIMS" bench --mode batch --duration 2 --speedup 600 --initial 5 --sweep intensity=1,2 \
  --out sweep 2>sweep.err || fail "sweep exited $?: $(tail -3 sweep.err)"
check_run sweep/intensity-1 batch
check_run sweep/intensity-2 batch
[[ $(grep -c '^[12],batch,' sweep/sweep.csv) == 2 ]] || fail "sweep.csv lacks a row per value"
grep -q '^| 2 | batch |' sweep/report.md || fail "no scaling table"
say "sweep done"

step "bench --max --mode stream: a backlog drained"
"$LIMS" bench --mode stream --max --count 300 --initial 0 --out max 2>max.err ||
  fail "bench exited $?: $(tail -3 max.err)"
check_run max stream
[[ $(grep -c '^stream,' max/events.csv) == 300 ]] || fail "events.csv lacks the 300 changes"
say "backlog drained"

step "bench: records the broker dropped are reported as lost, not hidden"
# 1,200 changes of ~45 kB on one partition per topic overflow the embedded Kafka's 5 MiB.
"$LIMS" bench --mode stream --max --count 1200 --initial 0 --partitions 1 --out lost 2>lost.err ||
  fail "bench exited $?: $(tail -3 lost.err)"
grep -q 'changes never became visible on the stream path\*\*: the broker no longer holds' \
  lost/report.md || fail "report.md does not report the lost changes: $(grep never lost/report.md)"
$PY -c 'import csv, sys
rows = list(csv.DictReader(open("lost/summary.csv")))
assert int(rows[0]["lost"]) > 0 and int(rows[0]["visible"]) + int(rows[0]["lost"]) == 1200, rows' ||
  fail "summary.csv does not count the lost changes"
say "losses reported"

step "bench: a Ctrl-C stops it in order with a partial report; a killed bench takes its children"
# setsid: bench leads a process group, as in a terminal, where Ctrl-C signals the whole group.
setsid "$LIMS" bench --duration 120 --speedup 600 --initial 5 --out int 2>int.err &
BENCH=$!
PIDS+=("$BENCH")
progressing() { [[ $1 == *"changes written"* ]]; }
wait_line int.err 60 "$BENCH" progressing || fail "no progress line: $(tail -3 int.err)"
kill -INT -- "-$BENCH"
rc=0 && wait "$BENCH" || rc=$?
[[ $rc == 1 ]] || fail "an interrupted bench exited $rc, not 1: $(tail -3 int.err)"
grep -q 'Interrupted' int/report.md || fail "no partial report after Ctrl-C: $(tail -3 int.err)"
setsid "$LIMS" bench --duration 120 --speedup 600 --initial 5 --out killed 2>killed.err &
BENCH=$!
PIDS+=("$BENCH")
wait_line killed.err 60 "$BENCH" progressing || fail "no progress line: $(tail -3 killed.err)"
children() { pgrep -f -- "killed/(stream|batch)-acks.csv" >/dev/null; }
children || fail "no consume or sync-batch process of the run found"
kill -KILL "$BENCH"
wait "$BENCH" 2>/dev/null || true
wait_until 30 "the paths' processes to end with bench" eval '! children'
say "interrupted and killed"

step "bench: a change the producer store refuses ends the run with the store's error"
"$LIMS" bench --mode stream --duration 120 --speedup 600 --initial 5 --out refused \
  2>refused.err &
BENCH=$!
PIDS+=("$BENCH")
wait_line refused.err 60 "$BENCH" progressing || fail "no progress line: $(tail -3 refused.err)"
# Another writer holds the producer store: the next change waits out SQLite's 5 s, then fails.
$PY -c 'import sqlite3, time
db = sqlite3.connect("refused/producer.db", isolation_level=None)
db.execute("begin exclusive")
time.sleep(60)' &
LOCK=$!
PIDS+=("$LOCK")
rc=0 && wait "$BENCH" || rc=$?
kill "$LOCK"
[[ $rc == 1 ]] || fail "bench exited $rc with its producer store locked"
grep -q '^lims: error: store sqlite:refused/producer.db: BEGIN IMMEDIATE: database is locked$' \
  refused.err ||
  fail "no clear store error: $(tail -3 refused.err)"
say "store error reported"

step "bench: usage errors"
"$LIMS" bench --sweep colour=1,2 --out x 2>err && fail "an unknown sweep parameter was accepted"
grep -q 'expected intensity=... or cameras=...' err || fail "unclear sweep error: $(cat err)"
"$LIMS" bench --sweep cameras=2x --out x 2>err && fail "--sweep cameras=2x was accepted"
grep -q "'2x' is not a valid value (1 to 1000)" err || fail "unclear sweep value error: $(cat err)"
"$LIMS" simulate --initial 5 2>err && fail "simulate --initial without a store was accepted"
grep -q -- '--initial needs --producer-store or --prefill-store' err ||
  fail "unclear --initial error: $(cat err)"
"$LIMS" bench --sla soon --out x 2>err && fail "a bad --sla was accepted"
grep -q "\-\-sla 'soon': expected a duration" err || fail "unclear --sla error: $(cat err)"

step "simulate: the same seed writes the same changes to the producer store"
start_broker 1 broker.err
for run in a b; do
  "$LIMS" simulate -b "$BROKERS" --max-rate --count 40 --seed 9 --initial 3 \
    --producer-store "sqlite:$run.db" 2>"sim-$run.err" || fail "simulate exited $?"
done
"$LIMS" simulate -b "$BROKERS" --max-rate --count 40 --seed 10 --initial 3 \
  --producer-store sqlite:c.db 2>/dev/null
dump() {  # everything but the times, which are the wall clock's
  $PY -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for t, in db.execute("select name from sqlite_master where type = ? order by name", ("table",)):
    cols = [("length(data)" if c[1] == "data" else c[1])
            for c in db.execute(f"pragma table_info({t})") if "_at" not in c[1]]
    for row in db.execute("select " + ", ".join(cols) + f" from {t} order by 1, 2"):
        print(t, row)' "$1"
}
[[ $(dump a.db | wc -l) -gt 15 ]] || fail "the producer store holds too little: $(dump a.db | wc -l)"
cmp -s <(dump a.db) <(dump b.db) || fail "two runs with seed 9 wrote different changes"
cmp -s <(dump a.db) <(dump c.db) && fail "seeds 9 and 10 wrote the same changes"
say "deterministic"
step "PASS"
