#!/usr/bin/env bash
# e2e fault: `lims consume` killed with SIGKILL at six moments (mid-stream, at its assignment,
# inside its group join, following the live stream, and twice inside a store transaction while
# writing a backlog), restarted each time in the same group. After every kill, every event below
# the group's committed offsets must be in the store; at the end the store must equal, table by
# table and row by row, the one an uninterrupted run builds from the same topics.
#   usage: crash.sh PATH/TO/lims    (KEEP_WORK=1 keeps the work directory)
set -euo pipefail
LIMS=${1:?usage: crash.sh PATH/TO/lims}
source "$(dirname "$0")/lib.sh"
E2E_TAG=crash E2E_KILL_SIGNAL=KILL E2E_FAIL_TAILS=1
e2e_init

# A group's members must agree on session.timeout.ms on the embedded Kafka, and a member joining
# after a SIGKILLed one waits for that one's session to expire: keep it short, the same for all.
KAFKA_OPTS=(-X session.timeout.ms=3000 -X heartbeat.interval.ms=1000)
GROUP=crash-$$
DB=crash.db
PARTITIONS=8  # 3 topics x 8: the data below stays far under the embedded Kafka's 5 MiB/partition
SIM_OPTS=(--image-size 4000:5000)

# Progress line: consume: R records (E events/s, M MB/s): A applied, S stale, D deleted, B bad; lag L
PROGRESS_RE='^consume: ([0-9]+) records \(([0-9]+) events/s, [0-9.]+ MB/s\): ([0-9]+) applied, ([0-9]+) stale, [0-9]+ deleted, ([0-9]+) bad; lag (-?[0-9]+)$'
progress() { [[ $1 =~ $PROGRESS_RE ]]; }  # BASH_REMATCH: 1 records 2 rate 3 applied 4 stale 5 bad 6 lag
MIN_APPLIED=0
applied_at_least() { progress "$1" && ((BASH_REMATCH[3] >= MIN_APPLIED)); }
assigned() { [[ $1 == "lims: info: assigned "* ]]; }
joining() { [[ $1 == *"join state init -> wait-join"* ]]; }  # JoinGroup sent (-X debug=cgrp)
# Into a backlog (BACKLOG=busy): 200+ records read, but at most BACKLOG_LEFT fewer than the burst
# of BURST that came before the start: at least that many are still waiting, however slowly the
# machine reads. (Right after a start the lag counts from the low watermark for partitions not
# fetched yet, so lag alone is no proof of a backlog.) Or past it (BACKLOG=done): 1000+ records
# read and lag 0.
BACKLOG=
BURST=2500
BACKLOG_LEFT=500
backlog() {
  progress "$1" || return 1
  if ((BASH_REMATCH[1] >= 200 && BASH_REMATCH[1] <= BURST - BACKLOG_LEFT)); then
    BACKLOG=busy
  elif ((BASH_REMATCH[1] >= 1000 && BASH_REMATCH[6] == 0)); then
    BACKLOG=done
  else
    return 1
  fi
}
caught_up() { progress "$1" && ((BASH_REMATCH[1] > 0 && BASH_REMATCH[6] == 0)); }

CONSUMER=
RUN=0
BATCH=10  # small batches: many store commits, each a moment to be killed around
start_consumer() {  # start_consumer EXTRA-ARGS...: a consume in the test group, log in run<N>.err
  RUN=$((RUN + 1))
  "$LIMS" consume -b "$BROKERS" --group "$GROUP" --store "sqlite:$DB" "${KAFKA_OPTS[@]}" \
    --batch-max-events $BATCH --batch-max-ms 20 --progress 0.05 "$@" 2>"run$RUN.err" &
  CONSUMER=$!
  PIDS+=("$CONSUMER")
}
kill9() {  # kill9 WHAT [killed]: SIGKILL the running consumer (unless "killed" already)
  if [[ ${2:-} != killed ]]; then
    kill -0 "$CONSUMER" 2>/dev/null || fail "run $RUN ended by itself before the kill ($1)"
    kill -9 "$CONSUMER"
  fi
  local code=0
  { wait "$CONSUMER"; } 2>/dev/null || code=$?  # (no "Killed" job notice from bash)
  [[ $code == 137 ]] || fail "run $RUN: expected death by SIGKILL (137), got exit $code"
  say "kill -9 #$RUN $1"
  check_durable "kill $RUN"
}

