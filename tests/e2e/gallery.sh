#!/usr/bin/env bash
# e2e: the gallery page (GET /) in a real browser, headless Chromium. A store of known records
# (the simulator's seeded events, consumed), then:
#  - `lims consume --listen`: the live counters show the stream's numbers;
#  - `lims serve` over the same store: every card (thumbnail URL, id, disease and percentage,
#    active/inactive, deleted) and the per-plant totals match the store, the counters show a
#    dash (no stream there), and a screenshot is a rendered page, not a blank one.
# Chromium is told to resolve no host name, so the page must need nothing from the internet.
set -euo pipefail
LIMS=$(realpath "${1:?usage: gallery.sh PATH/TO/lims}")
source "$(dirname "$0")/lib.sh"
e2e_init

# The browser: Debian's chromium (scripts/setup installs it). Not there, or not starting, is a
# failure, never a skip.
CHROMIUM=${LIMS_CHROMIUM:-$(command -v chromium || true)}
[[ -n $CHROMIUM && -x $CHROMIUM ]] ||
  fail "chromium is not installed: run scripts/setup (Debian package 'chromium'), or set LIMS_CHROMIUM"
CHROME_FLAGS=(--headless --no-sandbox --disable-gpu --disable-background-networking
  --disable-component-update --no-first-run --no-default-browser-check --disable-extensions
  --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$WORK/chrome-profile"
  --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" --virtual-time-budget=5000)
# browse OUT ARGS...: runs the browser on ARGS (bounded), its stdout to OUT.
browse() {
  local out=$1
  shift
  timeout -k 5 60 "$CHROMIUM" "${CHROME_FLAGS[@]}" "$@" >"$out" 2>"$WORK/chrome.err" || {
    local code=$?
    grep -v -e dbus -e 'unexpected operator' "$WORK/chrome.err" | tail -15 >&2
    fail "chromium could not run (exit $code): $CHROMIUM ${CHROME_FLAGS[*]} $*"
  }
  if grep -q 'Page load failed' "$WORK/chrome.err"; then
    grep 'Page load failed' "$WORK/chrome.err" >&2
    fail "chromium could not load $*"
  fi
}

# The DOM checks: check_dom.py DOM URL MODE [LIMS STORE] (MODE: stream or store).
cat >check_dom.py <<'PY'
import html.parser, json, math, re, subprocess, sys, urllib.request

dom_file, url, mode = sys.argv[1:4]
PLANTS = ["potato", "tomato", "pepper"]
DASH = "\u2013"


class Dom(html.parser.HTMLParser):
    """Elements by id (their text), and the cards with their images and badges."""
    VOID = {"img", "meta", "link", "br", "input", "hr"}

    def __init__(self):
        super().__init__()
        self.stack, self.by_id, self.cards, self.imgs = [], {}, [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "img":
            self.imgs.append(a)
            if self.card() is not None:
                self.card()["img"] = a
        if tag in self.VOID:
            return
        node = {"tag": tag, "id": a.get("id"), "cls": cls, "text": ""}
        if tag == "article" and "card" in cls:
            node["card"] = {"plant": a.get("data-plant"), "id": a.get("data-id"), "cls": cls,
                            "badges": [], "img": None, "time": None}
            self.cards.append(node["card"])
        self.stack.append(node)

    def card(self):
        for node in reversed(self.stack):
            if "card" in node:
                return node["card"]
        return None

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        while self.stack:
            node = self.stack.pop()
            if node["id"]:
                self.by_id[node["id"]] = node["text"].strip()
            card = self.card() if node["tag"] != "article" else None
            if card is not None and "badge" in node["cls"]:
                card["badges"].append((node["cls"], node["text"].strip()))
            if card is not None and node["tag"] == "time":
                card["time"] = node["text"].strip()
            if node["tag"] == tag:
                break

    def handle_data(self, data):
        for node in self.stack:
            node["text"] += data


def get(path):
    return json.load(urllib.request.urlopen(url + path, timeout=10))


dom = Dom()
dom.feed(open(dom_file, encoding="utf-8").read())
errors = []


def check(ok, what):
    if not ok:
        errors.append(what)


counters = {k: dom.by_id.get("c-" + k) for k in ("rate", "lag", "p99", "records", "bad")}
status = dom.by_id.get("status", "")
if mode == "store":
    for k, v in counters.items():
        check(v == DASH, "counter %s shows %r, expected a dash (lims serve has no stream)" % (k, v))
    check("no stream here" in status, "status: %r" % status)
else:
    want_records = sys.argv[4]
    check(counters["records"] == want_records, "records counter %r" % counters["records"])
    check(counters["lag"] == "0", "lag counter %r" % counters["lag"])
    check(counters["bad"] == "0", "bad counter %r" % counters["bad"])
    check(re.fullmatch(r"\d+(\.\d)?", counters["rate"] or ""), "events/s %r" % counters["rate"])
    check(re.fullmatch(r"\d+ ms|\d+\.\d\d s", counters["p99"] or ""), "p99 %r" % counters["p99"])
    check(status.startswith("streaming"), "status: %r" % status)

want_cards = 0
for plant in PLANTS:
    total = get("/image-plant/%s/total/" % plant)["total_images"]
    want_cards += min(total, 12)
    check(dom.by_id.get("total-" + plant) == str(total),
          "%s total shows %r, the store has %d" % (plant, dom.by_id.get("total-" + plant), total))
    latest = get("/api/latest?plant=%s&n=12" % plant)
    cards = [c for c in dom.cards if c["plant"] == plant]
    check([c["id"] for c in cards] == [str(r["id"]) for r in latest],
          "%s cards %s, expected %s" % (plant, [c["id"] for c in cards], [r["id"] for r in latest]))
    for card, r in zip(cards, latest):
        where = "%s %s" % (plant, r["id"])
        jpeg = "/image-plant/%s/%d/jpeg" % (plant, r["id"])
        check(card["img"] is not None and card["img"].get("src") == jpeg,
              "%s: img %r, expected src %s" % (where, card["img"], jpeg))
        badges = {" ".join(c for c in cls if c != "badge"): text for cls, text in card["badges"]}
        disease = r["disease"] if r["disease"] else None
        if disease:
            kind = "disease healthy" if disease == "Healthy" else "disease sick"
            check(badges.get(kind) == disease, "%s: disease badge %r, expected %r" % (where, badges, disease))
        else:
            check(badges.get("disease unclassified") == "unclassified", "%s: %r" % (where, badges))
        if r["percentage"] is not None:
            pct = "%d%%" % math.floor(r["percentage"] * 100 + 0.5)
            check(badges.get("pct") == pct, "%s: percentage badge %r, expected %s" % (where, badges, pct))
        state = "active" if r["is_active"] else "inactive"
        check(badges.get(state) == state, "%s: %r, expected %s" % (where, badges, state))
        check(("deleted" in badges) == r["is_deleted"], "%s: deleted badge %r vs is_deleted %s"
              % (where, badges, r["is_deleted"]))
        check(("deleted" in card["cls"]) == r["is_deleted"], "%s: card class %r" % (where, card["cls"]))
        when = (r["updated_at"] or r["created_at"]).replace("T", " ").split(".")[0]
        check(card["time"] is not None and when in card["time"], "%s: time %r" % (where, card["time"]))
        # The record on the card is the store's: ask the CLI, not the HTTP side.
        if len(sys.argv) > 5:
            cli = json.loads(subprocess.run(
                [sys.argv[5], "get-image", plant, str(r["id"]), "--store", sys.argv[6], "--no-data"],
                check=True, capture_output=True, text=True).stdout)
            check(cli == r, "%s: /api/latest %r but get-image %r" % (where, r, cli))

check(len(dom.cards) == want_cards > 0, "%d cards, expected %d" % (len(dom.cards), want_cards))
check(len(dom.imgs) == len(dom.cards), "%d <img> for %d cards" % (len(dom.imgs), len(dom.cards)))
check(any("deleted" in c["cls"] for c in dom.cards), "no deleted card (the simulator deletes)")
check(any("inactive" in c["cls"] for c in dom.cards), "no inactive card (the simulator deactivates)")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
print("%d cards checked" % len(dom.cards))
PY

# check_png PNG: a 1280x900 screenshot with many colours, the header's among them.
cat >check_png.py <<'PY'
import struct, sys, zlib

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, ihdr = 8, b"", None
while pos < len(data):
    (n,) = struct.unpack(">I", data[pos:pos + 4])
    kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
    pos += 12 + n
    if kind == b"IHDR":
        ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
w, h, depth, ctype, _, _, interlace = ihdr
assert (w, h) == (1280, 900), (w, h)
assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
raw = zlib.decompress(idat)
bpp = 3 if ctype == 2 else 4
stride = w * bpp
prev, colours, i = bytearray(stride), set(), 0
for y in range(h):  # undo the row filters (PNG spec, section 9)
    f, row = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride) if f else ():
        a = row[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1:
            row[x] = (row[x] + a) & 255
        elif f == 2:
            row[x] = (row[x] + b) & 255
        elif f == 3:
            row[x] = (row[x] + (a + b) // 2) & 255
        else:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    if y % 3 == 0:
        colours.update(bytes(row[x:x + 3]) for x in range(0, stride, bpp * 3))
    prev = row
assert len(colours) > 500, "only %d colours: a blank or unstyled page?" % len(colours)
assert bytes((0x18, 0x35, 0x2B)) in colours, "no header colour: the CSS did not apply"
print("%dx%d, %d colours sampled" % (w, h, len(colours)))
PY

step "a store of known records: simulate --count 30 --seed 5, consumed with --listen"
"$CHROMIUM" --version >/dev/null 2>"$WORK/chrome.err" ||
  { cat "$WORK/chrome.err" >&2; fail "chromium does not start: $CHROMIUM --version failed"; }
start_broker 2 "$WORK/broker.err"
"$LIMS" simulate -b "$BROKERS" --max-rate --count 30 --seed 5 2>simulate.err ||
  { cat simulate.err; fail "simulate failed"; }
"$LIMS" consume -b "$BROKERS" --store sqlite:g.db --listen 127.0.0.1:0 --progress 0 \
  -X session.timeout.ms=6000 2>consume.err &
CONSUMER=$!
PIDS+=("$CONSUMER")
URL=$(url_of consume.err)
# Ready when all 30 are in, the lag is 0, there is a rate (one reading a second after another) and
# a p99 (observed when the store acknowledges, after a record is counted).
"$PY" - "$URL" <<'PY' || { cat consume.err; fail "consume did not take the 30 events"; }
import json, sys, time, urllib.request
deadline = time.monotonic() + 60
while True:
    s = json.load(urllib.request.urlopen(sys.argv[1] + "/api/stats", timeout=10))
    if (s.get("records") == 30 and s.get("lag") == 0 and s.get("events_per_s") is not None
            and s.get("e2e_p99_s") is not None):
        break
    assert time.monotonic() < deadline, s
    time.sleep(0.2)
assert s["bad"] == 0 and s["e2e_p99_s"] > 0, s
PY

step "consume --listen: the page's counters show the stream's numbers"
browse consume.html --dump-dom "$URL/"
"$PY" check_dom.py consume.html "$URL" stream 30 || fail "the gallery of consume --listen"
kill -TERM "$CONSUMER"
code=0; wait "$CONSUMER" || code=$?
[[ $code == 0 ]] || { cat consume.err; fail "consume exited $code on SIGTERM"; }

step "serve: every card as the store has it, totals, a dash for each counter"
"$LIMS" serve --store sqlite:g.db --listen 127.0.0.1:0 2>serve.err &
SERVER=$!
PIDS+=("$SERVER")
URL=$(url_of serve.err)
browse serve.html --dump-dom "$URL/"
"$PY" check_dom.py serve.html "$URL" store - "$LIMS" sqlite:g.db || fail "the gallery of serve"
"$PY" - "$URL" <<'PY' || fail "a thumbnail URL does not serve the JPEG"
import sys, urllib.request
r = urllib.request.urlopen(sys.argv[1] + "/image-plant/tomato/1/jpeg", timeout=10)
assert r.headers["Content-Type"] == "image/jpeg" and r.read(3) == b"\xff\xd8\xff"
PY

step "serve: a screenshot of the rendered page"
SHOT=${LIMS_GALLERY_SCREENSHOT:-$WORK/gallery.png}
rm -f "$SHOT"
browse screenshot.out --window-size=1280,900 --screenshot="$SHOT" "$URL/"
[[ -s $SHOT ]] || fail "no screenshot at $SHOT"
(($(stat -c %s "$SHOT") > 50000)) || fail "the screenshot is only $(stat -c %s "$SHOT") bytes"
"$PY" check_png.py "$SHOT" || fail "the screenshot $SHOT does not show the page"
kill -TERM "$SERVER"
code=0; wait "$SERVER" || code=$?
[[ $code == 0 ]] || { cat serve.err; fail "serve exited $code on SIGTERM"; }
echo "e2e: gallery ok"
