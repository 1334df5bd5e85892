#!/usr/bin/env bash
# e2e: `lims sync-batch` keeps its incremental checkpoint in the target, and never ahead of the
# data. A source of a few thousand images; for a SQLite target and a MongoDB one:
#  - into new targets, runs killed with SIGKILL at random points: after each kill, every source
#    record at or before the target's checkpoint is in the target (the checkpoint is never ahead
#    of the data); a run that resumes completes the copy (the target equals the source); one more
#    run copies 0;
#  - a second new target, from the same working directory, gets the full copy.
#   usage: sync_batch.sh PATH/TO/lims   (MongoDB: LIMS_MONGODB_URI_FILE, from ctest's fixture)
set -euo pipefail
LIMS=$(realpath "${1:?usage: sync_batch.sh PATH/TO/lims}")
E2E_TAG=e2e.sync-batch E2E_FAIL_TAILS=1
source "$(dirname "$0")/lib.sh"
e2e_init

KILLS=${KILLS:-5}
PER_PLANT=1500

start_broker 1 "$WORK/broker.log"
"$LIMS" simulate -b "$BROKERS" --initial $PER_PLANT --producer-store sqlite:src.db --count 1 \
  --image-size 4000:5000 --seed 3 2>simulate.log || fail "simulate failed: $(tail -3 simulate.log)"
stop_broker
say "source: $((3 * PER_PLANT + 1)) images in src.db"
SOURCE_ID="sqlite:$WORK/src.db"

# check TARGET WHAT: the checkpoint is never ahead of the data; with "complete", also the target
# equals the source. Prints "checked N" (records at or before the checkpoints).
check() {
  "$PY" - "$WORK/src.db" "$1" "$SOURCE_ID" "$2" <<'PY'
import sqlite3, sys
src_path, target, source_id, what = sys.argv[1:5]
src = sqlite3.connect(src_path)
plants = ("potato", "tomato", "pepper")
def source_rows(plant):
    return src.execute(f"select coalesce(updated_at, created_at), id from imagecolplant{plant}").fetchall()
if target.startswith("sqlite:"):
    db = sqlite3.connect(target[len("sqlite:"):])
    tables = {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}
    if "lims_copy_positions" not in tables:  # killed before it made its schema
        assert what != "complete", "no lims tables in the target after a complete run"
        print("checked 0")
        sys.exit(0)
    def position(plant):
        row = db.execute("select version, id from lims_copy_positions where key = ?",
                         (f"sync-batch incremental {source_id} {plant}",)).fetchone()
        return tuple(row) if row else None
    def stored(plant):
        return dict((i, v) for v, i in db.execute(
            f"select coalesce(updated_at, created_at), id from imagecolplant{plant}"))
else:
    import datetime, pymongo
    db = pymongo.MongoClient(target).get_default_database()
    epoch = datetime.datetime(1970, 1, 1)
    def micros(t):
        return (t.replace(tzinfo=None) - epoch) // datetime.timedelta(microseconds=1)
    def position(plant):
        d = db.lims_copy_positions.find_one({"_id": f"sync-batch incremental {source_id} {plant}"})
        return (d["version"], d["id"]) if d else None
    def stored(plant):
        return {d["id"]: micros(d["updated_at"] or d["created_at"])
                for d in db[f"imagecolplant{plant}"].find({}, {"id": 1, "created_at": 1, "updated_at": 1})}
checked, bad = 0, []
for plant in plants:
    pos, have = position(plant), stored(plant)
    for version, id_ in source_rows(plant):
        # MongoDB keeps milliseconds: compare the source's version cut to them.
        v = version if target.startswith("sqlite:") else version // 1000 * 1000
        covered = pos is not None and (v, id_) <= tuple(pos)
        if covered or what == "complete":
            checked += 1
            if have.get(id_, -2**63) < v:
                bad.append(f"{plant} {id_} (version {v}): {'covered by the checkpoint ' + str(pos) if covered else 'missing'}, target has {have.get(id_)}")
    if what == "complete" and pos is None:
        bad.append(f"{plant}: no checkpoint after a complete run")
for line in bad[:10]:
    print("BAD", line)
print("checked", checked)
sys.exit(1 if bad else 0)
PY
}

# run_killed TARGET SECONDS: one run killed with SIGKILL after SECONDS.
run_killed() {
  "$LIMS" sync-batch --from sqlite:src.db --to "$1" --once 2>killed.err &
  local pid=$!
  PIDS+=("$pid")
  sleep "$2"  # the random moment of the kill is what is under test
  kill -KILL "$pid" 2>/dev/null || true
  local code=0
  { wait "$pid"; } 2>/dev/null || code=$?
  ((code == 137 || code == 0)) || fail "sync-batch exited $code: $(tail -3 killed.err)"
  [[ $code == 137 ]]
}

# exercise BASE NAME: KILLS times, a new target BASE-k gets a run killed at a random point of
# its full copy (checked: the checkpoint is not ahead of the data), then a run that resumes and
# completes it (checked: the target equals the source), then one that copies nothing.
exercise() {
  local base=$1 name=$2 started duration k at out landed=0
  # How long an uninterrupted copy takes, to place the kills within it.
  started=$(date +%s%N)
  "$LIMS" sync-batch --from sqlite:src.db --to "$base-0" --once 2>scratch.err ||
    fail "$name: a full copy failed: $(tail -3 scratch.err)"
  duration=$((($(date +%s%N) - started) / 1000000))
  say "$name: a full copy takes $duration ms; killing runs at random points within it"
  for ((k = 1; k <= KILLS; k++)); do
    local target=$base-$k
    at=$((RANDOM % (duration * 9 / 10 + 1)))
    if run_killed "$target" "$(printf '%d.%03d' $((at / 1000)) $((at % 1000)))"; then
      ((landed += 1))
    fi
    out=$(check "$target" partial) ||
      fail "$name: after a kill at $at ms the checkpoint is ahead of the data:"$'\n'"$out"
    say "ok: $name: killed at $at ms; the checkpoint covers ${out#checked } records, all in the target"
    "$LIMS" sync-batch --from sqlite:src.db --to "$target" --once 2>last.err ||
      fail "$name: the run after the kill failed: $(tail -3 last.err)"
    out=$(check "$target" complete) ||
      fail "$name: the run after the kill left the target unlike the source:"$'\n'"$out"
  done
  ((landed > 0)) || fail "$name: no run was killed part way (each finished within its delay)"
  "$LIMS" sync-batch --from sqlite:src.db --to "$base-1" --once 2>again.err
  grep -q '^sync-batch: 0 images, 0 bytes read' again.err ||
    fail "$name: a run after a complete one copied something: $(tail -1 again.err)"
  say "ok: $name: $landed of $KILLS runs killed part way; each resumed to a complete copy, and one more copied 0"
}

exercise sqlite:dst SQLite
# A second new target from the same working directory gets everything.
"$LIMS" sync-batch --from sqlite:src.db --to sqlite:dst2.db --once 2>dst2.err
grep -q "^sync-batch: $((3 * PER_PLANT + 1)) images" dst2.err ||
  fail "a second new target did not get the full copy: $(tail -1 dst2.err)"
say "ok: a second new target, from the same directory, got all $((3 * PER_PLANT + 1)) images"

MONGO=$(<"${LIMS_MONGODB_URI_FILE:?LIMS_MONGODB_URI_FILE names the MongoDB test server}")
exercise "$MONGO/limssync$$" MongoDB
