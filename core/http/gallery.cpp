#include "http/gallery.hpp"

namespace lims::http {
namespace {

// Everything the browser gets comes from this server: the CSP below forbids anything else, and
// every value from the store reaches the page through textContent or a URL built from a plant
// name and a number, never as markup.
constexpr std::string_view kPage = R"lims(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; img-src 'self' data:; connect-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<link rel="icon" href="data:,">
<title>lims gallery</title>
<style>
  :root { --ink: #1d2730; --muted: #66737f; --line: #dde3e8; --bg: #f3f5f7; --head: #18352b;
          --ok: #1f7a4d; --warn: #b4540a; --bad: #b3261e; }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--bg); color: var(--ink);
         font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
  header { background: var(--head); color: #fff; padding: 12px 20px; display: flex;
           flex-wrap: wrap; align-items: baseline; gap: 8px 24px; }
  header h1 { margin: 0; font-size: 20px; font-weight: 600; }
  .totals { display: flex; gap: 18px; }
  .totals b { font-size: 18px; margin-left: 4px; }
  .counters { display: flex; flex-wrap: wrap; gap: 10px; padding: 12px 20px;
              background: #fff; border-bottom: 1px solid var(--line); align-items: center; }
  .counter { border: 1px solid var(--line); border-radius: 6px; padding: 4px 12px; min-width: 110px; }
  .counter .label { display: block; color: var(--muted); font-size: 11px; text-transform: uppercase;
                    letter-spacing: .04em; }
  .counter .value { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
  #status { color: var(--muted); margin-left: auto; }
  #status.error { color: var(--bad); }
  main { padding: 4px 20px 20px; }
  .plant h2 { font-size: 17px; margin: 18px 0 8px; text-transform: capitalize; }
  .plant h2 .note { font-weight: 400; color: var(--muted); font-size: 13px; text-transform: none;
                    margin-left: 8px; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
  .empty { color: var(--muted); }
  .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
  .card img { display: block; width: 100%; aspect-ratio: 4 / 3; object-fit: cover; background: #e8ecef; }
  .card .row { display: flex; flex-wrap: wrap; gap: 4px; padding: 5px 8px 0; align-items: center; }
  .card .id { font-weight: 600; margin-right: auto; }
  .card time { display: block; padding: 4px 8px 7px; color: var(--muted); font-size: 11px; }
  .card.deleted { opacity: .6; }
  .card.deleted img { filter: grayscale(1); }
  .badge { border-radius: 10px; padding: 0 7px; font-size: 11px; line-height: 18px; white-space: nowrap;
           border: 1px solid transparent; }
  .badge.active { background: #e3f4ea; color: var(--ok); }
  .badge.inactive { background: #eceff1; color: var(--muted); }
  .badge.deleted { background: #fff; color: var(--bad); border-color: var(--bad); font-weight: 600; }
  .badge.healthy { background: var(--ok); color: #fff; }
  .badge.sick { background: var(--warn); color: #fff; }
  .badge.unclassified { background: #eceff1; color: var(--muted); }
  .badge.pct { background: #fff; color: var(--ink); border-color: var(--line);
               font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<header>
  <h1>lims gallery</h1>
  <div class="totals" id="totals">
    <span>potato<b id="total-potato">&ndash;</b></span>
    <span>tomato<b id="total-tomato">&ndash;</b></span>
    <span>pepper<b id="total-pepper">&ndash;</b></span>
  </div>
</header>
<section class="counters" aria-label="stream counters">
  <div class="counter" title="records received per second, over the last few seconds"><span class="label">events/s</span><span class="value" id="c-rate">&ndash;</span></div>
  <div class="counter" title="records between the consumer's position and the end of its partitions"><span class="label">lag</span><span class="value" id="c-lag">&ndash;</span></div>
  <div class="counter" title="99th percentile from the Kafka record timestamp to the store's acknowledgement, since the consumer started"><span class="label">end-to-end p99</span><span class="value" id="c-p99">&ndash;</span></div>
  <div class="counter" title="records received since the consumer started"><span class="label">records</span><span class="value" id="c-records">&ndash;</span></div>
  <div class="counter" title="records rejected (dead-lettered or skipped) since the consumer started"><span class="label">bad</span><span class="value" id="c-bad">&ndash;</span></div>
  <span id="status">loading&hellip;</span>
</section>
<main>
  <noscript><p>The gallery needs JavaScript; the records are at /image-plant/{plant}/{id}.</p></noscript>
  <section class="plant" id="plant-potato"><h2>potato<span class="note" id="note-potato"></span></h2><div class="grid" id="grid-potato"></div></section>
  <section class="plant" id="plant-tomato"><h2>tomato<span class="note" id="note-tomato"></span></h2><div class="grid" id="grid-tomato"></div></section>
  <section class="plant" id="plant-pepper"><h2>pepper<span class="note" id="note-pepper"></span></h2><div class="grid" id="grid-pepper"></div></section>
</main>
<script>
"use strict";
(function () {
  const PLANTS = ["potato", "tomato", "pepper"];
  const PER_PLANT = 12;
  const REFRESH_MS = 3000;
  const DASH = "\u2013";
  const shown = {};  // plant -> the JSON of the list on screen, to redraw only on change
  let busy = false;

  function byId(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  async function getJson(url) {
    const r = await fetch(url, { cache: "no-store", headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(url + ": HTTP " + r.status);
    return r.json();
  }
  function finite(v) { return typeof v === "number" && isFinite(v) ? v : null; }
  function fmtRate(v) {
    v = finite(v);
    return v === null ? DASH : v >= 100 ? v.toFixed(0) : v.toFixed(1);
  }
  function fmtCount(v) {
    v = finite(v);
    return v === null ? DASH : Math.round(v).toLocaleString("en-US");
  }
  function fmtSeconds(v) {
    v = finite(v);
    if (v === null) return DASH;
    return v < 1 ? (v * 1000).toFixed(0) + " ms" : v.toFixed(2) + " s";
  }
  // LIMS times have no zone and are UTC: "2023-10-08T15:39:49.123123" -> "2023-10-08 15:39:49 UTC".
  function fmtTime(t) {
    return typeof t === "string" ? t.replace("T", " ").replace(/\.\d+$/, "") + " UTC" : DASH;
  }

  function setCounters(stats) {
    byId("c-rate").textContent = fmtRate(stats.events_per_s);
    byId("c-lag").textContent = fmtCount(stats.lag);
    byId("c-p99").textContent = fmtSeconds(stats.e2e_p99_s);
    byId("c-records").textContent = fmtCount(stats.records);
    byId("c-bad").textContent = fmtCount(stats.bad);
  }

  function card(plant, r) {
    const c = el("article", "card");
    if (r.is_deleted) c.classList.add("deleted");
    if (!r.is_active) c.classList.add("inactive");
    c.dataset.plant = plant;
    c.dataset.id = String(r.id);
    const url = "/image-plant/" + plant + "/" + encodeURIComponent(String(r.id)) + "/jpeg";
    const link = el("a");
    link.href = url;
    const img = el("img");
    img.src = url;
    img.alt = plant + " " + r.id;
    img.decoding = "async";
    link.append(img);
    c.append(link);

    const flags = el("div", "row");
    flags.append(el("span", "id", "#" + r.id));
    flags.append(el("span", "badge " + (r.is_active ? "active" : "inactive"),
                    r.is_active ? "active" : "inactive"));
    if (r.is_deleted) flags.append(el("span", "badge deleted", "deleted"));
    c.append(flags);

    const diagnosis = el("div", "row");
    if (typeof r.disease === "string" && r.disease !== "") {
      diagnosis.append(el("span", "badge disease " + (r.disease === "Healthy" ? "healthy" : "sick"),
                          r.disease));
    } else {
      diagnosis.append(el("span", "badge disease unclassified", "unclassified"));
    }
    const p = finite(r.percentage);
    if (p !== null) diagnosis.append(el("span", "badge pct", Math.round(p * 100) + "%"));
    c.append(diagnosis);

    const when = r.updated_at || r.created_at;
    const t = el("time", null, (r.updated_at ? "updated " : "created ") + fmtTime(when));
    if (typeof when === "string") t.setAttribute("datetime", when + "Z");
    c.append(t);
    return c;
  }

  function showPlant(plant, list, total) {
    byId("total-" + plant).textContent = fmtCount(total);
    const note = total === null ? "" : list.length < total
        ? "the " + list.length + " newest of " + fmtCount(total)
        : fmtCount(total) + (total === 1 ? " image" : " images");
    byId("note-" + plant).textContent = note;
    const json = JSON.stringify(list);
    if (shown[plant] === json) return;
    shown[plant] = json;
    const grid = byId("grid-" + plant);
    if (list.length === 0) {
      grid.replaceChildren(el("p", "empty", "No images yet."));
    } else {
      grid.replaceChildren(...list.map((r) => card(plant, r)));
    }
  }

  async function refreshPlant(plant) {
    const [list, total] = await Promise.all([
      getJson("/api/latest?plant=" + plant + "&n=" + PER_PLANT),
      getJson("/image-plant/" + plant + "/total/"),
    ]);
    showPlant(plant, Array.isArray(list) ? list : [], finite(total.total_images));
  }

  async function refresh() {
    if (busy) return;
    busy = true;
    const status = byId("status");
    try {
      const [stats] = await Promise.all([
        getJson("/api/stats").catch(() => ({})),
        ...PLANTS.map(refreshPlant),
      ]);
      setCounters(stats);
      status.className = "";
      status.textContent = (Object.keys(stats).length === 0
          ? "no stream here: serving the store only"
          : "streaming") + " \u00b7 updated " + new Date().toLocaleTimeString("en-GB");
    } catch (e) {
      setCounters({});
      status.className = "error";
      status.textContent = "cannot reach the server (" + e.message + "); retrying";
    } finally {
      busy = false;
    }
  }

  refresh();
  setInterval(refresh, REFRESH_MS);
})();
</script>
</body>
</html>
)lims";

}  // namespace

std::string_view gallery_page() { return kPage; }

}  // namespace lims::http
