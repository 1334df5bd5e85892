#!/usr/bin/env bash
# e2e: `lims replay` as a user runs it. A workload consumed directly into one store must equal the
# store that record -> play (into a second broker) -> rebuild gives, and every key's records
# must reach the second broker complete and in order (the store alone cannot show a reordering:
# the stale-event guard hides it). Tampered captures prove both checks would fail. Also: bytes
# that are not UTF-8, --follow, paced play, rebuild --since (ISO-8601 and relative), bad
# captures (exit 2, nothing produced) and exit codes.
#   usage: replay.sh PATH/TO/lims    (KEEP_WORK=1 keeps the work directory)
set -euo pipefail
LIMS=${1:?usage: replay.sh PATH/TO/lims}
source "$(dirname "$0")/lib.sh"
E2E_TAG=replay E2E_FAIL_TAILS=1
e2e_init

# compare.py MODE BROKERS CAPTURE [PREFIX]: reads every record of the capture's topics (PREFIX in
# front) from BROKERS with its own client. MODE exact: the topics hold exactly the capture's
# records (topic, partition, offset, timestamp, key, value). MODE keys: for every topic and key,
# the values arrived complete and in the capture's order.
cat >compare.py <<'PY'
import base64, json, sys, time
from confluent_kafka import Consumer, TopicPartition
mode, brokers, capture = sys.argv[1:4]
prefix = sys.argv[4] if len(sys.argv) > 4 else ""
def field(r, name):
    if name + "_base64" in r:
        return base64.b64decode(r[name + "_base64"])
    return None if r[name] is None else r[name].encode()
want = [json.loads(line) for line in open(capture) if line.strip()]
want = [(prefix + r["topic"], r["partition"], r["offset"], r["timestamp"], field(r, "key"),
         field(r, "value")) for r in want]
c = Consumer({"bootstrap.servers": brokers, "group.id": "e2e-replay-check",
              "enable.auto.commit": False})
md = c.list_topics(timeout=10)
tps = [TopicPartition(t, p, 0) for t in sorted({w[0] for w in want})
       for p in md.topics[t].partitions]
todo = {}
for tp in tps:
    high = c.get_watermark_offsets(tp, timeout=10)[1]
    if high > 0:
        todo[(tp.topic, tp.partition)] = high
c.assign(tps)
got, deadline = [], time.monotonic() + 60
while todo and time.monotonic() < deadline:
    for m in c.consume(500, timeout=0.5):
        if m.error():
            continue
        got.append((m.topic(), m.partition(), m.offset(), m.timestamp()[1], m.key(), m.value()))
        if m.offset() + 1 >= todo.get((m.topic(), m.partition()), 1 << 62):
            del todo[(m.topic(), m.partition())]
c.close()
if todo:
    sys.exit(f"could not read {sorted(todo)} to their end")
if mode == "exact":
    diff = set(got) ^ set(want)
    print(f"replay:        {len(got)} records in the topics, {len(want)} in the capture, "
          f"{len(diff)} differ")
    sys.exit(1 if diff or len(got) != len(want) else 0)
def by_key(rows):
    out = {}
    for r in sorted(rows, key=lambda r: r[:3]):
        out.setdefault((r[0], r[4]), []).append(r[5])
    return out
g, w = by_key(got), by_key(want)
bad = [k for k in set(g) | set(w) if g.get(k) != w.get(k)]
for k in bad[:5]:
    print(f"replay: key {k}: {len(g.get(k, []))} records arrived, {len(w.get(k, []))} recorded"
          f"{' (same records, other order)' if sorted(g.get(k, [])) == sorted(w.get(k, [])) else ''}")
print(f"replay:        {len(w)} keys in the capture, {len(bad)} differ")
sys.exit(1 if bad or not w else 0)
PY
compare() { "$PY" compare.py "$@"; }