# transaction_killer: in the background, once the file "go" exists, SIGKILL the consumer while it
# holds the store's write lock, in the middle of writing a batch (BEGIN IMMEDIATE .. COMMIT):
# probe for the lock without waiting, and kill from the probe itself when it is still held 1 ms
# after it was seen. Exits 0 once it
# killed, 2 if the consumer took no lock within 2 s of "go" (it was through its backlog).
transaction_killer() {
  rm -f go
  "$PY" - "$CONSUMER" "$DB" 2>killer.err <<'PY' &
import os, signal, sqlite3, sys, time
pid, db = int(sys.argv[1]), sys.argv[2]
def alive():
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
while not os.path.exists("go"):
    if not alive():
        sys.exit("the consumer ended before it was to be killed")
    time.sleep(0.001)
store = sqlite3.connect(db, timeout=0, isolation_level=None)
def locked():
    try:
        store.execute("BEGIN IMMEDIATE")
        store.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as e:
        if "locked" not in str(e) and "busy" not in str(e):
            raise
        return True
deadline = time.monotonic() + 2
while time.monotonic() < deadline:
    if locked():
        time.sleep(0.001)  # well inside the transaction, not at its BEGIN
        if locked():
            os.kill(pid, signal.SIGKILL)
            sys.exit(0)
    if not alive():
        sys.exit("the consumer ended before it was caught inside a store transaction")
    time.sleep(0.0002)
sys.exit(2)
PY
  KILLER=$!
  PIDS+=("$KILLER")
}

# --- the embedded Kafka ----------------------------------------------------------------------
start_broker $PARTITIONS "$WORK/broker.log"
say "dev-broker at $BROKERS, 3 topics x $PARTITIONS partitions"

# --- a producer that keeps producing through kills 1-4 (about 38 events/s) --------------------
"$LIMS" simulate -b "$BROKERS" --speedup 1000 --cameras 2 --seed 42 --count 4000 "${SIM_OPTS[@]}" \
  2>producer.log &
PRODUCER=$!
PIDS+=("$PRODUCER")

# --- kill 1: mid-stream, after at least 50 records were written and committed ---------------
start_consumer
MIN_APPLIED=50
wait_line run1.err 60 "$CONSUMER" applied_at_least || fail "run 1 never reported 50 applied records"
kill9 "after it reported ${BASH_REMATCH[3]} applied (lag ${BASH_REMATCH[6]})"
read_offsets; HIGH_AT_KILL1=$HIGH
ROWS_AT_KILL1=$("$PY" -c 'import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); print(sum(d.execute(f"select count(*) from imagecolplant{p}").fetchone()[0] for p in ("potato","tomato","pepper")))' "$DB")
say "at kill 1: $HIGH_AT_KILL1 events produced, $ROWS_AT_KILL1 rows in the store"
((ROWS_AT_KILL1 > 0)) || fail "no rows stored before kill 1"

# --- kill 2: the moment partitions are assigned (first fetch and first batch in flight) -------
start_consumer
wait_line run2.err 60 "$CONSUMER" assigned || fail "run 2 was never assigned partitions"
kill9 "right after its assignment"

# --- kill 3: while joining the group, before any assignment ----------------------------------
start_consumer --log-level debug -X debug=cgrp
wait_line run3.err 30 "$CONSUMER" joining || fail "run 3 never sent its JoinGroup"
grep -q 'lims: info: assigned' run3.err && fail "run 3 was assigned already; the kill was meant for the join"
kill9 "while it was joining the group (JoinGroup sent, no answer yet)"

# --- kill 4: caught up and following the live stream -----------------------------------------
start_consumer
wait_line run4.err 60 "$CONSUMER" caught_up || fail "run 4 never caught up (lag 0)"
MIN_APPLIED=$((BASH_REMATCH[3] + 20))
wait_line run4.err 60 "$CONSUMER" applied_at_least || fail "run 4 did not apply 20 more live records"
kill9 "while following the live stream (${BASH_REMATCH[3]} applied, lag ${BASH_REMATCH[6]})"

