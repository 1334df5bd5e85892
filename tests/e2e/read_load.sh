#!/usr/bin/env bash
# e2e: `lims serve` under 256 concurrent keep-alive connections for 5 s. Every connection is
# answered, every answer is 200 with the record asked for, no connection is refused, reset or
# left without an answer, and the process stays alive and counts each request on /metrics.
# A correctness test: how fast it answers is bench/http.sh's business (docs/performance.md).
#   usage: read_load.sh PATH/TO/lims    (KEEP_WORK=1 keeps the work directory)
set -euo pipefail
LIMS=$(realpath "${1:?usage: read_load.sh PATH/TO/lims}")
E2E_TAG=e2e.read-load E2E_FAIL_TAILS=1
source "$(dirname "$0")/lib.sh"
e2e_init
CONNECTIONS=256
SECONDS_UNDER_LOAD=5

start_broker 1 "$WORK/broker.err"
"$LIMS" simulate -b "$BROKERS" --max-rate --count 90 --seed 31 2>/dev/null
"$LIMS" consume -b "$BROKERS" --store sqlite:c.db --from-beginning --exit-at-end --progress 0 \
  2>consume.err || fail "consume failed: $(tail -3 consume.err)"
stop_broker

"$LIMS" serve --store sqlite:c.db --listen 127.0.0.1:0 2>serve.err &
SERVE=$!
PIDS+=("$SERVE")
URL=$(url_of serve.err)

step "$CONNECTIONS keep-alive connections for $SECONDS_UNDER_LOAD s, full records and ?fields=meta"
"$PY" - "$URL" "$CONNECTIONS" "$SECONDS_UNDER_LOAD" >load.out <<'PY' || { cat load.out; fail "errors under load"; }
import asyncio, collections, json, sys, time, urllib.parse, urllib.request
url, connections, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
where = urllib.parse.urlsplit(url)
ids = []
for plant in ("potato", "tomato", "pepper"):
    with urllib.request.urlopen(f"{url}/api/latest?plant={plant}&n=100", timeout=10) as r:
        ids += [(plant, rec["id"]) for rec in json.load(r)]
assert ids, "no records"
statuses, errors, per_connection = collections.Counter(), [], [0] * connections
opened = [0]  # connections opened (or failed to open) so far

async def client(n, start, stop):
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(where.hostname, where.port), 30)
    except (OSError, asyncio.TimeoutError) as e:
        errors.append(f"connection {n}: connect: {e!r}")
        return
    finally:
        opened[0] += 1
    await start.wait()
    i = n
    try:
        while not stop.is_set():
            plant, id_ = ids[i % len(ids)]
            path = f"/image-plant/{plant}/{id_}" + ("?fields=meta" if i % 2 else "")
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {where.netloc}\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            fields = dict(l.split(": ", 1) for l in lines[1:] if ": " in l)
            length = int({k.lower(): v for k, v in fields.items()}["content-length"])
            body = await asyncio.wait_for(reader.readexactly(length), 30)
            statuses[status] += 1
            if status != 200 or json.loads(body)["id"] != id_:
                errors.append(f"connection {n}: {path}: {status} {body[:80]!r}")
            if "close" in {k.lower(): v.lower() for k, v in fields.items()}.get("connection", ""):
                errors.append(f"connection {n}: the server closed a keep-alive connection")
                return
            per_connection[n] += 1
            i += connections
    except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError, KeyError) as e:
        errors.append(f"connection {n}: {e!r}")
    finally:
        writer.close()

async def main():
    start, stop = asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(client(n, start, stop)) for n in range(connections)]
    while opened[0] < connections:  # every connection is open before the first request goes
        await asyncio.sleep(0.01)
    start.set()
    t0 = time.monotonic()
    await asyncio.sleep(duration)
    stop.set()
    await asyncio.gather(*tasks)
    return time.monotonic() - t0

elapsed = asyncio.run(main())
total = sum(per_connection)
print(f"requests {total} in {elapsed:.1f} s ({total / elapsed:.0f}/s), statuses {dict(statuses)},"
      f" per connection {min(per_connection)} to {max(per_connection)}")
for e in errors[:10]:
    print("ERROR", e)
idle = [n for n, c in enumerate(per_connection) if c == 0]
if idle:
    print(f"ERROR {len(idle)} connections got no answer, e.g. {idle[:5]}")
sys.exit(1 if errors or idle else 0)
PY
say "ok: $(cat load.out)"
kill -0 "$SERVE" 2>/dev/null || fail "lims serve died under load: $(tail -3 serve.err)"
[[ $(get "$URL/healthz" | head -1) == "200 "* ]] || fail "/healthz after the load"
requests=$(sed -n 's/^requests \([0-9]*\) .*/\1/p' load.out)
served=$(get "$URL/metrics" | awk '$1 == "lims_http_requests_total{route=\"/image-plant/{plant}/{id}\",code=\"200\"}" {print $2}')
[[ $served == "$requests" ]] || fail "/metrics counts $served image requests answered 200, the clients got $requests"
kill -TERM "$SERVE"
code=0; wait "$SERVE" || code=$?
[[ $code == 0 ]] || fail "lims serve exited $code on SIGTERM"
say "ok: alive through the load, /metrics counts all $requests, exit 0 on SIGTERM"
