#!/usr/bin/env python3
"""Prints the import graph of src/ and checks that it runs one way.

Reads every `crate::...` path (in `use` lines, braces expanded, and inline)
of every file under src/, resolves it to the file that defines it, and
reports: import cycles between files, imports between stages that run
upward (a lower stage naming a higher one), and imports through the
crate root's re-exports instead of from where a name is defined.

Exit status 1 when a stage imports upward or through the root (CI runs
it); file cycles inside one stage are reported but allowed.

    python3 scripts/layers.py [SRC_DIR] [--quiet]
"""
import os
import re
import sys

# The stages, lowest first (see ARCHITECTURE.md). A stage may import only
# from stages before it in this list, and from itself.
STAGES = ["error", "limits", "suggest", "value", "document", "syntax", "plan",
          "eval", "config", "store"]


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] if not line.lstrip().startswith("//")
                     else "" for line in text.split("\n"))


def expand(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    tree = tree.strip()
    depth, start = 0, None
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                prefix = tree[:start]
                inner, parts, level, last = tree[start + 1:i], [], 0, 0
                for j, c in enumerate(inner):
                    level += c == "{"
                    level -= c == "}"
                    if c == "," and level == 0:
                        parts.append(inner[last:j])
                        last = j + 1
                parts.append(inner[last:])
                out = []
                for p in parts:
                    p = p.strip()
                    if not p:
                        continue
                    if p == "self":
                        out.append(prefix.rstrip(":"))
                    else:
                        out.extend(prefix + q for q in expand(p))
                return out
    return [re.sub(r"\s+as\s+\w+$", "", tree)]


def module_files(src):
    files = {}
    for root, _, names in os.walk(src):
        for name in names:
            if not name.endswith(".rs") or "/bin" in root:
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel == ["lib"]:
                rel = []
            files[tuple(rel)] = path
    return files


def resolve(segments, files):
    for n in range(len(segments), 0, -1):
        if tuple(segments[:n]) in files:
            return tuple(segments[:n])
    return ()


def graph(src):
    files = module_files(src)
    edges = {}
    for module, path in files.items():
        text = strip_comments(open(path, encoding="utf-8").read())
        paths = []
        for m in re.finditer(r"\buse\s+crate::(.*?);", text, flags=re.S):
            paths.extend(expand(m.group(1)))
        text_without_uses = re.sub(r"\buse\s+crate::.*?;", "", text, flags=re.S)
        paths.extend(m.group(1) for m in re.finditer(r"\bcrate::((?:\w+::)*\w+)", text_without_uses))
        targets = set()
        for p in paths:
            segments = [s for s in p.split("::") if s]
            target = resolve(segments, files)
            if target != module:
                targets.add(target)
        edges[module] = targets
    return edges


def sccs(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def name(module):
    return "::".join(module) or "lib"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quiet = "--quiet" in sys.argv
    src = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "src")
    edges = graph(src)
    stage = lambda m: m[0] if m else None
    upward, through_root, folder_edges = [], [], {}
    for module, targets in edges.items():
        if not module:
            continue
        for t in targets:
            if not t:
                through_root.append((module, t))
                continue
            a, b = stage(module), stage(t)
            if a != b:
                folder_edges.setdefault(a, set()).add(b)
            if a in STAGES and b in STAGES and STAGES.index(b) > STAGES.index(a):
                upward.append((module, t))
    file_cycles = sccs({m: {t for t in ts if t} for m, ts in edges.items() if m})
    folder_cycles = sccs(folder_edges)
    print(f"{len(edges) - 1} files, "
          f"{sum(len(c) for c in file_cycles)} of them in {len(file_cycles)} import cycle(s), "
          f"{len(folder_cycles)} cycle(s) between stages, {len(upward)} upward import(s), "
          f"{len(through_root)} import(s) through the crate root")
    if not quiet:
        for c in file_cycles:
            print("  file cycle:", ", ".join(sorted(name(m) for m in c)))
        for c in folder_cycles:
            print("  stage cycle:", ", ".join(sorted(c)))
        for a, b in sorted(upward):
            print(f"  upward: {name(a)} -> {name(b)}")
        for a, _ in sorted(through_root):
            print(f"  through the root: {name(a)}")
    return 1 if upward or through_root or folder_cycles else 0


if __name__ == "__main__":
    sys.exit(main())
