#!/usr/bin/env bash
# e2e: the read side when its store goes away. `lims serve` over MongoDB (a test server of this
# test's own, tests/fixtures/mongo, so stopping it disturbs nothing else): with the server
# stopped, /readyz turns 503 naming the store, get-image and total answer 503 with a JSON error
# (never a 500), and /healthz stays 200 (the pod is taken out of the Service, not restarted).
# With the server back (and refilled: the test server keeps its data in memory), /readyz and
# get-image answer 200 again, the same record, from the same process. With the server hung
# (SIGSTOP: a node gone without a word), a request answers 503 after the socket timeout (30 s)
# and the driver's one retry.
#   usage: read_store_down.sh PATH/TO/lims    (KEEP_WORK=1 keeps the work directory)
set -euo pipefail
LIMS=$(realpath "${1:?usage: read_store_down.sh PATH/TO/lims}")
MONGO_FIXTURE=$(realpath "$(dirname "$0")/../fixtures/mongo")
E2E_TAG=e2e.read-store-down E2E_FAIL_TAILS=1
source "$(dirname "$0")/lib.sh"
e2e_init
# The test server goes with the work directory, whatever happens.
trap '"$MONGO_FIXTURE/stop" "$WORK/mongo" >/dev/null 2>&1 || true; e2e_cleanup' EXIT

status_of() { get "$1" | head -1 | cut -d' ' -f1; }
answers() { [[ $(status_of "$1") == "$2" ]]; }
alive() { kill -0 "$SERVE" 2>/dev/null || fail "lims serve ended by itself: $(tail -3 serve.err)"; }
# fill: the 30 simulated events from the broker into the store, as a fresh group.
fill() {
  "$LIMS" consume -b "$BROKERS" --group "fill-$1" --store "$STORE" --from-beginning \
    --exit-at-end --progress 0 2>"fill-$1.err" || fail "filling the store ($1) failed: $(tail -3 "fill-$1.err")"
}

URI=$("$MONGO_FIXTURE/start" "$WORK/mongo" 2>mongo.err) || fail "the MongoDB test server did not start: $(cat mongo.err)"
STORE=$URI/imagedbplantconsumer
start_broker 1 "$WORK/broker.err"
"$LIMS" simulate -b "$BROKERS" --max-rate --count 30 --seed 21 2>/dev/null
fill first

"$LIMS" serve --store "$STORE" --listen 127.0.0.1:0 --http-threads 2 2>serve.err &
SERVE=$!
PIDS+=("$SERVE")
URL=$(url_of serve.err)
get "$URL/image-plant/tomato/total/" >total.http
[[ $(head -1 total.http) == "200 application/json" ]] || fail "total: $(head -1 total.http)"
ID=$("$PY" -c 'import json,sys; print(json.loads(sys.stdin.read())[0]["id"])' \
  < <(get "$URL/api/latest?plant=tomato&n=1" | tail -n +2))
get "$URL/image-plant/tomato/$ID" >before.http
[[ $(head -1 before.http) == "200 application/json" ]] || fail "get-image before: $(head -1 before.http)"
answers "$URL/readyz" 200 || fail "/readyz before: $(get "$URL/readyz")"
say "lims serve at $URL over $STORE: tomato $ID answers 200, /readyz 200"

step "the store stops: /readyz 503, get-image and total 503 with a JSON error, /healthz 200"
"$MONGO_FIXTURE/stop" "$WORK/mongo" 2>>mongo.err || fail "the MongoDB test server did not stop"
wait_until 30 "/readyz answering 503 with the store stopped" answers "$URL/readyz" 503
alive
get "$URL/readyz" >readyz.http
get "$URL/image-plant/tomato/$ID" >down.http
get "$URL/image-plant/tomato/total/" >down-total.http
"$PY" - readyz.http down.http down-total.http <<'PY' || fail "the answers with the store down"
import json, sys
def answer(path):
    head, _, body = open(path, "rb").read().partition(b"\n")
    status, ctype = head.decode().split(" ", 1)
    return int(status), ctype, json.loads(body)
status, ctype, body = answer(sys.argv[1])
assert (status, ctype) == (503, "application/json"), (status, ctype)
assert body["status"] == "not ready" and body["reason"].startswith("store: "), body
for path in sys.argv[2:]:
    status, ctype, body = answer(path)
    assert (status, ctype) == (503, "application/json"), (path, status, ctype)
    assert body["detail"].startswith("store unavailable: "), body
print("e2e.read-store-down:        /readyz:", json.dumps(answer(sys.argv[1])[2])[:110])
print("e2e.read-store-down:        get-image:", json.dumps(answer(sys.argv[2])[2])[:110])
PY
answers "$URL/healthz" 200 || fail "/healthz with the store down: $(get "$URL/healthz")"
say "ok: not ready, 503s in JSON, alive"

step "the store returns: /readyz and get-image 200 again, the same record, no restart"
"$MONGO_FIXTURE/start" "$WORK/mongo" --restart >/dev/null 2>>mongo.err ||
  fail "the MongoDB test server did not start again: $(tail -5 mongo.err)"
fill again  # the test server comes back empty
wait_until 60 "/readyz answering 200 again" answers "$URL/readyz" 200
same_record() { get "$URL/image-plant/tomato/$ID" >after.http && cmp -s before.http after.http; }
wait_until 60 "get-image answering tomato $ID as before" same_record
alive

step "the store hangs (SIGSTOP): get-image answers 503 within about a minute (a 30 s socket timeout, and the driver's one retry), not libmongoc's 5 minutes"
MONGO_PID=$(tr -dc '0-9' <"$WORK/mongo/pid")
kill -STOP "$MONGO_PID"
started=$SECONDS
GET_TIMEOUT=120 get "$URL/image-plant/tomato/$ID" >hung.http || true
took=$((SECONDS - started))
kill -CONT "$MONGO_PID"
[[ $(head -1 hung.http) == "503 application/json" ]] ||
  fail "get-image with the store hung: '$(head -1 hung.http)' after $took s (expected 503 within about a minute)"
alive
wait_until 60 "get-image answering tomato $ID again once the store resumes" same_record
say "ok: 503 after $took s with the store hung; 200 again once it resumed"

kill -TERM "$SERVE"
code=0; wait "$SERVE" || code=$?
[[ $code == 0 ]] || fail "lims serve exited $code on SIGTERM"
say "ok: lims serve recovered by itself and answers tomato $ID as before"
