#!/usr/bin/env python3
"""module-map.py: each library crate's top-level modules, their size, and
which others they use (`crate::X`, `super::X` at the top level); then any
import cycle between them. Exit 1 on a cycle.

    scripts/module-map.py            # recorder and manifest-gen
"""
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = ["recorder", "manifest-gen"]


def modules(src):
    mods = {}
    for name in sorted(os.listdir(src)):
        p = os.path.join(src, name)
        if name in ("lib.rs", "main.rs"):
            continue
        if name.endswith(".rs"):
            mods.setdefault(name[:-3], []).append(p)
        elif os.path.isdir(p):
            for d, _, files in os.walk(p):
                for f in files:
                    if f.endswith(".rs"):
                        mods.setdefault(name, []).append(os.path.join(d, f))
    return mods


def strip_tests(text):
    # Drop `#[cfg(test)] mod tests { ... }` blocks: tests may use anything.
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def main():
    cycles = 0
    for crate in CRATES:
        src = os.path.join(TOP, crate, "src")
        mods = modules(src)
        uses = {}
        for m, files in mods.items():
            deps, lines = set(), 0
            for f in files:
                if os.path.basename(f) in ("tests.rs",) or "/tests/" in f:
                    continue
                text = open(f, encoding="utf-8").read()
                lines += text.count("\n")
                code = re.sub(r"//[^\n]*", "", strip_tests(text))
                for dep in re.findall(r"\bcrate::(\w+)", code):
                    if dep != m and dep in mods:
                        deps.add(dep)
            uses[m] = (lines, sorted(deps))
        print(f"{crate} ({len(mods)} modules)")
        for m, (lines, deps) in sorted(uses.items()):
            print(f"  {m:<14} {lines:>5} lines  uses: {', '.join(deps) or '-'}")
        # Cycles: a DFS over the module graph.
        state = {}

        def visit(m, path):
            nonlocal cycles
            state[m] = 1
            for d in uses[m][1]:
                if state.get(d) == 1:
                    print(f"  CYCLE: {' -> '.join(path[path.index(d):] + [d])}")
                    cycles += 1
                elif d not in state:
                    visit(d, path + [d])
            state[m] = 2

        for m in sorted(uses):
            if m not in state:
                visit(m, [m])
    print(f"import cycles: {cycles}")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
