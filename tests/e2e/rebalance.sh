#!/usr/bin/env bash
# e2e fault: two `lims consume` in one group share the partitions (and one SQLite file); one is
# killed with SIGKILL inside a store transaction while it writes a burst and events keep
# arriving; the survivor must take its partitions over and finish the work. Every event below the
# committed offsets must be in the store (after the kill and at the end), and the store must end
# equal, row by row, to the one an uninterrupted run builds from the same topics.
#   usage: rebalance.sh PATH/TO/lims    (KEEP_WORK=1 keeps the work directory; Linux: /proc/locks)
set -euo pipefail
LIMS=${1:?usage: rebalance.sh PATH/TO/lims}
source "$(dirname "$0")/lib.sh"
E2E_TAG=rebalance E2E_KILL_SIGNAL=KILL E2E_FAIL_TAILS=1
e2e_init

# The members of a group must agree on session.timeout.ms on the embedded Kafka; it is also how
# long the group takes to notice the killed member (lims's default is 10 s).
KAFKA_OPTS=(-X session.timeout.ms=6000)
GROUP=rebalance-$$
PARTITIONS=4  # 3 topics x 4
ALL=$((3 * PARTITIONS))
DB=shared.db  # both consumers write the same SQLite file
SIM_OPTS=(--image-size 4000:5000)

# owned LOG: the partitions the consumer holds now, replaying its assigned/revoking/lost lines.
owned() {
  "$PY" - "$1" <<'PY'
import sys
held = set()
for line in open(sys.argv[1], errors="replace"):
    for prefix, add in (("lims: info: assigned ", True), ("lims: info: revoking ", False),
                        ("lims: warning: lost ", False)):
        if line.startswith(prefix):
            listed = line[len(prefix):].split(" (")[0].strip()  # "lost" explains itself after
            parts = {p for p in listed.split(", ") if p != "none"}
            held = held | parts if add else held - parts
print(" ".join(sorted(held)))
PY
}
count_words() { echo $#; }
# applied LOG: the applied count of its last progress line (0 if none yet).
applied() {
  local line
  line=$(grep -E '^consume: [0-9]+ records \(' "$1" | tail -n 1) || true
  [[ $line =~ \):\ ([0-9]+)\ applied ]] && echo "${BASH_REMATCH[1]}" || echo 0
}
alive() { kill -0 "$1" 2>/dev/null || fail "$2 ended by itself: $(tail -n 3 "$3")"; }

start_consumer() {  # start_consumer NAME: sets PID_<NAME>, logs to NAME.err
  "$LIMS" consume -b "$BROKERS" --group "$GROUP" --store "sqlite:$DB" "${KAFKA_OPTS[@]}" \
    --batch-max-events 10 --batch-max-ms 20 --progress 0.2 2>"$1.err" &
  PIDS+=($!)
  printf -v "PID_$1" %s $!
}

# --- the embedded Kafka and a producer that keeps producing (about 38 events/s) --------------
start_broker $PARTITIONS "$WORK/broker.log"
say "dev-broker at $BROKERS, 3 topics x $PARTITIONS partitions"
"$LIMS" simulate -b "$BROKERS" --speedup 1000 --cameras 2 --seed 17 --count 4000 "${SIM_OPTS[@]}" \
  2>producer.log &
PRODUCER=$!
PIDS+=("$PRODUCER")

# --- consumer a alone takes every partition ---------------------------------------------------
start_consumer a
a_has_all() { alive "$PID_a" "consumer a" a.err; [[ $(count_words $(owned a.err)) == "$ALL" ]]; }
wait_until 60 "consumer a assigned all $ALL partitions" a_has_all
a_working() { alive "$PID_a" "consumer a" a.err; (($(applied a.err) > 0)); }
wait_until 30 "consumer a applying records" a_working
say "ok: consumer a holds all $ALL partitions and applies records ($(applied a.err) so far)"

# --- consumer b joins: the partitions are split between them ----------------------------------
start_consumer b
split() {
  alive "$PID_a" "consumer a" a.err
  alive "$PID_b" "consumer b" b.err
  A_SET=$(owned a.err) B_SET=$(owned b.err)
  local na nb union
  na=$(count_words $A_SET) nb=$(count_words $B_SET)
  union=$(printf '%s\n' $A_SET $B_SET | sort -u | wc -l)
  ((na > 0 && nb > 0 && na + nb == ALL && union == ALL))
}
wait_until 60 "both consumers holding disjoint shares of all $ALL partitions" split
A_APPLIED_AT_SPLIT=$(applied a.err)
say "ok: split: a holds $(count_words $A_SET) ($A_SET), b holds $(count_words $B_SET) ($B_SET)"
both_working() {
  split || fail "the split changed: a: $A_SET; b: $B_SET"
  (($(applied b.err) > 0 && $(applied a.err) > A_APPLIED_AT_SPLIT))
}
wait_until 30 "both consumers applying records after the split" both_working
say "ok: both apply records: a $(applied a.err) (was $A_APPLIED_AT_SPLIT at the split), b $(applied b.err)"