# A second dev-broker: its address is the first line of its stdout.
is_address() { [[ $1 =~ ^[0-9.]+:[0-9]+$ ]]; }
start_second_broker() {
  "$LIMS" dev-broker --partitions 3 >broker-b.out 2>broker-b.err &
  PIDS+=($!)
  wait_line broker-b.out 30 $! is_address || fail "the second dev-broker printed no address"
  B=$LINE
}

start_broker 2 broker-a.err
A=$BROKERS
start_second_broker
say "brokers: A $A (2 partitions per topic), B $B (3)"

"$LIMS" simulate -b "$A" --max-rate --count 200 --seed 3 2>sim.err || fail "simulate: $(cat sim.err)"
"$LIMS" consume -b "$A" --group direct --exit-at-end --store sqlite:expected.db 2>direct.err \
  || fail "consume exited non-zero"
grep -q '^consume: 200 records: [0-9]* applied, [0-9]* stale, [0-9]* deleted, 0 bad' direct.err \
  || fail "direct consume: $(cat direct.err)"
say "direct: $(grep -E '^consume: [0-9]+ records' direct.err | cut -d';' -f1)"

# --- record ------------------------------------------------------------------------------------
RECORD_RE='^record: 200 records \(pepper [0-9]+, potato [0-9]+, tomato [0-9]+\), [0-9]+ bytes in [0-9.]+ s$'
"$LIMS" replay record -b "$A" --out capture.jsonl 2>record.err || fail "replay record failed"
grep -Eq "$RECORD_RE" record.err || fail "record summary: $(cat record.err)"
compare exact "$A" capture.jsonl || fail "the capture is not exactly what broker A holds"
"$LIMS" replay record -b "$A" --out - >stdout.jsonl 2>stdout.err || fail "record --out - failed"
grep -Eq "$RECORD_RE" stdout.err || fail "record --out - summary: $(cat stdout.err)"
cmp -s <(sort capture.jsonl) <(sort stdout.jsonl) || fail "record --out - wrote other data"
say "ok: $(grep '^record: ' record.err): exactly broker A's records; --out - the same"

# --- play into broker B, rebuild from there ----------------------------------------------------
"$LIMS" replay play -b "$B" --file capture.jsonl --max 2>play.err || fail "replay play failed"
grep -Eq '^play: 200 of 200 records \(pepper [0-9]+, potato [0-9]+, tomato [0-9]+\), [0-9]+ bytes in .*; 200 delivered, 0 failed$' \
  play.err || fail "play summary: $(cat play.err)"
compare keys "$B" capture.jsonl || fail "broker B does not hold every key's records in order"
say "ok: play: every key's records reached broker B complete and in order"

"$LIMS" replay rebuild -b "$B" --store sqlite:rebuilt.db --from-beginning 2>rebuild.err \
  || fail "replay rebuild failed"
grep -q '^rebuild: 200 records: [0-9]* applied, [0-9]* stale, [0-9]* deleted, 0 bad' rebuild.err \
  || fail "rebuild summary: $(cat rebuild.err)"
DB=rebuilt.db
# Broker B partitions the topics otherwise: where each record's last write came from differs.
SOURCES=lims_guard.source_topic,lims_guard.source_partition,lims_guard.source_offset
compare_to_reference "the rebuilt store" "$SOURCES"

# --- the checks above would catch a lost or reordered record ------------------------------------
# dropped.jsonl lacks the newest record of a key that has several; swapped.jsonl has two records
# of one key in the other order.
"$PY" - capture.jsonl <<'PY' || fail "could not tamper with the capture"
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
rows = [json.loads(l) for l in lines]
where = {}
for i, r in enumerate(rows):
    if r.get("value") and r.get("key"):
        where.setdefault((r["topic"], r["key"]), []).append(i)
