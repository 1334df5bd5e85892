#!/usr/bin/env bash
# e2e: a `lims consume` stopped before its first assignment exits 0, as a pod stopped during a
# rollout must. The sequence: events keep arriving on 6 partitions per topic; consumer 1 of a
# group takes them and is killed with SIGKILL, consumer 2 joins and is killed the same way, and
# consumer 3 joins while the dead members still hold the group (until their session times out),
# so it has no assignment yet when it gets SIGTERM. It must print its summary and exit 0.
# Once with lims's default assignor, once with cooperative-sticky asked for through -X (on
# librdkafka before 2.3 destroying such a consumer aborted the process: librdkafka #4312).
#   usage: stop_unassigned.sh PATH/TO/lims [real]
#   real: against the Kafka broker named by LIMS_KAFKA_BOOTSTRAP_FILE, on topics of its own.
set -euo pipefail
LIMS=$(realpath "${1:?usage: stop_unassigned.sh PATH/TO/lims [real]}")
E2E_TAG=e2e.stop-unassigned E2E_FAIL_TAILS=1
source "$(dirname "$0")/lib.sh"
e2e_init

PARTITIONS=6
if [[ ${2:-} == real ]]; then
  BROKERS=$(<"${LIMS_KAFKA_BOOTSTRAP_FILE:?}")
  PREFIX=stop$$.
  "$PY" - "$BROKERS" "$PREFIX" "$PARTITIONS" <<'PY' || fail "could not create the topics"
import sys
from confluent_kafka.admin import AdminClient, NewTopic
brokers, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
admin = AdminClient({"bootstrap.servers": brokers})
futures = admin.create_topics([NewTopic(prefix + p, n, 1) for p in ("potato", "tomato", "pepper")])
for f in futures.values():
    f.result(timeout=30)
PY
  say "real Kafka at $BROKERS, topics ${PREFIX}* with $PARTITIONS partitions each"
else
  PREFIX=
  start_broker $PARTITIONS "$WORK/broker.log"
  say "dev-broker at $BROKERS, 3 topics x $PARTITIONS partitions"
fi
TOPIC_OPTS=(--topic-prefix "$PREFIX")

# About 200 events/s, for longer than the whole sequence.
"$LIMS" simulate -b "$BROKERS" "${TOPIC_OPTS[@]}" --speedup 3000 --intensity 2 --seed 5 \
  --image-size 4000:5000 --duration 120 2>producer.log &
PRODUCER=$!
PIDS+=("$PRODUCER")

# consume NAME GROUP ARGS...: a consumer of GROUP logging to NAME.err; sets PID.
consume() {
  local name=$1 group=$2
  shift 2
  "$LIMS" consume -b "$BROKERS" "${TOPIC_OPTS[@]}" --group "$group" --store "sqlite:$name.db" \
    --progress 0 "$@" 2>"$name.err" &
  PID=$!
  PIDS+=("$PID")
}
is_assigned() { [[ $1 == "lims: info: assigned "* ]]; }
is_consuming() { [[ $1 == "lims: info: consuming "* ]]; }
# In librdkafka's cgrp debug log, the member waiting inside its join. The embedded Kafka answers
# the JoinGroup (which chooses the assignor) and holds the SyncGroup until the dead members are
# gone: stopped in wait-sync, #4312 aborted the process. A real broker holds the JoinGroup
# itself, then answers both at once: it is stopped in wait-join.
JOIN_STATE=wait-sync
[[ ${2:-} == real ]] && JOIN_STATE=wait-join
is_joining() { [[ $1 == *"join-state $JOIN_STATE"* ]]; }

# attempt LABEL GROUP ARGS...: the sequence in GROUP, ARGS passed to every consumer. Returns 2,
# having stopped its consumers, when the case could not be set up: on a busy machine consumer 3
# may start only after the dead members' sessions ended, and then join at once.
attempt() {
  local label=$1 group=$2
  shift 2
  consume "$label-1" "$group" "$@"
  wait_line "$label-1.err" 60 "$PID" is_assigned || fail "$label: consumer 1 got no assignment"
  kill -KILL "$PID"
  wait "$PID" 2>/dev/null || true
  consume "$label-2" "$group" "$@"
  wait_line "$label-2.err" 30 "$PID" is_consuming || fail "$label: consumer 2 did not start"
  kill -KILL "$PID"
  wait "$PID" 2>/dev/null || true
  consume "$label-3" "$group" "$@" -X debug=cgrp --log-level debug
  local third=$PID
  # Its join waits for the dead members' sessions (10 s) to end: stop it while it waits for
  # its assignment.
  joining_or_assigned() { is_joining "$1" || is_assigned "$1"; }
  if ! wait_line "$label-3.err" 30 "$third" joining_or_assigned ||
    grep -q '^lims: info: assigned ' "$label-3.err"; then
    kill -KILL "$third" 2>/dev/null || true
    wait "$third" 2>/dev/null || true
    return 2
  fi
  kill -TERM "$third"
  local code=0
  wait "$third" || code=$?
  if grep -q '^lims: info: assigned ' "$label-3.err"; then
    fail "$label: consumer 3 got an assignment while stopping: the case is not exercised"
  fi
  [[ $code == 0 ]] || fail "$label: consumer 3, stopped before its first assignment, exited $code:" \
    "$(grep -E 'Assertion|error' "$label-3.err" | tail -n 3)"
  grep -Eq '^consume: [0-9]+ records' "$label-3.err" || fail "$label: no summary from consumer 3"
  say "ok: $label: consumer 3, stopped before its first assignment, printed its summary and exited 0"
}

# round LABEL ARGS...: attempt in a group of its own, up to three times.
round() {
  local label=$1 try code
  shift
  for try in 1 2 3; do
    code=0
    attempt "$label" "stop-$label-$$-$try" "$@" || code=$?
    ((code == 2)) || return "$code"
    say "$label: consumer 3 was not waiting in its join (join-state $JOIN_STATE) before its" \
      "assignment, so the case was not set up; again in a new group"
  done
  fail "$label: in 3 tries, consumer 3 never waited in its join before its assignment"
}

round default
round cooperative -X partition.assignment.strategy=cooperative-sticky
stop_producer "$PRODUCER" producer.log
