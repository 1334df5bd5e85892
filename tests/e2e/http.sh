#!/usr/bin/env bash
# e2e: the HTTP side as a user (or Kubernetes) sees it: `lims serve` over a store, and
# `lims consume --listen` serving the same handlers while it streams, with readiness following
# the consumer.
set -euo pipefail
LIMS=$(realpath "${1:?usage: http.sh PATH/TO/lims}")
source "$(dirname "$0")/lib.sh"
e2e_init

start_broker 2 "$WORK/broker.err"
"$LIMS" simulate -b "$BROKERS" --max-rate --count 60 --seed 11 2>/dev/null

step "consume --listen: /readyz is 503 until partitions are assigned, then 200; records served"
"$LIMS" consume -b "$BROKERS" --store sqlite:c.db --listen 127.0.0.1:0 --progress 0.2 \
  -X session.timeout.ms=6000 2>consume.err &
CONSUMER=$!
PIDS+=("$CONSUMER")
URL=$(url_of consume.err)
first=$(get "$URL/readyz" | head -1)
[[ $first == "503 "* || $first == "200 "* ]] || fail "/readyz answered '$first'"
deadline=$((SECONDS + 30))
until [[ $(get "$URL/readyz" | head -1) == "200 "* ]]; do
  ((SECONDS < deadline)) || { get "$URL/readyz"; cat consume.err; fail "/readyz never became ready"; }
  sleep 0.2
done
deadline=$((SECONDS + 30))
until grep -q '^consume: 60 records' consume.err; do  # everything simulated is stored
  ((SECONDS < deadline)) || { cat consume.err; fail "the 60 events were not consumed"; }
  sleep 0.2
done
get "$URL/image-plant/tomato/1" >rec.http
[[ $(head -1 rec.http) == "200 application/json" ]] || fail "record: $(head -1 rec.http)"
tail -n +2 rec.http >rec.json
"$LIMS" get-image tomato 1 --store sqlite:c.db >cli.json
cmp -s <(cat rec.json; echo) cli.json || fail "HTTP and get-image disagree on tomato 1"
get "$URL/image-plant/tomato/1/jpeg" >jpeg.http
[[ $(head -1 jpeg.http) == "200 image/jpeg" ]] || fail "jpeg: $(head -1 jpeg.http)"
[[ $(tail -n +2 jpeg.http | head -c 3 | od -An -tx1 | tr -d ' ') == ffd8ff ]] || fail "not a JPEG"
[[ $(get "$URL/image-plant/tomato/1" image/jpeg | head -1) == "200 image/jpeg" ]] \
  || fail "Accept: image/jpeg"
[[ $(get "$URL/ping" | tail -n +2) == '"Hello, I am alive"' ]] || fail "/ping"
[[ $(get "$URL/image-plant/tomato/999999" | head -1) == "404 "* ]] || fail "unknown id"
[[ $(get "$URL/image-plant/cabbage/1" | head -1) == "422 "* ]] || fail "bad plant"
[[ $(get "$URL/image-plant/tomato/-3" | head -1) == "422 "* ]] || fail "negative id"
step "consume --listen: /metrics in the Prometheus text format, with the stream's numbers"
get "$URL/metrics" >metrics.http
[[ $(head -1 metrics.http) == "200 text/plain; version=0.0.4; charset=utf-8" ]] \
  || fail "/metrics: $(head -1 metrics.http)"
"$PY" - metrics.http <<'PY' || fail "/metrics content"
import re, sys
lines = open(sys.argv[1]).read().splitlines()[1:]
samples = {}
for line in lines:
    if line.startswith("# "):
        assert re.match(r"# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* ", line), line
        continue
    name, value = line.rsplit(" ", 1)
    samples[name] = float(value)
def total(prefix):
    return sum(v for k, v in samples.items() if k.startswith(prefix))
assert total("lims_events_total{") == 60, total("lims_events_total{")
assert total('lims_event_bytes_total{plant="tomato"}') > 0
assert samples["lims_end_to_end_seconds_count"] == 60, samples.get("lims_end_to_end_seconds_count")
assert samples["lims_batch_events_count"] >= 1
assert samples["lims_store_write_seconds_count"] >= 1
assert samples["lims_events_rejected_total"] == 0
assert any(k.startswith("lims_consumer_lag{") for k in samples), "no lag series"
assert samples["process_cpu_seconds_total"] > 0 and samples["process_resident_memory_bytes"] > 1e6
for name in ("lims_events_total", "lims_end_to_end_seconds", "lims_consumer_lag"):
    assert any(l.startswith("# TYPE " + name + " ") for l in lines), name
