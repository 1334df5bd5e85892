#!/usr/bin/python3
"""Keeps the documentation true to the code, and the repository standing on its own.

    check_docs.py standalone             no tracked file refers to a directory beside the clone
    check_docs.py docs PATH/TO/lims      README.md, docs/ and manifests/ agree with the code
    check_docs.py selftest PATH/TO/lims  each check catches a planted mistake

`docs` checks, in README.md and every Markdown file under docs/ and manifests/:
- every `lims SUB ... --flag` (on a command line, in a section headed `lims SUB`, or in a table
  row whose "subcommands" column names SUB) is an option of `lims SUB --help`; every
  `scripts/NAME ... --flag` one that script parses; and every other flag named alone in README
  or docs/ is an option of some subcommand or script;
- every LIMS_* variable is the environment fallback of an option (of that subcommand, where one
  is named), or is read by a script or test of the repository;
- every lims_* metric name is one the code registers (histograms also as _bucket, _sum and
  _count; `lims_x_*` as a prefix of one);
- every relative link and image resolves, anchors included, and every repository path named in
  a code span of prose (`core/sync/stream.hpp`, `tests/e2e/`, `bench/*.sh`) exists;
- no path of one machine (/work/, /home/, /root/) appears.
Stdlib only. Exits 0 when all hold, 1 with one line per problem otherwise, 2 on bad usage.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

# LIMS_DOCS_ROOT checks another tree (the self-test's).
REPO = Path(os.environ.get("LIMS_DOCS_ROOT") or Path(__file__).resolve().parents[2]).resolve()
# Spelled in two parts, so this file does not match what it looks for.
OUTSIDE = ".." + "/shared"
MACHINE_PATHS = re.compile(r"(?<![\w.])/(work|home|root)/")
METRIC_CALL = re.compile(
    r"\b(counter|gauge|histogram|counter_callback|gauge_callback)\(\s*\"(lims_[a-z0-9_]+)\"")
METRIC_TOKEN = re.compile(r"\blims_[a-z0-9_]+\*?")
ENV_TOKEN = re.compile(r"\bLIMS_[A-Z0-9_]+\b")
FLAG_TOKEN = re.compile(r"^(--[a-z0-9][a-z0-9-]*|-[A-Za-z])(=.*)?$")
HELP_OPTION = re.compile(r"^(?:  |    )((?:-[A-Za-z],)?(?:--[a-z0-9][a-z0-9-]*)|-[A-Za-z])(\s|$)")
HELP_ENV = re.compile(r"\(Env:(LIMS_[A-Z0-9_]+)\)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|<img[^>]*\ssrc=\"([^\"]+)\"")
# Separators between shell commands on one line.
SEPARATORS = {"|", "||", "&&", ";", "&", ">", ">>", "2>", "<", "2>&1"}


def tracked_files():
    """The repository's files: git's list in a checkout, else every file but build trees."""
    try:
        out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], check=True, capture_output=True).stdout
        return [REPO / p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for root, dirs, names in os.walk(REPO):
            dirs[:] = [d for d in dirs if d != ".git" and not d.startswith("build")]
            files += [Path(root) / n for n in names]
        return files


REPO_PATH = re.compile(r"^[\w.-]+(/[\w.*-]+)*/?$")


class RepoPaths:
    """The repository's files and directories, to tell whether a path a doc names exists (or is
    one a build or an install makes, which git ignores)."""

    def __init__(self):
        self.files = {p.relative_to(REPO).as_posix() for p in tracked_files()}
        self.dirs = {parent.as_posix() for f in self.files for parent in Path(f).parents}
        self.top = {d for d in self.dirs if "/" not in d and d != "."}

    def names_one(self, span):
        """True when `span` is a path under one of the repository's top directories."""
        return "/" in span and REPO_PATH.match(span) and span.split("/")[0] in self.top

    def exists(self, span):
        import fnmatch
        path = span.rstrip("/")
        if "*" in path:
            return any(fnmatch.fnmatchcase(f, path) for f in self.files)
        if path in self.files or path in self.dirs:
            return True
        # What a build or an install makes (build trees, node_modules) is ignored by git.
        ignored = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", path],
                                 capture_output=True)
        return ignored.returncode == 0


