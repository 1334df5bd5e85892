# Shared pieces of the e2e scripts; each sources it with `source "$(dirname "$0")/lib.sh"` and
# then calls e2e_init. Not a test by itself.
#
# Settings a script may make before e2e_init:
#   E2E_TAG          prefix of every line it prints (default "e2e")
#   E2E_KILL_SIGNAL  signal the cleanup sends to what is left in PIDS (default TERM)
#   E2E_FAIL_TAILS   1: fail shows the last lines of every *.err in the work directory
# KEEP_WORK=1 in the environment keeps the work directory.

PY=/usr/bin/python3  # has sqlite3 and confluent_kafka
E2E_TAG=${E2E_TAG:-e2e}
E2E_KILL_SIGNAL=${E2E_KILL_SIGNAL:-TERM}
E2E_FAIL_TAILS=${E2E_FAIL_TAILS:-0}
PIDS=()      # background processes the cleanup ends
TAIL_PID=    # a `tail -F` of wait_line, while it runs
BROKER_PID=  # the dev-broker of start_broker

# e2e_init: a fresh work directory (the current one from now on), removed on exit along with
# every process in PIDS.
e2e_init() {
  WORK=$(mktemp -d)
  T0=$SECONDS
  trap e2e_cleanup EXIT
  trap 'exit 130' INT TERM
  cd "$WORK"
}
e2e_cleanup() {
  local p
  # (CONT first: a test may have stopped one, e.g. the broker.)
  for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do kill -"$E2E_KILL_SIGNAL" "$p" 2>/dev/null || true; done
  [[ -n $TAIL_PID ]] && { kill "$TAIL_PID" 2>/dev/null || true; }
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ ${KEEP_WORK:-0} != 0 ]]; then
    echo "$E2E_TAG: work dir kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}

step() { echo "$E2E_TAG: $*"; }
say() { printf '%s: [%3ds] %s\n' "$E2E_TAG" $((SECONDS - T0)) "$*"; }  # step, with the time taken
fail() {
  echo "$E2E_TAG: FAIL: $*" >&2
  if [[ $E2E_FAIL_TAILS == 1 ]]; then
    local f
    for f in "$WORK"/*.err; do [[ -e $f ]] && { echo "--- tail of ${f##*/}" >&2; tail -n 8 "$f" >&2; }; done
  fi
  exit 1
}

# start_broker PARTITIONS LOG: `lims dev-broker` (3 topics x PARTITIONS), its stderr to LOG; sets
# BROKER_PID and BROKERS, the address it prints as the first line of its stdout.
start_broker() {
  coproc BROKER { exec "$LIMS" dev-broker --partitions "$1" 2>"$2"; }
  PIDS+=("$BROKER_PID")
  read -r -t 30 BROKERS <&"${BROKER[0]}" || fail "dev-broker printed no address"
  [[ $BROKERS =~ ^[0-9.]+:[0-9]+$ ]] || fail "dev-broker's first line is '$BROKERS', not host:port"
}
# stop_broker: SIGTERM the dev-broker; it must exit 0.
stop_broker() {
  kill -TERM "$BROKER_PID"
  wait "$BROKER_PID" || fail "dev-broker did not exit 0 on SIGTERM"
}

# wait_until SECONDS WHAT CMD...: run CMD every 0.2 s until it succeeds; fail after SECONDS.
wait_until() {
  local secs=$1 what=$2 deadline=$((SECONDS + $1))
  shift 2
  until "$@"; do
    ((SECONDS < deadline)) || fail "waited ${secs} s in vain for: $what"
    sleep 0.2
  done
}

