"""The layer check: every import inside the `uptake` package against the layers in
docs/architecture.md, and no import cycle.

Usage: python scripts/layers.py [SRC_DIR [ARCHITECTURE_MD]]   (exit 1 on a new violation)

The map is the ```layers block of docs/architecture.md, one layer per line, lowest first:

    <rank> <layer name>: <module pattern> <module pattern> ...

A pattern is a dotted module name (it covers its submodules; a final `$` means that module
only) whose parts may use shell wildcards (`uptake.web.*.models`, `uptake.cli_*`). A module belongs to the layer of its longest matching pattern.
A module may import a module of a lower layer, or of the same layer and the same top-level
component (`uptake.web.views` → `uptake.web.api`); never a higher layer, nor a sibling component
of the same layer (`uptake.alerts` → `uptake.reports`), except in layer 0, the foundation, whose
small modules (errors, formats, config) may use one another. Imports are read statically, wherever they
are in a file (function-level imports count: they are how layers were bypassed before).

The modules of the ```isolated block (views) may not import one another at all.

Known violations still to be removed are listed in the ```layer-debt block of the same document,
one `importer -> imported` per line; the check fails on anything not listed there, and on a
listed edge that no longer exists (so the list only shrinks).
"""

from __future__ import annotations

import ast
from fnmatch import fnmatchcase
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Layer:
    rank: int
    name: str
    patterns: tuple[str, ...]


def read_block(markdown: str, kind: str) -> list[str]:
    """The non-blank, non-comment lines of the first fenced block of this kind."""
    found = re.search(rf"^```{kind}\n(.*?)^```", markdown, re.S | re.M)
    if not found:
        raise SystemExit(f"docs/architecture.md: no ```{kind} block")
    return [ln.strip() for ln in found.group(1).splitlines() if ln.strip() and not ln.strip().startswith("#")]


def parse_layers(lines: list[str]) -> list[Layer]:
    layers = []
    for line in lines:
        head, _, patterns = line.partition(":")
        rank, _, name = head.strip().partition(" ")
        layers.append(Layer(int(rank), name.strip(), tuple(patterns.split())))
    return layers


def parse_debt(lines: list[str]) -> set[tuple[str, str]]:
    return {tuple(part.strip() for part in line.split("->", 1)) for line in lines}  # type: ignore[misc]


def _matches(pattern: str, module: str) -> int:
    """How specific the match is (its number of parts), or 0 when the pattern does not cover it."""
    exact = pattern.endswith("$")
    want, have = pattern.rstrip("$").split("."), module.split(".")
    if len(have) < len(want) or (exact and len(have) != len(want)):
        return 0
    return len(want) if all(fnmatchcase(h, w) for w, h in zip(want, have)) else 0


def layer_of(module: str, layers: list[Layer]) -> tuple[Layer, str] | None:
    """The module's layer and the pattern that placed it (the longest match)."""
    best = max(((_matches(p, module), layer, p) for layer in layers for p in layer.patterns),
               key=lambda found: found[0], default=(0, None, ""))
    return (best[1], best[2]) if best[0] else None


def modules(src: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(src.rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The `uptake` modules this module imports, resolved to modules that exist."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from pkg import sub` imports the module pkg.sub when there is one.
            candidates = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in known else origin for a in node.names]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in known:  # `import a.b.c` of a name inside a module
                candidate = candidate.rpartition(".")[0]
            if candidate.startswith("uptake") and candidate != name:
                targets.add(candidate)
    return targets


def component(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def violations(graph: dict[str, set[str]], layers: list[Layer]) -> tuple[set[tuple[str, str]], list[str]]:
    """Edges against the layers, and modules no layer covers."""
    bad, unplaced = set(), []
    for importer, targets in graph.items():
        mine = layer_of(importer, layers)
        if mine is None:
            unplaced.append(importer)
            continue
        for target in targets:
            theirs = layer_of(target, layers)
            if theirs is None:
                continue  # reported once, as the importer
            upward = theirs[0].rank > mine[0].rank
            sideways = theirs[0].rank == mine[0].rank > 0 and component(importer) != component(target)
            if upward or sideways:
                bad.add((importer, target))
    return bad, sorted(unplaced)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def check(src: Path, architecture: Path) -> list[str]:
    """Every problem, one line each; empty when the code keeps to the map."""
    text = architecture.read_text(encoding="utf-8")
    layers = parse_layers(read_block(text, "layers"))
    debt = parse_debt(read_block(text, "layer-debt"))
    known = modules(src)
    graph = {name: imports(name, path, known) for name, path in known.items()}
    bad, unplaced = violations(graph, layers)
    isolated = [p for line in read_block(text, "isolated") for p in line.split()]
    views_importing_views = {(a, b) for a, targets in graph.items() for b in targets
                             if any(_matches(p, a) for p in isolated) and any(_matches(p, b) for p in isolated)}
    bad |= views_importing_views
    problems = [f"{m}: in no layer of {architecture.name} (add it to the ```layers block)" for m in unplaced]
    for importer, target in sorted(views_importing_views - debt):
        problems.append(f"{known[importer]}: {importer} imports {target}: views never import one another "
                        "(move what they share to uptake.web.pages or a module of its own)")
    for importer, target in sorted(bad - debt - views_importing_views):
        problems.append(f"{known[importer]}: {importer} imports {target}, against the layers "
                        f"({layer_of(importer, layers)[0].name} → {layer_of(target, layers)[0].name})")
    in_cycles = set()
    for group in cycles(graph):
        members = set(group)
        inside = {(a, b) for a in group for b in graph[a] if b in members}
        in_cycles |= inside
        if not inside <= debt:
            problems.append("import cycle: " + " → ".join(group) + " (edges not in layer-debt: " +
                            ", ".join(f"{a} -> {b}" for a, b in sorted(inside - debt)) + ")")
    for importer, target in sorted(debt - bad - in_cycles):
        problems.append(f"{architecture.name}: layer-debt lists {importer} -> {target}, which is gone: "
                        "remove the line")
    return problems


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else ROOT / "src"
    architecture = Path(argv[2]) if len(argv) > 2 else ROOT / "docs" / "architecture.md"
    problems = check(src, architecture)
    for line in problems:
        print(line)
    print(f"layers: {len(problems)} problem(s)" if problems else "layers: every import keeps to the map")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