# The requests above, by route template and status; images served by plant.
req = lambda route, code: samples.get('lims_http_requests_total{route="%s",code="%s"}' % (route, code))
assert req("/image-plant/{plant}/{id}", 200) == 2, req("/image-plant/{plant}/{id}", 200)
assert req("/image-plant/{plant}/{id}/jpeg", 200) == 1
assert req("/image-plant/{plant}/{id}", 404) == 1 and req("/image-plant/{plant}/{id}", 422) == 2
assert req("/ping", 200) == 1
assert samples['lims_images_served_total{plant="tomato"}'] == 3
assert samples['lims_image_bytes_served_total{plant="tomato"}'] > 3 * 4000
assert samples['lims_http_request_duration_seconds_count{route="/image-plant/{plant}/{id}"}'] == 5
# Time by stage: the stream decoded and stored something, librdkafka's threads used the CPU.
stage = lambda family, name, kind=None: samples.get(
    '%s{stage="%s"%s}' % (family, name, ',kind="%s"' % kind if kind else ""))
assert stage("lims_stage_seconds_total", "decode", "work") > 0
assert stage("lims_stage_seconds_total", "store", "work") > 0
assert stage("lims_stage_seconds_total", "fetch", "wait") > 0
assert stage("lims_stage_cpu_seconds_total", "decode") > 0
assert stage("lims_stage_cpu_seconds_total", "kafka_client") > 0
PY
kill -TERM "$CONSUMER"
code=0; wait "$CONSUMER" || code=$?
[[ $code == 0 ]] || { cat consume.err; fail "consume --listen exited $code on SIGTERM"; }
grep -Eq '^consume: time by stage, wall/CPU: fetch [0-9.]+/[0-9.]+ s, .*; bottleneck: [a-z_]+; [0-9]+ us CPU per record$' \
  consume.err || { cat consume.err; fail "no time by stage after the summary"; }

step "sync-batch --listen: its totals and last run time on /metrics"
"$LIMS" sync-batch --from sqlite:c.db --to sqlite:copy.db --state wm --interval 3600 \
  --listen 127.0.0.1:0 2>batch.err &
BATCH=$!
PIDS+=("$BATCH")
URL=$(url_of batch.err)
deadline=$((SECONDS + 30))
until grep -q '^sync-batch: time by stage' batch.err; do  # the line after a run's summary
  ((SECONDS < deadline)) || { cat batch.err; fail "no sync-batch run"; }
  sleep 0.1
done
get "$URL/metrics" | grep -E >/dev/null '^lims_sync_batch_images_total [1-9]' || fail "sync-batch images"
get "$URL/metrics" | grep -E >/dev/null '^lims_stage_seconds_total\{stage="write",kind="work"\} [0-9.e-]*[1-9]' ||
  fail "sync-batch's time by stage"
grep -Eq '^sync-batch: [0-9]+ images' batch.err || fail "no sync-batch summary"
grep -Eq '^sync-batch: time by stage, wall/CPU: read ' batch.err || fail "no sync-batch time by stage"
get "$URL/metrics" | awk '$1 == "lims_sync_batch_last_run_timestamp_seconds" && $2 > 1.7e9 {ok=1}
  END {exit !ok}' || fail "sync-batch last run"
kill -TERM "$BATCH"
wait "$BATCH" || fail "sync-batch --listen did not exit 0 on SIGTERM"

step "serve: the read side alone, 8 clients at once, each request counted on /metrics"
"$LIMS" serve --store sqlite:c.db --listen 127.0.0.1:0 2>serve.err &
SERVER=$!
PIDS+=("$SERVER")
URL=$(url_of serve.err)
"$PY" - "$URL" <<'PY' || fail "concurrent requests"
import sys, json, urllib.request
from concurrent.futures import ThreadPoolExecutor
url = sys.argv[1]
total = json.load(urllib.request.urlopen(url + "/image-plant/tomato/total/"))["total_images"]
assert total > 0, total
def one(i):
    r = urllib.request.urlopen("%s/image-plant/tomato/%d?fields=meta" % (url, i % total + 1))
    return json.load(r)["id"]
with ThreadPoolExecutor(8) as pool:
    ids = list(pool.map(one, range(400)))
assert sorted(set(ids)) == list(range(1, total + 1)), ids[:10]
PY
[[ $(get "$URL/readyz" | head -1) == "200 "* ]] || fail "serve /readyz"
get "$URL/metrics" | grep -Fx >/dev/null 'lims_http_requests_total{route="/image-plant/{plant}/{id}",code="200"} 400' ||
  fail "serve's /metrics does not count the 400 image requests"
get "$URL/metrics" | grep -Fx >/dev/null 'lims_images_served_total{plant="tomato"} 400' ||
  fail "serve's /metrics does not count the 400 tomato images served"
kill -TERM "$SERVER"
code=0; wait "$SERVER" || code=$?
[[ $code == 0 ]] || { cat serve.err; fail "serve exited $code on SIGTERM"; }
code=0; "$LIMS" serve --store sqlite:missing.db --listen 127.0.0.1:0 2>/dev/null || code=$?
[[ $code == 3 ]] || fail "serve of a missing store exited $code, expected 3"
code=0; "$LIMS" serve --store sqlite:c.db --listen nonsense 2>/dev/null || code=$?
[[ $code == 2 ]] || fail "serve --listen nonsense exited $code, expected 2"
echo "e2e: http ok"