# wait_line FILE SECONDS PID PREDICATE: follow FILE (from its start) until a line makes the shell
# function PREDICATE succeed (it sees the line in $1; BASH_REMATCH stays set for the caller), and
# print nothing. Fails if SECONDS pass or process PID (if not empty) ends first.
LINE=
wait_line() {
  local file=$1 secs=$2 pid=$3 pred=$4 fd deadline=$((SECONDS + $2))
  exec {fd}< <(exec tail -n +1 -F "$file" 2>/dev/null)
  TAIL_PID=$!
  local rc=1
  while ((SECONDS < deadline)); do
    if IFS= read -r -t 0.2 -u "$fd" LINE; then
      if "$pred" "$LINE"; then rc=0; break; fi
    elif [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      # It ended: drain what it wrote, then give up.
      while IFS= read -r -t 0.2 -u "$fd" LINE; do "$pred" "$LINE" && { rc=0; break; }; done
      break
    fi
  done
  kill "$TAIL_PID" 2>/dev/null || true
  TAIL_PID=
  exec {fd}<&-
  return $rc
}

# wait_fifo FD SECONDS PATTERN WHAT: reads lines from FD (a process's stderr through a FIFO)
# until one matches the glob PATTERN; fails naming WHAT when SECONDS pass or the writer closes it,
# showing the last lines read. A line cut by a read's timeout is joined with its rest.
wait_fifo() {
  local fd=$1 deadline=$((SECONDS + $2)) pattern=$3 what=$4 line part code
  local -a seen=()
  line=
  while ((SECONDS < deadline)); do
    code=0
    part=
    IFS= read -r -t 1 -u "$fd" part || code=$?
    line+=$part
    if ((code == 0)); then
      # shellcheck disable=SC2053  # PATTERN is a glob
      [[ $line == $pattern ]] && return 0
      seen+=("$line")
      line=
    elif ((code <= 128)); then
      printf '%s\n' "${seen[@]: -20}" "$line" >&2
      fail "the process ended before $what"
    fi
  done
  printf '%s\n' "${seen[@]: -20}" "$line" >&2
  fail "waited $2 s in vain for $what"
}

# url_of LOG: waits for the "serving HTTP on URL" line of a process logging to LOG, prints URL.
url_of() {
  local deadline=$((SECONDS + 30))
  until grep -q 'serving HTTP on http://' "$1"; do
    ((SECONDS < deadline)) || { cat "$1"; fail "no 'serving HTTP' line in $1"; }
    sleep 0.1
  done
  grep -o 'http://[0-9.:]*' "$1" | head -1
}

# get URL [ACCEPT]: prints "STATUS CONTENT-TYPE" on the first line, then the body. A reader that
# stops early (get URL | head -1) is no error.
get() {  # URL [ACCEPT]: prints "STATUS CONTENT-TYPE", then the body; GET_TIMEOUT s (10) at most
  "$PY" - "$@" <<'PY'
import os, sys, urllib.request, urllib.error
url = sys.argv[1]
headers = {"Accept": sys.argv[2]} if len(sys.argv) > 2 else {}
try:
    r = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                               timeout=float(os.environ.get("GET_TIMEOUT", "10")))
except urllib.error.HTTPError as e:
    r = e
body = r.read()
try:
    sys.stdout.write("%d %s\n" % (r.status if hasattr(r, "status") else r.code, r.headers["Content-Type"]))
    sys.stdout.flush()
    sys.stdout.buffer.write(body)
    sys.stdout.flush()
except BrokenPipeError:
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (nothing left to flush at exit)
PY
}

# --- the fault tests (crash.sh, rebalance.sh): a group of consumers writing one SQLite store ---
# They set BROKERS, GROUP (the group under test) and DB (its store) first.

# stop_producer PID LOG: SIGTERM a steady `lims simulate`; it must exit 0 after its summary.
stop_producer() {
  kill -TERM "$1"
  local code=0
  wait "$1" || code=$?
  [[ $code == 0 ]] || fail "simulate exited $code on SIGTERM: $(cat "$2")"
  grep -Eq '^simulate: [0-9]+ events' "$2" || fail "no simulate summary: $(cat "$2")"
}

