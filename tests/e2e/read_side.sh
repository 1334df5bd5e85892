#!/usr/bin/env bash
# e2e: the read side needs no Kafka. `lims serve` over the consumer's SQLite store keeps answering
# get-image with the stored record (200) and /readyz with 200 while the consumer's group
# rebalances (a second member joins while events stream in, then leaves) and while the
# consumer's broker is down (frozen with SIGSTOP until the consumer loses its partitions and
# turns unready, then killed). A prober asks all the time, on one keep-alive connection as a load
# balancer would; the consumer's own /readyz, asked beside it, shows that each fault took hold.
#   usage: read_side.sh PATH/TO/lims    (KEEP_WORK=1 keeps the work directory)
set -euo pipefail
LIMS=$(realpath "${1:?usage: read_side.sh PATH/TO/lims}")
E2E_TAG=e2e.read-side E2E_FAIL_TAILS=1
source "$(dirname "$0")/lib.sh"
e2e_init

GROUP=read-side-$$
# The members of a group must agree on it; also how long the group (and a member cut off from
# its broker) takes to give up on a member.
KAFKA_OPTS=(-X session.timeout.ms=6000)
PER_PHASE=30  # answers from lims serve each phase must see, at least

start_consumer() {  # start_consumer NAME: sets PID_<NAME> and URL_<NAME>, logs to NAME.err
  "$LIMS" consume -b "$BROKERS" --group "$GROUP" --store sqlite:c.db --listen 127.0.0.1:0 \
    --progress 0.2 "${KAFKA_OPTS[@]}" 2>"$1.err" &
  PIDS+=($!)
  printf -v "PID_$1" %s $!
  printf -v "URL_$1" %s "$(url_of "$1.err")"
}
status_of() { get "$1" | head -1 | cut -d' ' -f1; }
ready() { [[ $(status_of "$1/readyz") == 200 ]]; }
alive() { kill -0 "$1" 2>/dev/null || fail "$2 ended by itself"; }
set_phase() { echo "$1" >phase.new && mv phase.new phase; }  # whole, as the prober reads it
# held LOG: how many partitions the consumer logging to LOG holds now, replaying its assigned,
# revoking and lost lines.
held() {
  awk '/^lims: info: assigned |^lims: info: revoking |^lims: warning: lost / {
         add = ($2 == "info:" && $3 == "assigned")
         line = $0; sub(/^lims: [a-z]+: [a-z]+ /, "", line); sub(/ \(.*/, "", line)
         n = split(line, parts, ", ")
         for (i = 1; i <= n; i++) if (parts[i] != "none") { if (add) have[parts[i]] = 1; else delete have[parts[i]] }
       }
       END { c = 0; for (p in have) c++; print c }' "$1"
}
holds() { alive "$3" "consumer $1"; [[ $(held "$1.err") == "$2" ]]; }

start_broker 2 "$WORK/broker.err"
"$LIMS" simulate -b "$BROKERS" --max-rate --count 60 --seed 11 2>/dev/null
start_consumer a
consumed_60() { alive "$PID_a" "consumer a"; grep -q '^consume: 60 records' a.err; }
wait_until 60 "consumer a stores the 60 events" consumed_60
wait_until 30 "consumer a ready" ready "$URL_a"

"$LIMS" serve --store sqlite:c.db --listen 127.0.0.1:0 2>serve.err &
SERVE=$!
PIDS+=("$SERVE")
SERVE_URL=$(url_of serve.err)
wait_until 30 "lims serve ready" ready "$SERVE_URL"
say "consumer a at $URL_a, lims serve at $SERVE_URL, both over c.db"

# The prober: the phase it is in comes from the file phase; one line per answer to probe.log,
# "PHASE WHO WHAT STATUS"; stops when the file stop appears (or after 300 s).
set_phase steady
"$PY" - "$SERVE_URL" "$URL_a" <<'PY' >probe.log 2>probe.err &
import http.client, json, os, sys, time, urllib.parse, urllib.request
serve, consumer = (urllib.parse.urlsplit(u) for u in sys.argv[1:3])
ids = []
for plant in ("potato", "tomato", "pepper"):
    with urllib.request.urlopen(f"{sys.argv[1]}/api/latest?plant={plant}&n=100", timeout=10) as r:
        ids += [(plant, rec["id"]) for rec in json.load(r)]
assert ids, "no records to ask for"
conns = {}
def ask(who, where, path):
    """(status, body) on a keep-alive connection; a broken one is reopened once."""
    for attempt in (1, 2):
        c = conns.get(who)
        if c is None:
            c = conns[who] = http.client.HTTPConnection(where.hostname, where.port, timeout=5)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        except (OSError, http.client.HTTPException) as e:
            c.close()
            conns.pop(who, None)
            if attempt == 2:
                return 0, str(e).encode()