def check_standalone():
    problems = []
    for path in tracked_files():
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for n, line in enumerate(data.split(b"\n"), 1):
            if OUTSIDE.encode() in line:
                problems.append(f"{path.relative_to(REPO)}:{n}: refers to {OUTSIDE}, which a "
                                "clone does not have; carry what is needed into the repository")
    return problems


class Help:
    """The options and environment fallbacks of every `lims` subcommand, from --help."""

    def __init__(self, lims):
        self.lims = lims
        top = self.run([])
        self.global_flags, self.global_envs = self.parse(top)
        self.commands = {}
        for name in self.subcommand_names(top):
            text = self.run([name])
            nested = self.subcommand_names(text)
            self.commands[name] = self.parse(text)
            for sub in nested:
                self.commands[f"{name} {sub}"] = self.parse(self.run([name, sub]))
        self.all_flags = set(self.global_flags)
        self.all_envs = set(self.global_envs)
        for flags, envs in self.commands.values():
            self.all_flags |= flags
            self.all_envs |= envs

    def run(self, args):
        out = subprocess.run([self.lims, *args, "--help"], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"check_docs: `lims {' '.join(args)} --help` exited {out.returncode}")
        return out.stdout

    @staticmethod
    def subcommand_names(text):
        names, inside = [], False
        for line in text.splitlines():
            if line.startswith("Subcommands:"):
                inside = True
            elif inside and re.match(r"^  [a-z][a-z0-9-]*\s", line):
                names.append(line.split()[0])
            elif inside and line and not line.startswith(" "):
                inside = False
        return names

    @staticmethod
    def parse(text):
        flags, envs = set(), set(HELP_ENV.findall(text))
        for line in text.splitlines():
            m = HELP_OPTION.match(line)
            if m:
                flags.update(m.group(1).split(","))
        return flags, envs

    def flags(self, command):
        return self.commands[command][0] | self.global_flags

    def envs(self, command):
        return self.commands[command][1] | self.global_envs


def script_flags():
    """{script name: its --flags} for the scripts under scripts/, read from their case patterns."""
    found = {}
    for path in sorted((REPO / "scripts").glob("*")):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        found[path.name] = set(re.findall(r"(?:^|[\s|(])(--[a-z][a-z0-9-]*)(?=[|)])", text, re.M))
    return found


def registered_metrics():
    """{name: kind} for every lims_* metric the code registers."""
    found = {}
    for path in list(REPO.glob("core/**/*.cpp")) + list(REPO.glob("cli/**/*.cpp")) + \
            list(REPO.glob("bench/**/*.cpp")):
        for kind, name in METRIC_CALL.findall(path.read_text()):
            found[name] = kind.split("_")[0]
    return found


def other_lims_names():
    """lims_* names that are not metrics: build targets, and the tables, collections and fields
    the stores define."""
    names = set()
    for path in REPO.glob("**/CMakeLists.txt"):
        names.update(re.findall(r"add_(?:library|executable)\((\w+)", path.read_text()))
    for path in REPO.glob("core/store/*.cpp"):
        names.update(re.findall(r"\blims_[a-z0-9_]+", path.read_text()))
    return names


def script_envs():
    """LIMS_* variables that scripts, tests, manifests or the build read or set."""
    envs = set()
    for path in tracked_files():
        rel = path.relative_to(REPO).as_posix()
        if rel.endswith(".md") or rel.startswith("docs/") or not path.is_file():
            continue
        try:
            envs.update(ENV_TOKEN.findall(path.read_text(errors="replace")))
        except OSError:
            pass
    return envs


