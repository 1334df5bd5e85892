#!/usr/bin/env bash
# e2e: the stale-event guard covers deletes. Three records for potato 9001: an upsert (updated_at
# null), a tombstone, and the very same upsert again (a redelivery). Consumed in one batch, and
# one record per batch (--batch-max-events 1), the image stays deleted: `consume` counts the
# redelivery stale and `get-image` answers not found. A re-creation with a newer version then
# comes back. On SQLite, and on MongoDB when the test server is there (LIMS_MONGODB_URI_FILE,
# from ctest's fixture).
#   usage: delete_guard.sh PATH/TO/lims
set -euo pipefail
LIMS=$(realpath "${1:?usage: delete_guard.sh PATH/TO/lims}")
E2E_TAG=e2e.delete-guard E2E_FAIL_TAILS=1
source "$(dirname "$0")/lib.sh"
e2e_init

start_broker 1 "$WORK/broker.err"

# produce EVENT...: one record each to potato, key 9001, in one producer batch; EVENT is
# "tombstone" or an upsert's updated_at ("null" or an ISO time).
produce() {
  "$PY" - "$BROKERS" "$@" <<'PY' || fail "producing $*"
import json, sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1], "linger.ms": 50})
for event in sys.argv[2:]:
    value = None if event == "tombstone" else json.dumps({
        "id": 9001, "camera_id": 1, "data": "ffd8ffe000104a464946ffd9",
        "gps_coordinates": [48.476563, 16.585654], "disease": None, "percentage": None,
        "created_at": "2023-10-08T15:39:49.123123",
        "updated_at": None if event == "null" else event,
        "is_active": True, "is_deleted": False})
    p.produce("potato", key=b"9001", value=value)
assert p.flush(30) == 0, "not every record was acknowledged"
PY
}

# consume_all STORE GROUP RECORDS SUMMARY [ARGS...]: a consumer of GROUP into STORE until it has
# written RECORDS records; then SIGTERM, and its summary must start with "consume: SUMMARY". Sets
# BATCHES: how many store batches its /metrics counted.
consume_all() {
  local store=$1 group=$2 records=$3 summary=$4 err="consume-$2.err"
  shift 4
  "$LIMS" consume -b "$BROKERS" --store "$store" --group "$group" --listen 127.0.0.1:0 \
    --progress 0.2 "$@" 2>"$err" &
  local pid=$!
  PIDS+=("$pid")
  local url
  url=$(url_of "$err")
  # The progress lines say when every record is in (a cheap wait: the run under test gets the
  # machine's cores), /metrics when it is written.
  wait_until 60 "$group: $records records received" grep -q "^consume: $records records (" "$err"
  local deadline=$((SECONDS + 60)) got=
  until got=$(get "$url/metrics" | "$PY" -c '
import sys
s = dict(l.rsplit(" ", 1) for l in sys.stdin.read().splitlines()[1:] if not l.startswith("#"))
print(int(float(s.get("lims_batch_events_sum", 0))), int(float(s.get("lims_batch_events_count", 0))))
') && [[ ${got% *} -ge $records ]]; do
    ((SECONDS < deadline)) || { cat "$err"; fail "$group: $records records were not written"; }
    sleep 0.2
  done
  [[ ${got% *} == "$records" ]] || fail "$group: /metrics counts ${got% *} records, not $records"
  BATCHES=${got#* }
  kill -TERM "$pid"
  local code=0
  wait "$pid" || code=$?
  [[ $code == 0 ]] || { cat "$err"; fail "$group: consume exited $code on SIGTERM"; }
  grep -q "^consume: $summary" "$err" || { cat "$err"; fail "$group: no summary 'consume: $summary'"; }
  say "ok: $group, $BATCHES batches: $(grep '^consume: [0-9]* records: ' "$err" | cut -d';' -f1)"
}

# absent STORE: get-image answers not found (exit 1, "no potato image with id 9001").
absent() {
  local code=0
  "$LIMS" get-image potato 9001 --store "$1" >get.out 2>get.err || code=$?
  [[ $code == 1 ]] || fail "get-image on $1 exited $code: $(cat get.out get.err)"
  grep -q 'no potato image with id 9001' get.err || fail "get-image on $1: $(cat get.err)"
}

# present STORE UPDATED_AT: get-image answers the record, with that updated_at.
present() {
  "$LIMS" get-image potato 9001 --store "$1" --no-data >get.out 2>get.err ||
    fail "get-image on $1: $(cat get.err)"
  grep -q "\"updated_at\":\"$2\"" get.out || fail "get-image on $1: $(cat get.out)"
}

# store_of KIND NAME: a store of its own for NAME, SQLite or on the MongoDB test server.
store_of() {
  if [[ $1 == sqlite ]]; then echo "sqlite:$2.db"; else echo "$MONGO/guard_$$_${2//-/_}"; fi
}
KINDS=(sqlite)
if [[ -n ${LIMS_MONGODB_URI_FILE:-} ]]; then
  MONGO=$(cat "$LIMS_MONGODB_URI_FILE")
  KINDS+=(mongo)
fi
declare -A ONE  # KIND -> the group whose run read the three records in one batch

step "upsert, tombstone, the same upsert again: stays deleted, in one batch and one per batch"
produce null tombstone null
for kind in "${KINDS[@]}"; do
  # The three records come in one fetch, and mostly make one batch (the consumer hands a batch
  # over as soon as no record waits, and librdkafka queues a fetch's records one by one); a run
  # that split them must end the same, and a new group tries again until one had a single batch.
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    group=$kind-one-$attempt
    consume_all "$(store_of "$kind" "$group")" "$group" 3 \
      "3 records: 1 applied, 1 stale, 1 deleted, 0 bad"
    absent "$(store_of "$kind" "$group")"
    ((BATCHES == 1)) && break
    ((attempt < 10)) || fail "$kind: ten runs, and none had the three records in one batch"
  done
  ONE[$kind]=$group
  consume_all "$(store_of "$kind" "$kind-each")" "$kind-each" 3 \
    "3 records: 1 applied, 1 stale, 1 deleted, 0 bad" --batch-max-events 1
  ((BATCHES == 3)) || fail "$kind-each: $BATCHES batches for 3 records, 1 each"
  absent "$(store_of "$kind" "$kind-each")"
done
say "ok: the redelivered upsert was refused; get-image answers not found"

step "a re-creation with a newer version comes back"
produce 2023-10-08T15:40:00.000001
for kind in "${KINDS[@]}"; do
  want=2023-10-08T15:40:00.000001
  [[ $kind == mongo ]] && want=2023-10-08T15:40:00  # MongoDB keeps milliseconds: none here
  for group in "${ONE[$kind]}" "$kind-each"; do
    consume_all "$(store_of "$kind" "$group")" "$group" 1 \
      "1 records: 1 applied, 0 stale, 0 deleted, 0 bad"
    present "$(store_of "$kind" "$group")" "$want"
  done
done
say "ok: the newer version is back in every store"
stop_broker
echo "e2e: delete guard ok"
