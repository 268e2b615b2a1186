"""One call records a real-data check for docs/truth.md: the file, the figure, the independent
value (pandas on the file, a published figure, a hand calculation), uptake's value and how they
differ. `truth(...)` asserts the two agree within the tolerance, and, when $UPTAKE_TRUTH_LOG names a
file, appends the check to it as one JSON line; `scripts/truth` runs the tests that call it and
writes the table. Use it wherever a test compares uptake with an independent figure on real data:

    from truth import truth
    truth("epd/doacs_….csv.gz", "England apixaban items, 2017-10", ours=got, independent=want)
"""

from __future__ import annotations

import json
import math
import os

import pytest

LOG_ENV = "UPTAKE_TRUTH_LOG"


def truth(file: str, figure: str, *, ours: float, independent: float, against: str = "pandas on the file",
          rel: float = 1e-9, abs: float = 0.0) -> None:  # noqa: A002 (pytest.approx's own name)
    """Assert uptake's value `ours` equals the `independent` one (within rel/abs), and record it.
    `file` is the data file (relative to ../shared/data), `figure` what is compared, `against`
    where the independent value comes from."""
    ok = bool(ours is not None and independent is not None and ours == pytest.approx(independent, rel=rel, abs=abs))
    diff = None if ours is None or independent is None else float(ours) - float(independent)
    _record(file, figure, against, independent, ours, diff, rel, abs, ok)
    assert ok, f"{file}: {figure}: uptake gives {ours!r}, {against} gives {independent!r}"


def truth_all(file: str, figure: str, *, ours, independent, against: str = "pandas on the file",
              rel: float = 1e-9, abs: float = 0.0) -> None:  # noqa: A002
    """`truth` for a series of values (every organisation, every month): asserts each pair agrees
    and records one row: the count, both totals, and the largest difference of any pair."""
    import numpy as np

    a, b = np.asarray(ours, dtype=float), np.asarray(independent, dtype=float)
    assert a.shape == b.shape and a.size > 0, f"{file}: {figure}: {a.size} values against {b.size}"
    np.testing.assert_allclose(a, b, rtol=rel, atol=abs)
    _record(file, f"{figure} ({a.size} values: totals, largest difference)", against, b.sum(), a.sum(),
            np.max(np.abs(a - b)), rel, abs, True)


def _record(file, figure, against, independent, ours, difference, rel, abs, ok) -> None:  # noqa: A002
    log = os.environ.get(LOG_ENV)
    if not log:
        return
    entry = {"test": os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0], "file": file, "figure": figure,
             "against": against, "independent": _num(independent), "ours": _num(ours),
             "difference": _num(difference), "tolerance": {"rel": rel, "abs": abs}, "agrees": bool(ok)}
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def _num(v):
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


def write_table(log: str, out: str) -> int:
    """docs/truth.md from a log of checks: one row per check, in test order; the number of rows."""
    entries = [json.loads(line) for line in open(log, encoding="utf-8") if line.strip()]

    def fmt(v):
        if v is None:
            return "—"
        return f"{v:,.0f}" if float(v).is_integer() and abs(v) >= 1 else f"{v:.6g}"

    lines = [
        "# Truth: every real-data check in the tests",
        "",
        "Each row is one figure that a test computes with uptake from a real NHS file in `../shared/data`",
        "and compares with an independent value (pandas on the same file, a published figure, or a hand",
        "calculation). The test fails if they differ by more than the tolerance. Regenerate with",
        "`./scripts/truth` (it runs every test that calls `tests/truth.py`'s `truth()` and rewrites this",
        "file); do not edit by hand.",
        "",
        f"{len(entries)} checks, {sum(not e['agrees'] for e in entries)} disagreeing.",
        "",
        "| file | figure | independent value (source) | uptake | difference | test |",
        "|---|---|---|---|---|---|",
    ]
    for e in entries:
        test = e["test"].split("::", 1)[-1]
        lines.append(f"| `{e['file']}` | {e['figure']} | {fmt(e['independent'])} ({e['against']}) | {fmt(e['ours'])} "
                     f"| {fmt(e['difference'])} | `{test}` |")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return len(entries)


if __name__ == "__main__":
    import sys

    print(f"{write_table(sys.argv[1], sys.argv[2])} checks written to {sys.argv[2]}")
