#!/usr/bin/env bash
# e2e: one set of options. Every subcommand that has an option spells it the same way and falls
# back to the same LIMS_* variable; the older spellings still work; the commands that ignore the
# environment say so in --help. Needs no broker: a broker that cannot be reached names itself.
set -euo pipefail
LIMS=$(realpath "${1:?usage: options.sh PATH/TO/lims}")
E2E_TAG=e2e.options
source "$(dirname "$0")/lib.sh"
e2e_init

# unreachable CMD...: CMD must exit 3 naming the broker address 127.0.0.1:1.
unreachable() {
  local code=0
  "$@" >out 2>err || code=$?
  [[ $code == 3 ]] || fail "$* exited $code, expected 3: $(tail -2 err)"
  grep -q '127\.0\.0\.1:1\b' err || fail "$*: the error does not name the broker: $(tail -1 err)"
}

step "LIMS_BROKERS reaches every command that talks to Kafka"
export LIMS_BROKERS=127.0.0.1:1
unreachable "$LIMS" consume --connect-timeout 0.5 --store sqlite:c.db
unreachable "$LIMS" simulate --connect-timeout 0.5 --count 1
unreachable "$LIMS" replay record --connect-timeout 0.5 --out capture.jsonl
echo '{"topic":"potato","partition":0,"offset":0,"timestamp":1,"key":"1","value":null}' >one.jsonl
unreachable "$LIMS" replay play --connect-timeout 0.5 --file one.jsonl
unreachable "$LIMS" replay rebuild --connect-timeout 0.5 --from-beginning --store sqlite:r.db
unset LIMS_BROKERS

step "the same spelling everywhere, and the older ones still accepted"
# The help is read whole before grep looks: grep -q stops at the first match, and the pipe's
# writer would then die of SIGPIPE, which pipefail reports.
for cmd in consume "replay record" "replay rebuild" dev-broker; do
  # shellcheck disable=SC2086
  help=$("$LIMS" $cmd --help)
  grep -Eq '^  -t,--topic TEXT' <<<"$help" || fail "$cmd has no -t,--topic"
done
for cmd in consume sync-batch serve demo; do
  help=$("$LIMS" $cmd --help)
  grep -q -- '--http-threads' <<<"$help" || fail "$cmd has no --http-threads"
done
for cmd in consume simulate bench; do
  help=$("$LIMS" $cmd --help)
  grep -Eq '^  -c,--count ' <<<"$help" || fail "$cmd has no -c,--count"
done
for cmd in consume "replay rebuild" sync-batch; do  # the commands that write a consumer store
  # shellcheck disable=SC2086
  help=$("$LIMS" $cmd --help)
  grep -Eq '^  --delete-marker-retention DURATION=7d \(Env:LIMS_DELETE_MARKER_RETENTION\)' \
    <<<"$help" || fail "$cmd has no --delete-marker-retention DURATION=7d"
  code=0
  # shellcheck disable=SC2086
  "$LIMS" $cmd --delete-marker-retention 0 >/dev/null 2>bad.err || code=$?
  [[ $code == 2 ]] || fail "$cmd --delete-marker-retention 0 exited $code, expected 2"
  grep -q 'expected a duration longer than 0' bad.err || fail "$cmd: $(cat bad.err)"
done
# --topics (replay, dev-broker) and -n (simulate, bench) were the spellings before.
coproc BROKER { exec "$LIMS" dev-broker --topics stg.potato,stg.tomato,stg.pepper 2>broker.err; }
PIDS+=("$BROKER_PID")
read -r -t 30 BROKERS <&"${BROKER[0]}" || fail "dev-broker --topics printed no address"
grep -q 'with 3 topics' broker.err || fail "dev-broker --topics: $(cat broker.err)"
"$LIMS" simulate -b "$BROKERS" --topic-prefix stg. --max-rate -n 5 2>sim.err ||
  fail "simulate -n: $(tail -1 sim.err)"
grep -q '^simulate: 5 events' sim.err || fail "simulate -n 5: $(tail -1 sim.err)"
"$LIMS" replay record -b "$BROKERS" --topics stg.potato,stg.tomato,stg.pepper --out cap.jsonl \
  2>record.err || fail "replay record --topics: $(tail -1 record.err)"
grep -q '^record: 5 records' record.err || fail "replay record --topics: $(tail -1 record.err)"

step "LIMS_TOPIC_PREFIX, and the commands that ignore the other variables say so"
LIMS_TOPIC_PREFIX=stg. "$LIMS" replay record -b "$BROKERS" --out cap2.jsonl 2>record2.err ||
  fail "replay record with LIMS_TOPIC_PREFIX: $(tail -1 record2.err)"
grep -q '^record: 5 records' record2.err || fail "LIMS_TOPIC_PREFIX was not read: $(tail -1 record2.err)"
help=$("$LIMS" bench --help)
[[ ${help//$'\n'/ } == *'does not read LIMS_BROKERS'* ]] ||
  fail "bench --help does not say it ignores LIMS_BROKERS"
help=$("$LIMS" demo --help)
[[ ${help//$'\n'/ } == *'reads no LIMS_* variable but LIMS_LOG_LEVEL'* ]] ||
  fail "demo --help does not say it ignores the LIMS_* variables"
stop_broker
echo "e2e: options ok"