# --- a burst, and kill -9 consumer a in the middle of writing its share -----------------------
# A probe watches /proc/locks for consumer a holding the store's write lock (SQLite's WAL write
# lock: byte 120 of shared.db-shm). Once the burst is under way it kills a from there, the moment
# a holds the lock (inside a transaction) after holding it a tenth of the samples of the last
# 100 ms (busy writing; following the steady stream alone it holds it a few per cent). It needs
# only 5 samples in that window, so a loaded machine that samples slowly still gets there. The
# steady producer goes on meanwhile.
busy_probe() {
  "$PY" - "$PID_a" "$DB" probe.ready probe.go <<'PY'
import collections, os, signal, sys, time
pid, db, ready, go = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ino = str(os.stat(db + "-shm").st_ino)
def holds_write_lock():
    with open("/proc/locks") as locks:
        for line in locks:
            f = line.split()
            if f[1] == "->":
                f = f[:1] + f[2:]
            if f[3] == "WRITE" and f[4] == str(pid) and f[5].rsplit(":", 1)[-1] == ino and f[6] == "120":
                return True
    return False
window, deadline = collections.deque(), time.monotonic() + 8
open(ready, "w").close()
while time.monotonic() < deadline:
    now, held = time.monotonic(), holds_write_lock()
    window.append((now, held))
    while window[0][0] < now - 0.1:
        window.popleft()
    duty = sum(h for _, h in window) / len(window)
    if held and len(window) >= 5 and duty >= 0.1 and os.path.exists(go):
        os.kill(pid, signal.SIGKILL)
        print(f"{duty:.0%}")
        sys.exit(0)
    time.sleep(0.0003)
sys.exit(2)
PY
}
landed=0
for seed in 18 19 20; do
  rm -f probe.ready probe.go
  busy_probe >probe.out 2>probe.err &
  PROBE=$!
  PIDS+=("$PROBE")
  wait_until 10 "the lock probe to start" test -e probe.ready
  touch probe.go
  "$LIMS" simulate -b "$BROKERS" --max-rate --count 1500 --seed $seed "${SIM_OPTS[@]}" 2>burst.log \
    || fail "burst simulate failed: $(cat burst.log)"
  say "burst: 1500 events at full speed"
  code=0; { wait "$PROBE"; } 2>/dev/null || code=$?  # (a dies meanwhile: no job notice)
  if ((code == 0)); then landed=1; break; fi
  ((code == 2)) || fail "the lock probe failed: $(cat probe.err)"
  alive "$PID_a" "consumer a" a.err
  say "note: consumer a was never seen busy writing the burst; once more"
done
((landed)) || fail "consumer a was never caught busy writing a burst"
alive "$PRODUCER" "the producer" producer.log
code=0; { wait "$PID_a"; } 2>/dev/null || code=$?
[[ $code == 137 ]] || fail "consumer a: expected death by SIGKILL (137), got exit $code"
KILLED_AT=$SECONDS
read_offsets "$GROUP" "$A_SET"
HIGH_AT_KILL=$HIGH
say "kill -9 consumer a inside a store transaction (it held the write lock $(cat probe.out) of the last 100 ms), $PENDING events on its $(count_words $A_SET) partitions not committed; $HIGH_AT_KILL events produced so far"
check_durable "the kill"

b_has_all() { alive "$PID_b" "consumer b" b.err; [[ $(count_words $(owned b.err)) == "$ALL" ]]; }
wait_until 60 "consumer b taking over all $ALL partitions" b_has_all
say "ok: consumer b took over a's partitions $((SECONDS - KILLED_AT)) s after the kill"
for c in a b; do  # (librdkafka 2.0 marks an assignment lost when a commit meets a rebalance)
  grep '^lims: warning: lost ' $c.err | cut -c16- | sed "s/^/rebalance: note: consumer $c: /" || true
done
B_APPLIED_AT_TAKEOVER=$(applied b.err)
b_keeps_up() { alive "$PID_b" "consumer b" b.err; (($(applied b.err) >= B_APPLIED_AT_TAKEOVER + 100)); }
wait_until 60 "consumer b applying 100 more records after the takeover" b_keeps_up
say "ok: consumer b applied $(($(applied b.err) - B_APPLIED_AT_TAKEOVER)) more records after the takeover"

# --- stop production; b must commit every offset ----------------------------------------------
alive "$PRODUCER" "the producer" producer.log
stop_producer "$PRODUCER" producer.log
read_offsets
PRODUCED=$HIGH
((LOW == 0)) || fail "the embedded Kafka dropped old records (low watermarks sum $LOW): data too big"
((PRODUCED > HIGH_AT_KILL)) || fail "no events were produced after the kill"
say "production stopped: $(cat producer.log); $((PRODUCED - HIGH_AT_KILL)) of $PRODUCED events came after the kill"
all_committed() {
  alive "$PID_b" "consumer b" b.err
  read_offsets "$GROUP"
  ((COMMITTED == PRODUCED))
}
wait_until 60 "group $GROUP committing all $PRODUCED offsets" all_committed
say "ok: consumer b committed every offset ($COMMITTED)"
kill -TERM "$PID_b"
code=0
timeout 60 tail --pid="$PID_b" -f /dev/null || fail "consumer b did not exit within 60 s of SIGTERM"
wait "$PID_b" || code=$?
[[ $code == 0 ]] || fail "consumer b exited $code on SIGTERM"
grep -q '^consume: [0-9]* records: .* 0 bad;' b.err || fail "consumer b printed no summary"
say "consumer b: $(grep '^consume: [0-9]* records: ' b.err | cut -d';' -f1)"
if grep -q '^lims: \(warning\|error\)' a.err b.err; then
  say "note: warnings/errors logged (count, message):"
  grep -h '^lims: \(warning\|error\)' a.err b.err | sort | uniq -c | sed 's/^/rebalance:   /'
fi
check_durable "the end"

# --- the expected state: a fresh group, one uninterrupted run from the beginning ------------
reference_run "$PRODUCED" "${KAFKA_OPTS[@]}"
compare_to_reference "the shared store"

stop_broker
say "rebalance ok"