# read_offsets [GROUP [PARTITIONS]]: sets LOW, HIGH and COMMITTED (of GROUP), summed over every
# partition, and PENDING: high watermark less GROUP's commit, summed over PARTITIONS ("topic/p ...").
read_offsets() {
  local out
  out=$(offsets "$@") || fail "could not read offsets from $BROKERS"
  read -r LOW HIGH COMMITTED PENDING <<<"$out"
}
offsets() {
  "$PY" - "$BROKERS" "${1:-}" "${2:-}" <<'PY'
import sys
from confluent_kafka import Consumer, TopicPartition
brokers, group, some = sys.argv[1], sys.argv[2] or "lims-e2e-probe", set(sys.argv[3].split())
c = Consumer({"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": False})
md = c.list_topics(timeout=10)
tps = [TopicPartition(t, p) for t in ("potato", "tomato", "pepper") for p in md.topics[t].partitions]
low = high = committed = pending = 0
highs = {}
for tp in tps:
    lo, hi = c.get_watermark_offsets(tp, timeout=10)
    low += lo
    high += hi
    highs[f"{tp.topic}/{tp.partition}"] = hi
if sys.argv[2]:
    for tp in c.committed(tps, timeout=10):
        committed += max(tp.offset, 0)
        if f"{tp.topic}/{tp.partition}" in some:
            pending += highs[f"{tp.topic}/{tp.partition}"] - max(tp.offset, 0)
c.close()
print(low, high, committed, pending)
PY
}

# check_durable WHAT: the promise behind crash safety, checked directly: every event below GROUP's
# committed offsets is in DB (the stored version of its key is at least the event's). A
# final-state comparison alone misses a lost write that a later event of the same key
# overwrote; this does not. Valid while a consumer still writes: offsets are read first, and the
# store only moves forward.
check_durable() {
  "$PY" - "$BROKERS" "$GROUP" "$DB" "$E2E_TAG" <<'PY' || fail "after $1: committed offsets are ahead of the store"
import datetime, json, sqlite3, sys, time
from confluent_kafka import Consumer, TopicPartition
brokers, group, db, tag = sys.argv[1:5]
utc = datetime.timezone.utc
epoch = datetime.datetime(1970, 1, 1, tzinfo=utc)
def micros(text):
    t = datetime.datetime.fromisoformat(text)
    return ((t if t.tzinfo else t.replace(tzinfo=utc)) - epoch) // datetime.timedelta(microseconds=1)
probe = Consumer({"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": False})
md = probe.list_topics(timeout=10)
tps = [TopicPartition(t, p) for t in ("potato", "tomato", "pepper") for p in md.topics[t].partitions]
committed = {(tp.topic, tp.partition): tp.offset for tp in probe.committed(tps, timeout=10) if tp.offset > 0}
probe.close()
newest = {}  # (plant, id) -> (version, partition, offset) of its newest committed event
reader = Consumer({"bootstrap.servers": brokers, "group.id": "lims-e2e-reader", "enable.auto.commit": False})
reader.assign([TopicPartition(t, p, 0) for t, p in committed])
todo, deadline = dict(committed), time.monotonic() + 60
while todo:
    if time.monotonic() > deadline:
        sys.exit(f"{tag}: could not read up to the committed offsets of {sorted(todo)}")
    for m in reader.consume(500, timeout=0.5):
        if m.error():
            sys.exit(f"{tag}: reading the topics: {m.error()}")
        end = todo.get((m.topic(), m.partition()))
        if end is None or m.offset() >= end:
            continue
        if m.value() is None:  # a tombstone (key "<id>" or "<plant>-<id>"): nothing to find
            newest.pop((m.topic(), int(m.key().decode().rsplit("-", 1)[-1])), None)
        else:
            v = json.loads(m.value())
            version, key = micros(v["updated_at"] or v["created_at"]), (m.topic(), v["id"])
            if version >= newest.get(key, (-1,))[0]:
                newest[key] = (version, m.partition(), m.offset())
        if m.offset() == end - 1:
            del todo[(m.topic(), m.partition())]
            reader.pause([TopicPartition(m.topic(), m.partition())])
reader.close()
store = sqlite3.connect(db, timeout=30)
bad = []
for (plant, id_), (version, partition, offset) in sorted(newest.items()):
    row = store.execute(f"select coalesce(updated_at, created_at) from imagecolplant{plant} where id = ?",
                        (id_,)).fetchone()
    if row is None or row[0] < version:
        bad.append(f"{plant} {id_}: event {plant}/{partition}@{offset} (version {version}) is committed,"
                   f" the store has {'nothing' if row is None else 'version %d' % row[0]}")
print(f"{tag}:        {sum(committed.values())} committed offsets, {len(newest)} keys checked")
for line in bad[:10]:
    print(f"{tag}: LOST", line)
sys.exit(1 if bad else 0)
PY
  say "ok: after $1, every event below the committed offsets is in the store"
}