several = sorted((k, v) for k, v in where.items() if len(v) >= 2)
key, idx = several[0]
last = max(idx, key=lambda i: rows[i]["offset"])
open("dropped.jsonl", "w").writelines(l for i, l in enumerate(lines) if i != last)
a, b = idx[0], idx[1]
swapped = list(lines)
ra, rb = json.loads(lines[a]), json.loads(lines[b])
ra["value"], rb["value"] = rb["value"], ra["value"]  # each offset now carries the other's value
swapped[a], swapped[b] = json.dumps(ra) + "\n", json.dumps(rb) + "\n"
open("swapped.jsonl", "w").writelines(swapped)
PY
compare keys "$B" dropped.jsonl >/dev/null && fail "the key check missed a dropped record"
compare keys "$B" swapped.jsonl >/dev/null && fail "the key check missed a reordered record"
"$LIMS" replay play -b "$B" --file dropped.jsonl --max --topic-prefix dropped. 2>dplay.err \
  || fail "play of the tampered capture failed"
"$LIMS" replay rebuild -b "$B" --topic-prefix dropped. --store sqlite:dropped.db --from-beginning \
  2>drebuild.err || fail "rebuild of the tampered capture failed"
(DB=dropped.db compare_to_reference "a store missing one record" "$SOURCES") >dcompare.out 2>&1 \
  && fail "the store comparison missed a dropped record"
say "ok: tampered captures: the key check sees a dropped and a reordered record, the store check a dropped one"

# --- bytes that are not UTF-8 survive the round trip ---------------------------------------------
"$PY" - "$A" <<'PY' || fail "could not produce the binary record"
import sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1]})
p.produce("binary", key=b"\xff\x00k", value=b"\x80\xfe\x00 not UTF-8")
p.produce("binary", key=None, value=None)
p.flush(10)
PY
"$LIMS" replay record -b "$A" --topics binary --out binary.jsonl 2>binary.err \
  || fail "record of the binary topic failed: $(cat binary.err)"
grep -q '"key_base64":"/wBr","value_base64":"gP4AIG5vdCBVVEYtOA=="' binary.jsonl \
  || fail "non-UTF-8 bytes were not written as base64: $(cat binary.jsonl)"
grep -q '"key":null,"value":null' binary.jsonl || fail "a null key and a tombstone: $(cat binary.jsonl)"
"$LIMS" replay play -b "$B" --file binary.jsonl --max --topic-prefix copy. 2>/dev/null \
  || fail "play of the binary capture failed"
compare keys "$B" binary.jsonl copy. || fail "the binary records did not arrive byte for byte"
say "ok: bytes that are not UTF-8, a null key and a tombstone arrive as they were"

# --- --follow: keeps recording until SIGTERM -----------------------------------------------------
"$LIMS" replay record -b "$A" --follow --out follow.jsonl 2>follow.err &
FOLLOW=$!
PIDS+=("$FOLLOW")
lines_at_least() { [[ -f follow.jsonl ]] && (($(wc -l <follow.jsonl) >= $1)); }
wait_until 30 "--follow to record the 200 records" lines_at_least 200
"$LIMS" simulate -b "$A" --max-rate --count 10 --seed 4 2>/dev/null || fail "simulate (follow)"
wait_until 30 "--follow to record 10 more" lines_at_least 210
kill -TERM "$FOLLOW"
code=0
wait "$FOLLOW" || code=$?
[[ $code == 0 ]] || fail "record --follow exited $code on SIGTERM: $(cat follow.err)"
grep -q '^record: 210 records (.*), [0-9]* bytes in [0-9.]* s (stopped)$' follow.err || fail "follow summary: $(cat follow.err)"
say "ok: --follow recorded what came later and stopped on SIGTERM with its summary"

# --- paced play: the original spacing divided by --rate-multiplier ---------------------------------
"$PY" - <<'PY'
import json
rows = [json.loads(l) for l in open("capture.jsonl")][:3]
for i, r in enumerate(rows):  # 0, 1 and 2 s apart, in three partitions
    r["timestamp"], r["topic"], r["partition"] = 1_000_000 + 1000 * i, "paced", i
open("paced.jsonl", "w").writelines(json.dumps(r) + "\n" for r in rows)
PY
start=$(date +%s%N)
"$LIMS" replay play -b "$B" --file paced.jsonl --rate-multiplier 4 2>paced.err || fail "paced play"
ms=$((($(date +%s%N) - start) / 1000000))
((ms >= 480 && ms < 5000)) || fail "2 s of capture at 4x took $ms ms, expected about 500"
say "ok: 2 s of capture at --rate-multiplier 4 took $ms ms"

