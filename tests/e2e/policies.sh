#!/usr/bin/env bash
# e2e: what an operator sees when things go wrong: bad records under each --on-bad-record policy,
# dead letters in a topic and in a file, a bounded shutdown, and secrets kept out of every line.
set -euo pipefail
LIMS=$(realpath "${1:?usage: policies.sh PATH/TO/lims}")
source "$(dirname "$0")/lib.sh"
e2e_init

start_broker 1 "$WORK/broker.err"

# Three good events around two bad ones (not JSON; an id that is not a positive integer).
"$LIMS" simulate -b "$BROKERS" --max-rate --count 3 --seed 3 2>/dev/null
$PY - "$BROKERS" <<'PY'
import sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1]})
p.produce("tomato", key=b"1", value=b"not json")
p.produce("tomato", key=b"2", value=b'{"id": -2}')
p.flush(10)
PY
"$LIMS" simulate -b "$BROKERS" --max-rate --count 3 --seed 4 2>/dev/null
ARGS=(-b "$BROKERS" --exit-at-end -X session.timeout.ms=6000)

step "dead-letter (the default): both bad records go to lims-dead-letters, the run goes on"
"$LIMS" consume "${ARGS[@]}" --group dl --store sqlite:dl.db 2>dl.err || { cat dl.err; fail "exit $?"; }
grep -q '^consume: 8 records: .* 2 bad' dl.err || { cat dl.err; fail "summary"; }
[[ $(grep -c 'dead-lettered to lims-dead-letters: tomato/0@' dl.err) == 2 ]] || { cat dl.err; fail "log lines"; }
$PY - "$BROKERS" <<'PY' || fail "dead-letter topic content"
import sys
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "reader",
              "auto.offset.reset": "earliest", "enable.partition.eof": True})
c.subscribe(["lims-dead-letters"])
got = []
while len(got) < 2:  # the topic may have several partitions: no single end to wait for
    m = c.poll(10)
    assert m is not None, "timed out reading lims-dead-letters: %d records" % len(got)
    if m.error():
        continue
    got.append(m)
c.close()
by_value = {m.value(): m for m in got}
assert sorted(by_value) == [b'not json', b'{"id": -2}'], sorted(by_value)
h = dict(by_value[b'{"id": -2}'].headers())
assert h["lims.source.topic"] == b"tomato" and h["lims.consumer.group"] == b"dl", h
assert h["lims.error"].startswith(b"tomato/0@" + h["lims.source.offset"] + b": id: expected"), h
PY

step "--dead-letter-file: JSON lines with the reason, origin, key and value"
"$LIMS" consume "${ARGS[@]}" --group file --store sqlite:f.db --dead-letter-file dead.jsonl \
  2>file.err || { cat file.err; fail "exit $?"; }
$PY - <<'PY' || fail "dead-letter file content"
import json
lines = [json.loads(l) for l in open("dead.jsonl")]
assert [l["value"] for l in lines] == ["not json", '{"id": -2}'], lines
assert all(l["topic"] == "tomato" and l["group"] == "file" and l["key"] for l in lines), lines
PY

step "skip: logged and counted, nothing kept"
"$LIMS" consume "${ARGS[@]}" --group skip --store sqlite:s.db --on-bad-record skip 2>skip.err \
  || { cat skip.err; fail "exit $?"; }
[[ $(grep -c 'skipped bad record tomato/0@' skip.err) == 2 ]] || { cat skip.err; fail "skip lines"; }

step "fail: exit 4 naming the record; the next run starts at it again"
code=0
"$LIMS" consume "${ARGS[@]}" --group fail --store sqlite:x.db --on-bad-record fail 2>fail.err || code=$?
[[ $code == 4 ]] || { cat fail.err; fail "exit $code, expected 4"; }
grep -q 'error: bad record tomato/0@[0-9]*: value: expected a JSON object' fail.err \
  || { cat fail.err; fail "fail message"; }
code=0
"$LIMS" consume "${ARGS[@]}" --group fail --store sqlite:x.db --on-bad-record fail 2>fail2.err || code=$?
[[ $code == 4 ]] || { cat fail2.err; fail "second run exit $code, expected 4"; }

step "secrets: -X passwords and MongoDB passwords never reach the output"
code=0
"$LIMS" consume -b 127.0.0.1:1 --connect-timeout 1 -X security.protocol=SASL_PLAINTEXT \
  -X sasl.mechanism=PLAIN -X sasl.username=u -X sasl.password=hunter2 -X debug=all \
  --log-level debug --store sqlite:y.db >secret.out 2>&1 || code=$?
[[ $code == 3 ]] || fail "consume of an unreachable broker exited $code, expected 3"
grep -q 'sasl.password' secret.out || fail "the debug output names no sasl.password at all"
grep -q hunter2 secret.out && fail "a Kafka password was printed"
code=0
"$LIMS" get-image tomato 1 --store 'mongodb://u:hunter3@127.0.0.1:1/db?serverSelectionTimeoutMS=500' \
  >secret2.out 2>&1 || code=$?
[[ $code == 3 ]] || fail "get-image of an unreachable MongoDB exited $code, expected 3"
grep -q hunter3 secret2.out && fail "a MongoDB password was printed"
LIMS_STORE='mongodb://u:hunter4@h/db' "$LIMS" consume --help | grep -q hunter4 \
  && fail "--help printed a password"

step "--shutdown-timeout: a stop that cannot finish (broker frozen) ends in time, exit 1"
mkfifo frozen.fifo
"$LIMS" consume -b "$BROKERS" --group frozen --store sqlite:z.db -X session.timeout.ms=6000 \
  --shutdown-timeout 2 2>frozen.fifo &
CONSUMER=$!
exec 4<frozen.fifo
wait_fifo 4 60 "lims: info: assigned *" "the consumer's assignment"
kill -STOP "$BROKER_PID"
start=$(date +%s%N)
kill -TERM "$CONSUMER"
cat <&4 >frozen.err
code=0; wait "$CONSUMER" || code=$?
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
kill -CONT "$BROKER_PID"
[[ $code == 1 ]] || { cat frozen.err; fail "exit $code, expected 1"; }
grep -q 'shutdown did not finish within 2 s' frozen.err || { cat frozen.err; fail "message"; }
(( took_ms < 10000 )) || fail "the stop took ${took_ms} ms"
step "  stopped in ${took_ms} ms"

kill -TERM "$BROKER_PID"; wait "$BROKER_PID" || true; BROKER_PID=
echo "e2e: policies ok"
