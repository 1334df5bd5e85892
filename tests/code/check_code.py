#!/usr/bin/python3
"""Rules of the code that a compiler does not check.

    check_code.py           check the repository
    check_code.py selftest  each check catches a planted mistake

- One definition per type: no class, struct, union or enum is defined at namespace scope (outside
  an anonymous namespace) under the same qualified name in two files of core/, cli/ and bench/.
  Both would link into lims, and the program would be undefined with no compiler warning.
- Small files: no source file in core/ or cli/ is over 400 lines.
- Boxes keep their libraries: only core/kafka includes rdkafka.h, only core/store includes
  sqlite3.h, mongoc or bson, and nothing under core/ includes anything from cli/.
Stdlib only. Exits 0 when all hold, 1 with one line per problem otherwise.
"""
import os
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(os.environ.get("LIMS_CODE_ROOT") or Path(__file__).resolve().parents[2]).resolve()
MAX_LINES = 400
SOURCES = ("core", "cli", "bench")
TYPE_HEAD = re.compile(r"(?:^|[\s;])(?:struct|class|union|enum(?:\s+(?:class|struct))?)\s+"
                       r"(?:\[\[[^\]]*\]\]\s*)?(\w+(?:::\w+)*)\s*(?:final\s*)?(?::(?!:)[^{;]*)?$")
NAMESPACE_HEAD = re.compile(r"(?:^|[\s;])(?:inline\s+)?namespace\s*([\w:]*)\s*$")
BOX_INCLUDES = [  # (include pattern, the only place it may appear, what it is)
    (re.compile(r'#\s*include\s*[<"]librdkafka/'), "core/kafka/", "librdkafka"),
    (re.compile(r'#\s*include\s*[<"]sqlite3\.h'), "core/store/", "SQLite"),
    (re.compile(r'#\s*include\s*[<"](?:mongoc|bson)/'), "core/store/", "libmongoc/libbson"),
]


def strip(text):
    """The text without comments, string and character literals (lines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            chunk = text[i:n if j < 0 else j + 2]
            out.append("\n" * chunk.count("\n"))
            i = n if j < 0 else j + 2
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            chunk = text[i:n if end < 0 else end + len(m.group(1)) + 2]
            out.append('""' + "\n" * chunk.count("\n"))
            i = n if end < 0 else end + len(m.group(1)) + 2
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def definitions(path):
    """(qualified name, line) of each type defined at namespace scope, anonymous ones left out."""
    text = strip(path.read_text(errors="replace"))
    found, stack, start = [], [], 0
    for i, c in enumerate(text):
        if c in ";}":
            if c == "}" and stack:
                stack.pop()
            start = i + 1
        elif c == "{":
            head = text[start:i]
            head = re.sub(r"#[^\n]*", " ", head)  # preprocessor lines
            head = " ".join(head.split())
            ns = NAMESPACE_HEAD.search(head)
            ty = TYPE_HEAD.search(head)
            if ns is not None:
                stack.append(("ns", ns.group(1)))  # "" for an anonymous namespace
            elif ty and "<" not in head.split(ty.group(1))[-1]:
                # Out-of-line nested types (struct A::Impl) belong to their class, not here.
                if "::" not in ty.group(1) and all(kind == "ns" and name for kind, name in stack):
                    qualified = "::".join([name for _, name in stack] + [ty.group(1)])
                    found.append((qualified, text.count("\n", 0, i) + 1))
                stack.append(("type", ty.group(1)))
            else:
                stack.append(("other", ""))
            start = i + 1
    return found


def source_files():
    for box in SOURCES:
        for path in sorted((REPO / box).rglob("*")):
            if path.suffix in (".cpp", ".hpp", ".h") and path.is_file():
                yield path


def check():
    problems, seen = [], {}
    for path in source_files():
        rel = path.relative_to(REPO).as_posix()
        for name, line in definitions(path):
            seen.setdefault(name, []).append(f"{rel}:{line}")
        lines = path.read_text(errors="replace").count("\n")
        if rel.split("/")[0] in ("core", "cli") and lines > MAX_LINES:
            problems.append(f"{rel}: {lines} lines, over {MAX_LINES}: a concept is hiding in it")
        text = path.read_text(errors="replace")
        for pattern, home, what in BOX_INCLUDES:
            if pattern.search(text) and not rel.startswith(home):
                problems.append(f"{rel}: includes {what}, which only {home} may")
        if rel.startswith("core/") and re.search(r'#\s*include\s*"(?:\.\./)*cli/', text):
            problems.append(f"{rel}: includes from cli/; no box reaches into cli/")
    for name, places in sorted(seen.items()):
        files = {p.rsplit(":", 1)[0] for p in places}
        if len(files) > 1:
            problems.append(f"{name} is defined in {len(files)} files ({', '.join(sorted(places))}): "
                            "one program, one definition; give each its own name")
    return problems


def selftest():
    tree = {
        "core/a/x.hpp": "namespace lims::a {\nstruct Reply { int s; };\nenum class E : int;\n"
                        "namespace {\nstruct Local {};\n}\nstruct Holder { struct Reply {}; };\n}\n",
        "core/a/x.cpp": '#include "a/x.hpp"\nnamespace lims::a {\nnamespace {\nstruct Local {};\n}\n'
                        'void f() { struct Inner {}; const char* s = "struct Reply {";\n(void)s; }\n}\n',
        "bench/y.hpp": "namespace lims {\nnamespace a {\nclass Reply final : public B {};\n}\n}\n",
        "core/b/big.cpp": "int x;\n" * (MAX_LINES + 1),
        "core/b/k.cpp": "#include <librdkafka/rdkafka.h>\n",
        "core/b/c.cpp": '#include "cli/options.hpp"\n',
    }
    want = ["lims::a::Reply is defined in 2 files (bench/y.hpp:3, core/a/x.hpp:2)",
            f"core/b/big.cpp: {MAX_LINES + 1} lines", "core/b/k.cpp: includes librdkafka",
            "core/b/c.cpp: includes from cli/"]
    unwanted = ["Local", "Inner", "Holder::Reply", "lims::a::E"]
    with tempfile.TemporaryDirectory() as root:
        for rel, text in tree.items():
            (Path(root) / rel).parent.mkdir(parents=True, exist_ok=True)
            (Path(root) / rel).write_text(text)
        global REPO
        REPO, saved = Path(root), REPO
        try:
            got = check()
        finally:
            REPO = saved
    out = [f"not reported: {w}" for w in want if not any(w in g for g in got)]
    out += [f"reported wrongly: {g}" for g in got if any(u in g for u in unwanted)]
    out += [f"unexpected: {g}" for g in got if not any(w in g for w in want)]
    return out


def main(argv):
    if argv[1:] == ["selftest"]:
        problems, what = selftest(), "every check catches its mistake"
    elif argv[1:] == []:
        problems, what = check(), "one definition per type, small files, boxes keep their libraries"
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in problems:
        print(f"check_code: {p}", file=sys.stderr)
    if problems:
        print(f"check_code: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_code: OK: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