# --- rebuild --since: only the records stamped since -------------------------------------------------
since_ms=$(($(date +%s%3N) + 1))
until (($(date +%s%3N) > since_ms)); do :; done  # every earlier record is stamped before it
SINCE=$(date -u -d "@$((since_ms / 1000)).$(printf %03d $((since_ms % 1000)))" +%Y-%m-%dT%H:%M:%S.%3N)
"$LIMS" simulate -b "$B" --max-rate --count 40 --seed 9 2>/dev/null || fail "simulate (since)"
"$LIMS" replay rebuild -b "$B" --store sqlite:since.db --since "$SINCE" 2>since.err \
  || fail "rebuild --since failed: $(cat since.err)"
grep -q '^rebuild: 40 records: ' since.err || fail "rebuild --since $SINCE: $(cat since.err)"
"$PY" - since.db "$since_ms" <<'PY' || fail "since.db holds a change from before $SINCE"
import sqlite3, sys
db, since_us = sqlite3.connect(sys.argv[1]), int(sys.argv[2]) * 1000
rows = old = 0
for plant in ("potato", "tomato", "pepper"):
    rows += db.execute(f"select count(*) from imagecolplant{plant}").fetchone()[0]
    old += db.execute(f"select count(*) from imagecolplant{plant} "
                      "where coalesce(updated_at, created_at) < ?", (since_us,)).fetchone()[0]
print(f"replay:        since.db: {rows} rows, {old} changed before the time")
sys.exit(1 if old or not rows else 0)
PY
"$LIMS" replay rebuild -b "$B" --store sqlite:hour.db --since 1h 2>hour.err || fail "rebuild --since 1h"
grep -q '^rebuild: 240 records: ' hour.err || fail "rebuild --since 1h: $(cat hour.err)"
say "ok: rebuild --since $SINCE read the 40 later records only; --since 1h all 240"

# --- bad captures and exit codes ------------------------------------------------------------------
expect_exit() {  # expect_exit CODE CMD...
  local want=$1 got=0
  shift
  "$@" >out 2>err || got=$?
  [[ $got == "$want" ]] || fail "'$*' exited $got, expected $want: $(cat err)"
}
{ head -n 5 capture.jsonl; echo '{"topic":"potato","partition":"one","offset":0,"timestamp":1,"key":null,"value":null}'; } >bad.jsonl
BROKERS=$B  # (read_offsets reads $BROKERS)
read_offsets
before=$HIGH
expect_exit 2 "$LIMS" replay play -b "$B" --file bad.jsonl --max
grep -q '^lims: error: bad.jsonl:6: partition: expected a partition number' err || fail "bad line: $(cat err)"
read_offsets
[[ $HIGH == "$before" ]] || fail "a bad capture produced records ($before, then $HIGH)"
BROKERS=$A
expect_exit 2 "$LIMS" replay play -b "$B" --file capture.jsonl --max --rate-multiplier 2
expect_exit 2 "$LIMS" replay rebuild -b "$B" --store sqlite:x.db
expect_exit 2 "$LIMS" replay rebuild -b "$B" --store sqlite:x.db --since yesterday
expect_exit 2 "$LIMS" replay
expect_exit 2 "$LIMS" replay record -b "$A" --topics no-such-topic --out x.jsonl
cp capture.jsonl kept.jsonl
expect_exit 3 "$LIMS" replay record -b 127.0.0.1:1 --connect-timeout 1 --out kept.jsonl
cmp -s capture.jsonl kept.jsonl || fail "an unreachable broker emptied the capture it was to replace"
expect_exit 3 "$LIMS" replay play -b 127.0.0.1:1 --connect-timeout 1 --file capture.jsonl
say "ok: a bad line exits 2 naming file:line and field, producing nothing; usage 2, unreachable 3"

stop_broker
echo "replay: ok"