def slug(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


class Doc:
    """A Markdown file split into what the checks need: lines with their section's subcommand,
    code or prose, and the anchors it defines."""

    def __init__(self, path, commands):
        self.path = path
        self.rel = path.relative_to(REPO).as_posix()
        self.lines = []  # (line number, text, in code block, section subcommand or None)
        self.anchors = set()
        section = [(0, None)]  # (heading level, subcommand)
        in_code = False
        continued = None  # a code line ending in a backslash, and where it started
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if line.lstrip().startswith("```"):
                in_code = not in_code
                continue
            if in_code and continued:
                line, n = continued[1] + " " + line, continued[0]
                continued = None
            if in_code and line.endswith("\\"):
                continued = (n, line[:-1])
                continue
            if not in_code and re.match(r"^#{1,6} ", line):
                level = len(line) - len(line.lstrip("#"))
                title = line[level:].strip()
                self.anchors.add(slug(title))
                while section[-1][0] >= level:
                    section.pop()
                m = re.search(r"`lims ([a-z-]+(?: [a-z-]+)?)", title)
                named = None
                if m:
                    words = m.group(1).split()
                    named = " ".join(words) if " ".join(words) in commands else words[0]
                    named = named if named in commands else None
                section.append((level, named if named else section[-1][1]))
                continue
            self.lines.append((n, line, in_code, section[-1][1]))
        self.anchors |= set(re.findall(r"<a (?:name|id)=\"([^\"]+)\"", path.read_text()))


def code_spans(line):
    return re.findall(r"`([^`]+)`", line)


def commands_in(text, commands):
    """(subcommand, [flags]) for each `lims SUB ...` command in a shell line."""
    found = []
    tokens = text.replace("\\", " ").split()
    i = 0
    while i < len(tokens):
        tok = tokens[i].lstrip("$(")
        if os.path.basename(tok) == "lims" and i + 1 < len(tokens):
            name = tokens[i + 1]
            j = i + 2
            if j < len(tokens) and f"{name} {tokens[j]}" in commands:
                name, j = f"{name} {tokens[j]}", j + 1
            if name in commands:
                flags = []
                while j < len(tokens) and tokens[j] not in SEPARATORS:
                    m = FLAG_TOKEN.match(tokens[j])
                    if m:
                        flags.append(m.group(1))
                    j += 1
                found.append((name, flags))
                i = j
                continue
        i += 1
    return found


def script_commands_in(text, scripts):
    """(script, [flags]) for each `scripts/NAME ...` command in a shell line."""
    found = []
    tokens = text.replace("\\", " ").split()
    for i, tok in enumerate(tokens):
        name = tok.split("scripts/", 1)[1] if "scripts/" in tok else None
        if name not in scripts:
            continue
        flags = []
        for t in tokens[i + 1:]:
            if t in SEPARATORS:
                break
            m = FLAG_TOKEN.match(t)
            if m:
                flags.append(m.group(1))
        found.append((name, flags))
    return found


def table_rows(doc):
    """(line number, {column: cell}) for each row of a table with a `subcommands` column."""
    header = None
    for n, line, in_code, _ in doc.lines:
        if in_code or not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        if "subcommands" in header:
            yield n, dict(zip(header, cells))


def check_docs(lims):
    help_ = Help(lims)
    commands = set(help_.commands)
    scripts = script_flags()
    any_script_flag = set().union(*scripts.values()) if scripts else set()
    metrics = registered_metrics()
    not_metrics = other_lims_names()
    known_envs = script_envs()
    problems = []
    docs = [REPO / "README.md"] + sorted(REPO.glob("docs/**/*.md")) + \
        sorted(REPO.glob("manifests/**/*.md"))
    parsed = {p: Doc(p, commands) for p in docs}
    paths = RepoPaths()

    def bad(doc, n, what):
        problems.append(f"{doc.rel}:{n}: {what}")

    def check_flag(doc, n, command, flag):
        if command and flag not in help_.flags(command):
            bad(doc, n, f"`lims {command}` has no option {flag} (see `lims {command} --help`)")
        elif not command and flag.startswith("--") and flag not in help_.all_flags | any_script_flag:
            bad(doc, n, f"no lims subcommand or script has an option {flag}")

    def check_env(doc, n, command, env):
        if command and env not in help_.envs(command):
            bad(doc, n, f"`lims {command}` does not read {env} (see `lims {command} --help`)")
        elif not command and env not in help_.all_envs and env not in known_envs:
            bad(doc, n, f"{env} is neither an option's environment fallback nor read by a "
                        "script or test")

    for doc in parsed.values():
        for n, line, in_code, section in doc.lines:
            if MACHINE_PATHS.search(line):
                bad(doc, n, "a path of one machine; write a path any clone has")
            # Commands: in code blocks, every line; in prose, every code span.
            shell = [line] if in_code else code_spans(line)
            attributed = set()
            for text in shell:
                for script, flags in script_commands_in(text, scripts):
                    for flag in flags:
                        if flag.startswith("--") and flag not in scripts[script] | {"--help"}:
                            bad(doc, n, f"scripts/{script} has no option {flag}")
                        attributed.add(flag)
                for command, flags in commands_in(text, commands):
                    for flag in flags:
                        check_flag(doc, n, command, flag)
                        attributed.add(flag)
                    for env in ENV_TOKEN.findall(text):
                        if re.search(rf"\b{env}=\S*\s+(\S*/)?lims\s+{re.escape(command)}", text):
                            check_env(doc, n, command, env)
                            attributed.add(env)
            # Flags alone in prose (a code span that starts with one) in README and docs/: the
            # section's subcommand, else any. Spans naming another program are its business, and
            # so is the prose of manifests/, which documents tools of its own.
            if not in_code and not doc.rel.startswith("manifests/"):
                for span in code_spans(line):
                    if not FLAG_TOKEN.match(span.split()[0].rstrip(",")):
                        continue
                    for tok in span.replace(",", " ").split():
                        m = FLAG_TOKEN.match(tok)
                        if m and m.group(1).startswith("--") and m.group(1) not in attributed:
                            check_flag(doc, n, section, m.group(1))
            if not in_code:
                for span in code_spans(line):
                    first = span.split()[0] if span.split() else ""
                    if paths.names_one(first) and not paths.exists(first):
                        bad(doc, n, f"{first} does not exist in the repository")
            for env in set(ENV_TOKEN.findall(line)) - attributed:
                check_env(doc, n, None if in_code else section, env)
            # Metrics.
            for token in METRIC_TOKEN.findall(line):
                name = token.rstrip("*")
                if token.endswith("*"):
                    if not any(m.startswith(name) for m in metrics):
                        bad(doc, n, f"no registered metric starts with {name}")
                    continue
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                if name in metrics or name in not_metrics:
                    continue
                if base != name and metrics.get(base) == "histogram":
                    continue
                bad(doc, n, f"{name} is not a metric lims registers")
            # Links and images.
            for target in (a or b for a, b in LINK.findall(line)):
                if re.match(r"^[a-z]+:", target) or target.startswith("//"):
                    continue
                file_part, _, anchor = target.partition("#")
                dest = (doc.path.parent / file_part).resolve() if file_part else doc.path
                if not dest.exists():
                    bad(doc, n, f"link to {target}: {file_part} does not exist")
                elif anchor and dest.suffix == ".md":
                    other = parsed.get(dest) or Doc(dest, commands)
                    if anchor not in other.anchors:
                        bad(doc, n, f"link to {target}: no heading #{anchor} in {file_part or doc.rel}")
        # Configuration tables: flag and environment against each subcommand listed.
        for n, row in table_rows(doc):
            names = [c.strip("` ") for c in row.get("subcommands", "").split(",") if c.strip()]
            names = sorted(commands) if names == ["all"] else names
            for name in names:
                if name not in commands:
                    bad(doc, n, f"`{name}` is not a lims subcommand")
                    continue
                for cell in (row.get("flag", ""), row.get("option", "")):
                    for tok in re.findall(r"`([^`]+)`", cell):
                        for part in tok.replace(",", " ").split():
                            m = FLAG_TOKEN.match(part)
                            if m:
                                check_flag(doc, n, name, m.group(1))
                for env in ENV_TOKEN.findall(row.get("environment", "")):
                    check_env(doc, n, name, env)
    return problems


def selftest(lims):
    """Proves the checks bite: a small tree with one of each mistake must fail with each named,
    and the same tree mended must pass."""
    import tempfile
    good = {
        "README.md": "Run `lims consume --group g` ([docs](docs/a.md#usage)).\n"
                     "![chart](docs/chart.svg) `scripts/deploy --dry-run`\n",
        "scripts/deploy": "case $1 in\n  --dry-run) DRY=1 ;;\nesac\n",
        "docs/a.md": "# Usage\n\n## `lims consume`\n\n`--batch-max-ms` and `LIMS_BROKERS`;\n"
                     "`lims_events_total`, `lims_x_seconds_bucket`, `lims_events_*`.\n\n"
                     "```\nLIMS_STORE=sqlite:x lims consume \\\n  --exit-at-end\n```\n\n"
                     "| flag | environment | subcommands |\n|---|---|---|\n"
                     "| `--store` | `LIMS_STORE` | consume, get-image |\n\n"
                     "The code: `core/m.cpp`, `core/*.cpp`, `scripts/`.\n",
        "docs/chart.svg": "<svg/>",
        "core/m.cpp": 'r.counter("lims_events_total", "h"); r.histogram(\n  "lims_x_seconds", "h");\n',
    }
    bad = {
        "README.md": good["README.md"].replace("--group", "--grup").replace("--dry-run", "--dry") +
                     "See [gone](docs/gone.md) and [anchor](docs/a.md#nowhere).\n",
        "docs/a.md": good["docs/a.md"].replace("`--batch-max-ms`", "`--batch-max-minutes`")
                     .replace("lims_events_total", "lims_events_totl")
                     .replace("--exit-at-end", "--exit-at-start")
                     .replace("consume, get-image", "consume, get-image, sync-batch")
                     .replace("LIMS_BROKERS", "LIMS_BROKER")
                     .replace("`core/*.cpp`", "`core/*.hpp`").replace("`scripts/`", "`script/x`")
                     .replace("`core/m.cpp`", "`core/gone.cpp`") +
                     "Output: /work/x/lims.db\n" + "See " + OUTSIDE + "/notes.\n",
    }
    expected = ["README.md:1: `lims consume` has no option --grup",
                "README.md:2: scripts/deploy has no option --dry",
                "docs/gone.md does not exist", "no heading #nowhere",
                "docs/a.md:5: `lims consume` has no option --batch-max-minutes",
                "docs/a.md:5: `lims consume` does not read LIMS_BROKER",
                "docs/a.md:6: lims_events_totl is not a metric",
                "docs/a.md:9: `lims consume` has no option --exit-at-start",
                "docs/a.md:15: `lims sync-batch` has no option --store",
                "docs/a.md:17: core/gone.cpp does not exist", "docs/a.md:17: core/*.hpp does not",
                "docs/a.md:18: a path of one machine"]
    failures = []
    for files, want_code, want in ((good, 0, []), ({**good, **bad}, 1, expected)):
        with tempfile.TemporaryDirectory() as root:
            for rel, text in files.items():
                (Path(root) / rel).parent.mkdir(parents=True, exist_ok=True)
                (Path(root) / rel).write_text(text)
            env = {**os.environ, "LIMS_DOCS_ROOT": root}
            for mode in (["docs", lims], ["standalone"]):
                out = subprocess.run([sys.executable, __file__, *mode], env=env, text=True,
                                     capture_output=True)
                code = out.returncode
                if mode[0] == "standalone":
                    want_here = ["docs/a.md:19: refers to"] if want else []
                else:
                    want_here = want
                if code != want_code:
                    failures.append(f"{mode[0]} on the {'bad' if want else 'good'} tree exited "
                                    f"{code}, expected {want_code}:\n{out.stderr}")
                failures += [f"{mode[0]}: not reported: {w}\n{out.stderr}" for w in want_here
                             if w not in out.stderr]
    return failures


def main(argv):
    if len(argv) == 3 and argv[1] == "selftest":
        problems, what = selftest(argv[2]), "every check catches its mistake"
    elif len(argv) == 2 and argv[1] == "standalone":
        problems, what = check_standalone(), "the repository stands on its own"
    elif len(argv) == 3 and argv[1] == "docs":
        problems, what = check_docs(argv[2]), "the docs agree with the code"
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in problems:
        print(f"check_docs: {p}", file=sys.stderr)
    if problems:
        print(f"check_docs: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_docs: OK: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
