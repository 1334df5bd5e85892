#!/usr/bin/python3
"""Checks manifests/grafana/lims-dashboard.json against the stock LIMS dashboard and lims's metrics.

    manifests/grafana/check_dashboard.py [STOCK_JSON] [--dashboard FILE] [--prometheus URL]

STOCK_JSON defaults to lims-stock-dashboard.json beside this script (the dashboard LIMS ships).
Checks: valid JSON; unique panel ids; gridPos inside the 24-column grid and no two panels
overlapping; every stock panel present and unchanged (same id, type, title, gridPos, options and
targets; the only change allowed is a Prometheus datasource uid replaced by ${datasource});
every Prometheus datasource reference is ${datasource} and that variable exists; every lims_*
metric in any expr is one lims exports (histograms only as _bucket/_sum/_count); every exported
metric is used by at least one panel; every new panel has a title, description, unit and legends;
every $variable in an expr is defined. If promtool is on PATH, every expr is also parsed by it.
With --prometheus URL, every expr is run as an instant query there (an error fails; an empty
result is only reported, since a job may not be running).
Stdlib only. Exits 0 when all checks pass, 1 with one line per problem otherwise, 2 on bad usage.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
GRID_COLUMNS = 24
DS_VAR = "${datasource}"

# The metrics lims exports, by type: every lims_* metric its code registers (read from the
# sources, so this list cannot drift from them), and the process metrics the panels use.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "docs"))
from check_docs import registered_metrics  # noqa: E402

_REGISTERED = registered_metrics()
COUNTERS = {name for name, kind in _REGISTERED.items() if kind == "counter"}
GAUGES = {name for name, kind in _REGISTERED.items() if kind == "gauge"}
HISTOGRAMS = {name for name, kind in _REGISTERED.items() if kind == "histogram"}
PROCESS = {"process_cpu_seconds_total", "process_resident_memory_bytes"}
EXPORTED = COUNTERS | GAUGES | HISTOGRAMS | PROCESS
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

# Grafana's own variables, and the values used for them when an expr is parsed or run.
BUILTIN_VARS = {
    "__range": "1h", "__range_s": "3600", "__range_ms": "3600000", "__rate_interval": "1m",
    "__interval": "15s", "__interval_ms": "15000",
}

METRIC_RE = re.compile(r"(?<![A-Za-z0-9_:.])((?:lims|process)_[A-Za-z0-9_:]*)")
STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
NAME_MATCHER_RE = re.compile(r'__name__\s*=\s*"([^"]*)"')
VAR_RE = re.compile(r"\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\[\[([A-Za-z0-9_]+)\]\]|\$([A-Za-z0-9_]+)")


def load(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        sys.exit(f"check_dashboard: cannot read the {what} {path}: {e.strerror}")
    except json.JSONDecodeError as e:
        sys.exit(f"check_dashboard: the {what} {path} is not valid JSON: {e}")


def all_panels(dash):
    """Every panel, with the panels nested in (collapsed) rows, each with its row's title."""
    out = []
    for p in dash.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []) or [])
    return out


def panel_name(p):
    return f"panel {p.get('id')!r} ({p.get('title', 'untitled')!r})"