# --- stop the steady production ---------------------------------------------------------------
kill -0 "$PRODUCER" 2>/dev/null || fail "the producer stopped early: $(cat producer.log)"
stop_producer "$PRODUCER" producer.log
grep -Eq '^simulate: [0-9]+ events' producer.log || fail "no simulate summary: $(cat producer.log)"
say "steady production stopped: $(cat producer.log)"

# --- kills 5 and 6: during heavy writing, in the middle of a 2500-event backlog --------------
# Each burst comes after the steady production, so its events are the newest version of their
# keys: a write lost here cannot be hidden by a later event for the same key. Run 5 writes
# batches of 10 (the writer always busy, many small commits), run 6 batches of 200 (long store
# writes). Should the consumer be through the backlog before it is seen in it, the run is stopped
# and tried again on a new burst.
SEED=43
for BATCH in 10 200; do
  for attempt in 1 2 3 4; do
    ((attempt < 4)) || fail "run $RUN: three times through a backlog before it was caught in it"
    read_offsets; before=$HIGH
    "$LIMS" simulate -b "$BROKERS" --max-rate --count $BURST --seed $((SEED++)) "${SIM_OPTS[@]}" \
      2>burst.log || fail "burst simulate failed: $(cat burst.log)"
    grep -q "^simulate: $BURST events" burst.log || fail "burst summary: $(cat burst.log)"
    read_offsets; after=$HIGH
    ((after - before == BURST)) || fail "the burst added $((after - before)) events, expected $BURST"
    say "backlog: $BURST more events produced at full speed while no consumer ran"
    start_consumer
    transaction_killer
    wait_line "run$RUN.err" 60 "$CONSUMER" backlog || fail "run $RUN never reported the backlog"
    code=2
    if [[ $BACKLOG == busy ]]; then
      what="inside a store transaction while writing the backlog in batches of $BATCH (it had reported ${BASH_REMATCH[1]} records read at ${BASH_REMATCH[2]} events/s, lag ${BASH_REMATCH[6]})"
      touch go
      code=0; wait "$KILLER" || code=$?
      ((code == 0 || code == 2)) || fail "run $RUN: $(tail -n 1 killer.err)"
    else
      kill "$KILLER" 2>/dev/null || true
      wait "$KILLER" 2>/dev/null || true
    fi
    if ((code == 0)); then
      kill9 "$what" killed
      break
    fi
    kill9 "after it had written the whole backlog, before it was caught in it"
  done
done
BATCH=10

# --- production is over; one last run to the end ----------------------------------------------
read_offsets
say "production over: $HIGH events in the topics"
((LOW == 0)) || fail "the embedded Kafka dropped old records (low watermarks sum $LOW): data too big"
((HIGH > HIGH_AT_KILL1 + 4000)) \
  || fail "only $((HIGH - HIGH_AT_KILL1)) events were produced after kill 1, expected > 4000"
say "ok: $((HIGH - HIGH_AT_KILL1)) of $HIGH events were produced after the first kill"

start_consumer --exit-at-end
code=0
timeout 90 tail --pid="$CONSUMER" -f /dev/null || fail "the final run did not end within 90 s"
wait "$CONSUMER" || code=$?
[[ $code == 0 ]] || fail "the final run (--exit-at-end) exited $code"
grep -q '^consume: [0-9]* records: .* 0 bad;' "run$RUN.err" || fail "final run: no summary"
say "final run: $(grep '^consume: [0-9]* records: ' "run$RUN.err" | cut -d';' -f1)"
PRODUCED=$HIGH
read_offsets "$GROUP"
((HIGH == PRODUCED)) || fail "events appeared after production stopped ($PRODUCED -> $HIGH)"
((COMMITTED == HIGH)) || fail "group $GROUP committed $COMMITTED offsets of $HIGH"
say "ok: the group committed every offset ($COMMITTED)"

# --- the expected state: a fresh group, one uninterrupted run from the beginning ------------
reference_run "$HIGH" "${KAFKA_OPTS[@]}"

# --- compare: same tables, same rows, every column -------------------------------------------
compare_to_reference "the store after the kills"

stop_broker
say "crash ok ($RUN runs, $((RUN - 1)) of them killed with SIGKILL)"