deadline, i = time.monotonic() + 300, 0
while not os.path.exists("stop") and time.monotonic() < deadline:
    phase = open("phase").read().strip()
    plant, id_ = ids[i % len(ids)]
    meta = "?fields=meta" if i % 2 else ""
    status, body = ask("serve", serve, f"/image-plant/{plant}/{id_}{meta}")
    ok = status == 200 and json.loads(body)["id"] == id_
    print(phase, "serve", "image", status if ok or status != 200 else "wrong-record", flush=True)
    status, _ = ask("serve", serve, "/readyz")
    print(phase, "serve", "readyz", status, flush=True)
    status, _ = ask("consumer", consumer, "/readyz")
    print(phase, "consumer", "readyz", status, flush=True)
    i += 1
    time.sleep(0.02)
PY
PROBER=$!
PIDS+=("$PROBER")
# answers PHASE: how many get-image answers from lims serve the prober has logged in PHASE.
answers() { grep -c "^$1 serve image " probe.log || true; }
enough() { alive "$PROBER" "the prober"; (($(answers "$1") >= PER_PHASE)); }
wait_until 30 "lims serve answering the prober" enough steady

step "the consumer's group rebalances: b joins while events stream in, then leaves"
set_phase rebalance
"$LIMS" simulate -b "$BROKERS" --speedup 1000 --count 100000 --seed 12 2>producer.err &
PRODUCER=$!
PIDS+=("$PRODUCER")
start_consumer b
b_holds_some() { alive "$PID_b" "consumer b"; (($(held b.err) > 0)); }
wait_until 60 "consumer b taking partitions from a" b_holds_some
wait_until 60 "consumer a holding the rest (3 of 6)" holds a 3 "$PID_a"
kill -TERM "$PID_b"
wait "$PID_b" || fail "consumer b did not exit 0 on SIGTERM"
wait_until 60 "consumer a taking all 6 partitions back" holds a 6 "$PID_a"
wait_until 30 "consumer a ready" ready "$URL_a"
stop_producer "$PRODUCER" producer.err
wait_until 30 "$PER_PHASE answers during the rebalance" enough rebalance
say "ok: the group rebalanced twice (consumer a revoked its partitions $(grep -c '^lims: info: revoking ' a.err) times)"

step "the broker freezes (SIGSTOP): the consumer loses its partitions and turns unready"
set_phase broker-frozen
kill -STOP "$BROKER_PID"
consumer_unready() { grep -q '^broker-frozen consumer readyz 503$' probe.log; }
wait_until 60 "consumer a's /readyz answering 503 with its broker frozen" consumer_unready
set_phase broker-frozen-unready
wait_until 30 "$PER_PHASE answers with the consumer unready" enough broker-frozen-unready
say "ok: consumer a unready ($(grep '^lims: warning: lost ' a.err | tail -1 | cut -c1-100))"

step "the broker is killed"
set_phase broker-killed
kill -KILL "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
wait_until 30 "$PER_PHASE answers with the broker gone" enough broker-killed

touch stop
wait "$PROBER" || { cat probe.err; fail "the prober failed"; }
alive "$SERVE" "lims serve"
"$PY" - probe.log "$PER_PHASE" <<'PY' || fail "lims serve did not answer everything with 200"
import collections, sys
lines = [l.split() for l in open(sys.argv[1])]
bad = [l for l in lines if l[1] == "serve" and l[3] != "200"]
for l in bad[:10]:
    print("e2e.read-side: BAD", " ".join(l))
counts = collections.Counter((l[0], l[2]) for l in lines if l[1] == "serve")
for phase in ("steady", "rebalance", "broker-frozen", "broker-frozen-unready", "broker-killed"):
    print(f"e2e.read-side:        {phase:22} {counts[(phase, 'image')]:4} get-image 200,"
          f" {counts[(phase, 'readyz')]:4} /readyz 200 from lims serve")
unready = sum(1 for l in lines if l[1] == "consumer" and l[3] != "200")
print(f"e2e.read-side:        meanwhile the consumer's /readyz answered non-200 {unready} times")
sys.exit(1 if bad else 0)
PY
kill -TERM "$SERVE"
code=0; wait "$SERVE" || code=$?
[[ $code == 0 ]] || fail "lims serve exited $code on SIGTERM"
say "ok: lims serve answered get-image 200 and /readyz 200 throughout"