# reference_run RECORDS KAFKA-ARGS...: the expected state: a fresh group, one uninterrupted run
# from the beginning into expected.db, which must read RECORDS records.
reference_run() {
  local records=$1
  shift
  "$LIMS" consume -b "$BROKERS" --group "expected-$$" --store sqlite:expected.db "$@" \
    --from-beginning --exit-at-end 2>expected.err || fail "the reference run failed"
  grep -q "^consume: $records records: " expected.err || fail "reference run did not read $records records"
  say "reference: $(grep '^consume: [0-9]* records: ' expected.err | cut -d';' -f1)"
}

# compare_to_reference WHAT [TABLE.COLUMN,...]: DB must equal expected.db: same tables, same rows
# (matched by primary key), every column but the ones listed, and pass SQLite's integrity_check.
# WHAT names DB in the messages ("the shared store").
compare_to_reference() {
  "$PY" - "$DB" expected.db "$E2E_TAG" "$1" "${2:-}" <<'PY' || fail "$1 differs from the reference"
import hashlib, sqlite3, sys
got, want = (sqlite3.connect(f) for f in sys.argv[1:3])
tag, what = sys.argv[3:5]
ignored = {tuple(c.split(".")) for c in sys.argv[5].split(",") if c}
ok = got.execute("pragma integrity_check").fetchone()[0]
assert ok == "ok", f"integrity_check of {what}: {ok}"
tables = lambda db: db.execute("select name, sql from sqlite_master where type='table' order by name").fetchall()
assert tables(got) == tables(want), f"schemas differ: {tables(got)} vs {tables(want)}"
show = lambda r: tuple(f"<{len(v)} bytes {hashlib.sha1(v).hexdigest()[:8]}>" if isinstance(v, bytes) else v for v in r)
bad = total = 0
for name, _ in tables(want):
    info = want.execute(f"pragma table_info({name})").fetchall()  # (cid, name, type, notnull, dflt, pk)
    key = [c[0] for c in sorted(info, key=lambda c: c[5]) if c[5]] or [0]
    keep = [c[0] for c in info if (name, c[1]) not in ignored]
    rows = lambda db: {tuple(r[i] for i in key): tuple(r[i] for i in keep)
                       for r in db.execute(f"select * from {name}")}
    g, w = rows(got), rows(want)
    if name.startswith("imagecolplant"):
        total += len(w)
        print(f"{tag}:        {name}: {len(g)} rows, reference {len(w)}")
    for k in sorted(set(g) | set(w), key=str):
        if g.get(k) != w.get(k):
            bad += 1
            if bad <= 10:
                print(f"{tag}: DIFF {name} {k}: got {show(g[k]) if k in g else None}")
                print(f"{tag}:      {' ' * len(name)} {k}: want {show(w[k]) if k in w else None}")
assert total > 0, "the reference store is empty"
assert bad == 0, f"{bad} rows differ"
PY
  say "ok: $1 equals the reference, table by table and row by row (integrity_check ok)"
}
