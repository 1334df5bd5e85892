#!/usr/bin/env bash
# e2e: the lims binary as a user runs it: dev-broker + simulate + consume + get-image.
set -euo pipefail
LIMS=${1:?usage: pipeline.sh PATH/TO/lims}
source "$(dirname "$0")/lib.sh"
expect_exit() {  # expect_exit CODE CMD...
  local want=$1; shift
  local got=0
  "$@" >"$WORK/out" 2>"$WORK/err" || got=$?
  [[ $got == "$want" ]] || { cat "$WORK/err" >&2; fail "'$*' exited $got, expected $want"; }
}
e2e_init

# dev-broker prints its address as the first line of stdout; read blocks until it is there.
start_broker 2 "$WORK/broker.err"

"$LIMS" simulate -b "$BROKERS" --max-rate --count 120 --seed 7 2>sim.err
grep -q '^simulate: 120 events' sim.err || { cat sim.err; fail "simulate summary"; }

"$LIMS" consume -b "$BROKERS" --exit-at-end --store sqlite:e2e.db 2>consume.err \
  || { cat consume.err; fail "consume exited non-zero"; }
grep -Eq '^consume: 120 records: [0-9]+ applied, [0-9]+ stale, 0 deleted, 0 bad; steady rate [0-9]+ events/s, [0-9.]+ MB/s' \
  consume.err || { cat consume.err; fail "consume summary"; }

# A second run of the same group has nothing left to do.
# (The embedded Kafka makes a join right after a leave wait session.timeout.ms less 1 s.)
"$LIMS" consume -b "$BROKERS" --exit-at-end --store sqlite:e2e.db 2>consume2.err
grep -q '^consume: 0 records' consume2.err || { cat consume2.err; fail "re-run re-read records"; }

# get-image prints the Image API shape; --out writes a real JPEG.
for plant in potato tomato pepper; do
  if "$LIMS" get-image "$plant" 1 --store sqlite:e2e.db >rec.json 2>/dev/null; then break; fi
done
/usr/bin/python3 - "$plant" <<'PY' || fail "get-image JSON shape"
import json, sys
r = json.load(open("rec.json"))
keys = ["id", "camera_id", "data", "gps_coordinates", "created_at", "updated_at",
        "is_active", "is_deleted", "disease", "percentage"]
assert list(r) == keys, list(r)
assert r["id"] == 1 and r["data"].startswith("ffd8ff"), r["id"]
assert len(r["gps_coordinates"]) == 2
PY
"$LIMS" get-image "$plant" 1 --store sqlite:e2e.db --out leaf.jpg >meta.json 2>/dev/null
[[ $(head -c 3 leaf.jpg | od -An -tx1 | tr -d ' ') == ffd8ff ]] || fail "--out is not a JPEG"
grep -q '"data"' meta.json && fail "--out still printed data"

# The same stream into MongoDB (the CTest fixture's server, when there is one): same summary,
# and get-image serves the same image from there.
if [[ -n ${LIMS_MONGODB_URI_FILE:-} ]]; then
  MONGO="$(cat "$LIMS_MONGODB_URI_FILE")/e2e_$$"
  "$LIMS" consume -b "$BROKERS" --group mongo --exit-at-end --store "$MONGO" 2>mconsume.err \
    || { cat mconsume.err; fail "consume into MongoDB exited non-zero"; }
  grep -q '^consume: 120 records: [0-9]* applied, [0-9]* stale, 0 deleted, 0 bad' mconsume.err \
    || { cat mconsume.err; fail "consume into MongoDB: summary"; }
  "$LIMS" get-image "$plant" 1 --store "$MONGO" >mrec.json || fail "get-image from MongoDB"
  /usr/bin/python3 -c 'import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); \
assert a["data"]==b["data"] and a["id"]==b["id"] and a["disease"]==b["disease"]' rec.json mrec.json \
    || fail "MongoDB and SQLite disagree on $plant 1"
fi

# sync-batch: the batch baseline copies the store, then finds nothing new; SQLite to SQLite,
# and MongoDB to SQLite when there is a MongoDB.
"$LIMS" sync-batch --from sqlite:e2e.db --to sqlite:copy.db --once --state wm 2>sb1.err
grep -Eq '^sync-batch: [1-9][0-9]* images, [1-9][0-9]* bytes read, [1-9][0-9]* bytes written in' \
  sb1.err || { cat sb1.err; fail "sync-batch: first run"; }
"$LIMS" sync-batch --from sqlite:e2e.db --to sqlite:copy.db --once --state wm 2>sb2.err
grep -q '^sync-batch: 0 images, 0 bytes read, 0 bytes written' sb2.err \
  || { cat sb2.err; fail "sync-batch: a second run copied again"; }
"$LIMS" get-image "$plant" 1 --store sqlite:copy.db >copy.json && cmp -s rec.json copy.json \
  || fail "sync-batch copy differs"
if [[ -n ${MONGO:-} ]]; then
  "$LIMS" sync-batch --from "$MONGO" --to sqlite:from-mongo.db --once --state wm2 2>sb3.err
  grep -Eq '^sync-batch: [1-9][0-9]* images' sb3.err || { cat sb3.err; fail "sync-batch from MongoDB"; }
fi

expect_exit 1 "$LIMS" get-image tomato 999999 --store sqlite:e2e.db
grep -q 'no tomato image with id 999999' "$WORK/err" || fail "not-found message"
expect_exit 2 "$LIMS" get-image cucumber 1 --store sqlite:e2e.db
expect_exit 2 "$LIMS" get-image tomato -4 --store sqlite:e2e.db
expect_exit 2 "$LIMS" consume --no-such-flag
expect_exit 3 "$LIMS" get-image tomato 1 --store sqlite:missing.db
expect_exit 3 "$LIMS" consume -b 127.0.0.1:1 --connect-timeout 1 --store sqlite:x.db
help=$("$LIMS" dev-broker --help)
grep -q '5 MiB' <<<"$help" || fail "dev-broker --help does not state the 5 MiB limit"

# SIGTERM while consuming: finish, commit, leave the group, print the summary, exit 0.
mkfifo consume.fifo
"$LIMS" consume -b "$BROKERS" --group sigterm --store sqlite:sig.db 2>consume.fifo &
CONSUMER=$!
exec 4<consume.fifo
wait_fifo 4 60 "lims: info: assigned *" "the consumer's assignment"
kill -TERM "$CONSUMER"
cat <&4 >sigterm.err
code=0; wait "$CONSUMER" || code=$?
[[ $code == 0 ]] || { cat sigterm.err; fail "consume exited $code on SIGTERM"; }
grep -q '^consume: [0-9]* records: ' sigterm.err || { cat sigterm.err; fail "no summary after SIGTERM"; }

# demo: the whole pipeline in one process, ending with a get-image command that works.
"$LIMS" demo --duration 2 --speedup 5000 --store sqlite:demo-e2e.db >demo.out 2>demo.err \
  || { cat demo.err; fail "demo exited non-zero"; }
grep -q '^consume: [1-9][0-9]* records: ' demo.err || { cat demo.err; fail "demo summary"; }
example=$(grep -m1 -- '--no-data$' demo.out) || { cat demo.out; fail "demo printed no example"; }
eval "$example" >/dev/null || fail "the demo's example failed: $example"

stop_broker
echo "e2e: pipeline ok"
