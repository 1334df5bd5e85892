#!/usr/bin/env bash
# e2e: scripts/smoke, as an operator runs it after a deploy, pointed at a local consumer with
# --url: without a change it waits, then fails saying so; a change made after it started is seen
# through the read side (a local `lims serve` over the consumer's store, --read-url), and the
# record it prints is the stored one.
set -euo pipefail
LIMS=$(realpath "${1:?usage: smoke.sh PATH/TO/lims}")
SMOKE=$(realpath "$(dirname "$0")/../../scripts/smoke")
E2E_TAG=e2e.smoke
source "$(dirname "$0")/lib.sh"
e2e_init

start_broker 1 "$WORK/broker.err"
"$LIMS" simulate -b "$BROKERS" --max-rate --count 30 --seed 5 2>/dev/null
"$LIMS" consume -b "$BROKERS" --store sqlite:c.db --listen 127.0.0.1:0 --progress 0 \
  2>consume.err &
PIDS+=("$!")
URL=$(url_of consume.err)
"$LIMS" serve --store sqlite:c.db --listen 127.0.0.1:0 2>serve.err &
PIDS+=("$!")
READ_URL=$(url_of serve.err)

step "no change: smoke waits for the 30 events to be consumed, then for a change, and fails"
code=0
"$SMOKE" --url "$URL" --wait 8 --interval 0.5 >none.out 2>none.err || code=$?
[[ $code == 1 ]] || { cat none.err; fail "smoke exited $code without a change, want 1"; }
grep -q '^smoke: caught up at lims_events_total 30;' none.err ||
  { cat none.err; fail "smoke did not wait for the backlog"; }
grep -q '^smoke: error: no change came through within 8 s' none.err ||
  { cat none.err; fail "smoke did not say that no change came"; }
[[ ! -s none.out ]] || fail "smoke printed a record without a change: $(cat none.out)"

step "a change after the start: smoke sees it through the read side and prints the record"
"$SMOKE" --url "$URL" --read-url "$READ_URL" --wait 60 --interval 0.5 >change.out 2>change.err &
SMOKE_PID=$!
PIDS+=("$SMOKE_PID")
is_caught_up() { [[ $1 == "smoke: caught up at lims_events_total 30;"* ]]; }
wait_line change.err 60 "$SMOKE_PID" is_caught_up || { cat change.err; fail "smoke never caught up"; }
"$LIMS" simulate -b "$BROKERS" --max-rate --count 1 --seed 6 2>/dev/null
code=0
wait "$SMOKE_PID" || code=$?
[[ $code == 0 ]] || { cat change.err; fail "smoke exited $code after a change, want 0"; }
ok=$(grep '^smoke: ok: lims_events_total 30 -> 31, and .* from the read side answers it' change.err) ||
  { cat change.err; fail "no ok line"; }
[[ $ok =~ and\ (potato|tomato|pepper)\ ([0-9]+)\ changed ]] || fail "ok line: $ok"
"$LIMS" get-image "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" --store sqlite:c.db --no-data >stored.json
cmp -s change.out stored.json ||
  fail "smoke printed $(cat change.out), the store holds $(cat stored.json)"
step "ok"