def normalize_datasource(node, stock_uids):
    """A copy of node with every Prometheus datasource uid that is ${datasource} or a stock uid
    replaced by one placeholder, so a stock panel and its retargeted copy compare equal."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if (k == "datasource" and isinstance(v, dict) and v.get("type") == "prometheus"
                    and (v.get("uid") == DS_VAR or v.get("uid") in stock_uids)):
                v = dict(v, uid="<prometheus>")
            out[k] = normalize_datasource(v, stock_uids)
        return out
    if isinstance(node, list):
        return [normalize_datasource(v, stock_uids) for v in node]
    return node


def datasource_refs(node, path="$"):
    """Yields (json path, datasource value) for every "datasource" key in node."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "datasource":
                yield f"{path}.datasource", v
            yield from datasource_refs(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from datasource_refs(v, f"{path}[{i}]")


def first_diff(a, b, path="panel"):
    """The path of the first place where a and b differ, for a readable message."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                return f"{path}.{k} added"
            if k not in b:
                return f"{path}.{k} removed"
            d = first_diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path} has {len(b)} entries instead of {len(a)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path} is {json.dumps(b)[:80]} instead of {json.dumps(a)[:80]}"


def metric_names(expr):
    """The lims_*/process_* metric names an expr selects (outside string literals), plus exact
    __name__="..." matchers."""
    names = set(NAME_MATCHER_RE.findall(expr))
    names |= set(METRIC_RE.findall(STRING_RE.sub('""', expr)))
    return {n for n in names if n.startswith(("lims_", "process_"))}


def exported_base(name):
    """The exported metric a series name belongs to, or None if lims exports no such series."""
    if name in COUNTERS or name in GAUGES or name in PROCESS:
        return name
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in HISTOGRAMS:
            return name[: -len(suffix)]
    return None


def substitute(expr, variables):
    """expr with every template variable replaced by a value that selects everything."""
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in BUILTIN_VARS:
            return BUILTIN_VARS[name]
        return variables.get(name, ".*")
    return VAR_RE.sub(repl, expr)


def collect_exprs(dash):
    """(where, expr, is_panel) for every Prometheus expr: panel targets, annotations, variables."""
    out = []
    for p in all_panels(dash):
        for t in p.get("targets", []) or []:
            if "expr" in t:
                out.append((f"{panel_name(p)} target {t.get('refId')}", t["expr"], True))
    for a in dash.get("annotations", {}).get("list", []):
        if a.get("expr"):
            out.append((f"annotation {a.get('name')!r}", a["expr"], False))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query", "") if isinstance(q, dict) else (q or "")
            if q:
                out.append((f"variable {v.get('name')!r}", q, False))
    return out


class Checker:
    def __init__(self, dash, stock):
        self.dash, self.stock = dash, stock
        self.problems = []
        self.notes = []

    def fail(self, msg):
        self.problems.append(msg)

    def check_top_level(self):
        d, s = self.dash, self.stock
        if d.get("uid") != "lims-stream-vs-batch":
            self.fail(f"uid is {d.get('uid')!r}, expected 'lims-stream-vs-batch'")
        if d.get("schemaVersion") != s.get("schemaVersion"):
            self.fail(f"schemaVersion is {d.get('schemaVersion')!r}, the stock dashboard's is {s.get('schemaVersion')!r}")
        if s.get("title", "") not in d.get("title", ""):
            self.fail(f"title {d.get('title')!r} does not keep the stock title {s.get('title')!r}")
        if not isinstance(d.get("panels"), list) or not d["panels"]:
            self.fail("the dashboard has no panels list")

    def check_ids(self):
        seen = {}
        for p in all_panels(self.dash):
            pid = p.get("id")
            if not isinstance(pid, int) or isinstance(pid, bool):
                self.fail(f"{panel_name(p)} has no integer id")
            elif pid in seen:
                self.fail(f"panel id {pid} is used twice: {seen[pid]!r} and {p.get('title')!r}")
            else:
                seen[pid] = p.get("title")

    def check_grid(self):
        def rects(panels):
            out = []
            for p in panels:
                g = p.get("gridPos")
                if not isinstance(g, dict) or not all(isinstance(g.get(k), int) for k in "xywh"):
                    self.fail(f"{panel_name(p)} has no integer gridPos x, y, w, h")
                    continue
                if g["w"] <= 0 or g["h"] <= 0 or g["x"] < 0 or g["y"] < 0 or g["x"] + g["w"] > GRID_COLUMNS:
                    self.fail(f"{panel_name(p)} gridPos {g} is outside the {GRID_COLUMNS}-column grid")
                out.append((p, g))
            return out

        def overlaps(rs):
            for i, (p, a) in enumerate(rs):
                for q, b in rs[i + 1:]:
                    if (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
                            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]):
                        self.fail(f"{panel_name(p)} {a} overlaps {panel_name(q)} {b}")

        overlaps(rects(self.dash.get("panels", [])))
        for row in self.dash.get("panels", []):
            if row.get("type") == "row" and row.get("collapsed") and row.get("panels"):
                overlaps(rects(row["panels"]))

    def check_stock_panels(self):
        stock_uids = {v.get("uid") for _, v in datasource_refs(self.stock)
                      if isinstance(v, dict) and v.get("type") == "prometheus"}
        by_id = {p.get("id"): p for p in all_panels(self.dash)}
        for sp in all_panels(self.stock):
            p = by_id.get(sp.get("id"))
            if p is None:
                self.fail(f"stock {panel_name(sp)} is missing")
                continue
            if p.get("type") != sp.get("type"):
                self.fail(f"stock {panel_name(sp)} changed type: {sp.get('type')!r} -> {p.get('type')!r}")
            a = normalize_datasource(sp, stock_uids)
            b = normalize_datasource(p, stock_uids)
            if a.get("targets") != b.get("targets"):
                self.fail(f"stock {panel_name(sp)} targets changed: {first_diff(a.get('targets'), b.get('targets'), 'targets')}")
            elif a != b:
                self.fail(f"stock {panel_name(sp)} changed: {first_diff(a, b)}")
        # The stock rows must still hold the same panels: same order of the top-level list.
        stock_order = [p.get("id") for p in self.stock.get("panels", [])]
        order = [p.get("id") for p in self.dash.get("panels", []) if p.get("id") in set(stock_order)]
        if order != stock_order:
            self.fail(f"the stock panels are in the order {order}, the stock dashboard has {stock_order}")

    def check_datasources(self):
        variables = {v.get("name"): v for v in self.dash.get("templating", {}).get("list", [])}
        dsv = variables.get("datasource")
        if not dsv or dsv.get("type") != "datasource" or dsv.get("query") != "prometheus":
            self.fail("templating has no 'datasource' variable of type datasource for prometheus")
        for path, ref in datasource_refs(self.dash):
            if isinstance(ref, dict) and ref.get("type") in ("grafana", "datasource"):
                continue  # built-in annotation / dashboard datasources
            if not (isinstance(ref, dict) and ref.get("type") == "prometheus" and ref.get("uid") == DS_VAR):
                self.fail(f"{path} is {json.dumps(ref)}, expected {{\"type\": \"prometheus\", \"uid\": \"{DS_VAR}\"}}")

    def check_metrics(self, exprs):
        used_by_panels = set()
        for where, expr, is_panel in exprs:
            for name in sorted(metric_names(expr)):
                base = exported_base(name)
                if base is None:
                    if name in HISTOGRAMS:
                        self.fail(f"{where}: {name} is a histogram; use {name}_bucket, _sum or _count")
                    elif name.startswith("lims_"):
                        self.fail(f"{where}: {name} is not a metric lims exports")
                    continue
                if is_panel:
                    used_by_panels.add(base)
        for name in sorted(EXPORTED - used_by_panels):
            self.fail(f"metric {name} is exported by lims but no panel uses it")

    def check_variables(self, exprs):
        defined = {v.get("name") for v in self.dash.get("templating", {}).get("list", [])}
        for where, expr, _ in exprs:
            for m in VAR_RE.finditer(expr):
                name = m.group(1) or m.group(2) or m.group(3)
                if name not in defined and name not in BUILTIN_VARS:
                    self.fail(f"{where}: ${name} is not a template variable of the dashboard")
        plant = next((v for v in self.dash.get("templating", {}).get("list", []) if v.get("name") == "plant"), None)
        if plant is not None and not (plant.get("multi") and plant.get("includeAll")):
            self.fail("variable 'plant' should be multi-value with an All option")

    def check_new_panels(self):
        stock_ids = {p.get("id") for p in all_panels(self.stock)}
        new = [p for p in all_panels(self.dash) if p.get("id") not in stock_ids]
        if not any(p.get("type") != "row" for p in new):
            self.fail("no lims panel was added")
        for p in new:
            if p.get("type") == "row":
                if not p.get("title"):
                    self.fail(f"{panel_name(p)} is a row without a title")
                continue
            if not p.get("title"):
                self.fail(f"{panel_name(p)} has no title")
            if not p.get("description"):
                self.fail(f"{panel_name(p)} has no description")
            if not p.get("fieldConfig", {}).get("defaults", {}).get("unit"):
                self.fail(f"{panel_name(p)} has no unit (fieldConfig.defaults.unit)")
            targets = p.get("targets") or []
            if not targets:
                self.fail(f"{panel_name(p)} has no targets")
            refs = [t.get("refId") for t in targets]
            if len(set(refs)) != len(refs):
                self.fail(f"{panel_name(p)} repeats a refId: {refs}")
            for t in targets:
                if not t.get("expr"):
                    self.fail(f"{panel_name(p)} target {t.get('refId')} has no expr")
                if not t.get("legendFormat"):
                    self.fail(f"{panel_name(p)} target {t.get('refId')} has no legendFormat")
            if p.get("type") == "timeseries" and not p.get("options", {}).get("legend", {}).get("showLegend", False):
                self.fail(f"{panel_name(p)} hides its legend")

    def check_promtool(self, exprs, variables):
        promtool = shutil.which("promtool")
        if not promtool:
            self.notes.append("promtool not found: PromQL syntax not checked (apt-get install prometheus)")
            return
        lines = ["groups:", "  - name: lims-dashboard", "    rules:"]
        for i, (where, expr, _) in enumerate(exprs):
            if where.startswith("variable"):
                continue  # label_values(...) is Grafana's, not PromQL
            lines.append(f"      - record: lims_dashboard:expr{i}")
            lines.append(f"        expr: {json.dumps(substitute(expr, variables))}")
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write("\n".join(lines) + "\n")
            rules = f.name
        try:
            r = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True)
            if r.returncode != 0:
                out = r.stdout + r.stderr
                found = re.findall(r'"lims_dashboard:expr(\d+)": (.*)', out)
                for i, msg in found:
                    where, expr, _ = exprs[int(i)]
                    self.fail(f"{where}: promtool: {msg.strip()}: {expr}")
                if not found:
                    self.fail("promtool cannot parse the exprs:\n" + out.strip())
            else:
                self.notes.append(f"promtool parsed all {len(lines[3:]) // 2} exprs")
        finally:
            os.unlink(rules)

    def check_prometheus(self, url, exprs, variables):
        empty = []
        for where, expr, _ in exprs:
            if where.startswith("variable"):
                continue
            q = urllib.parse.urlencode({"query": substitute(expr, variables)})
            try:
                with urllib.request.urlopen(f"{url.rstrip('/')}/api/v1/query?{q}", timeout=10) as r:
                    body = json.load(r)
            except urllib.error.HTTPError as e:
                try:
                    err = json.load(e).get("error", "")
                except ValueError:
                    err = ""
                self.fail(f"{where}: Prometheus rejected the query ({e.code}: {err}): {expr}")
                continue
            except (urllib.error.URLError, OSError) as e:
                self.fail(f"cannot query Prometheus at {url}: {e}")
                return
            if not body.get("data", {}).get("result"):
                empty.append(where)
        n = sum(1 for w, _, _ in exprs if not w.startswith("variable"))
        self.notes.append(f"Prometheus {url}: {n - len(empty)} of {n} exprs returned data")
        for where in empty:
            self.notes.append(f"  no data (yet) for {where}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stock", nargs="?",
                    default=os.path.join(HERE, "lims-stock-dashboard.json"),
                    help="the stock LIMS dashboard (default: lims-stock-dashboard.json beside this script)")
    ap.add_argument("--dashboard", default=os.path.join(HERE, "lims-dashboard.json"),
                    help="the dashboard to check (default: lims-dashboard.json beside this script)")
    ap.add_argument("--prometheus", metavar="URL",
                    help="also run every expr as an instant query against this Prometheus, e.g. http://127.0.0.1:9090")
    ap.add_argument("--no-promtool", action="store_true", help="do not parse the exprs with promtool")
    args = ap.parse_args()

    stock = load(args.stock, "stock dashboard")
    dash = load(args.dashboard, "dashboard")
    c = Checker(dash, stock)
    exprs = collect_exprs(dash)
    variables = {}
    c.check_top_level()
    c.check_ids()
    c.check_grid()
    c.check_stock_panels()
    c.check_datasources()
    c.check_metrics(exprs)
    c.check_variables(exprs)
    c.check_new_panels()
    if not c.problems and not args.no_promtool:
        c.check_promtool(exprs, variables)
    if not c.problems and args.prometheus:
        c.check_prometheus(args.prometheus, exprs, variables)

    panels = all_panels(dash)
    for note in c.notes:
        print(f"check_dashboard: {note}")
    if c.problems:
        for p in c.problems:
            print(f"check_dashboard: FAIL: {p}", file=sys.stderr)
        print(f"check_dashboard: {args.dashboard}: {len(c.problems)} problem(s)", file=sys.stderr)
        return 1
    shown = os.path.relpath(args.dashboard)
    shown = args.dashboard if shown.startswith("..") else shown
    print(f"check_dashboard: OK: {shown}: {len(panels)} panels "
          f"({len(all_panels(stock))} stock, unchanged), {len(exprs)} exprs, "
          f"all {len(EXPORTED)} exported metrics used")
    return 0


if __name__ == "__main__":
    sys.exit(main())
