"""`uptake catalogue list` and `show` (issue 18): each TA's eligible population and expected
uptake with their source type, the counts by source type recomputed here from the YAML files
themselves, and a TA without an expected use saying why."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import yaml
from typer.testing import CliRunner

from uptake.cli import app

runner = CliRunner()
DATA = Path(__file__).resolve().parents[2] / "src" / "uptake" / "catalogue" / "data" / "technology_appraisals"


def kinds_from_files() -> tuple[Counter, Counter]:
    """Source types counted from the raw YAML, independently of the loader's models."""
    eligible, expected = Counter(), Counter()
    for path in DATA.glob("TA*.yaml"):
        doc = yaml.safe_load(path.read_text())
        pop, up = doc["eligible_population"], doc["expected_uptake"]
        if pop.get("national"):
            eligible[pop["national"][0]["kind"]] += 1
        elif pop["fraction"] is not None:
            eligible[pop.get("kind") or ("official" if pop["verified"] else
                                         "estimate" if pop["source"].startswith("Estimate") else "secondary")] += 1
        else:
            eligible["none"] += 1
        has_pop = bool(pop.get("national")) or pop["fraction"] is not None
        if up.get("national"):
            expected[up.get("kind") or up["national"][0]["kind"]] += 1
        elif up["share"] is not None and has_pop:
            expected[up.get("kind") or ("official" if up["verified"] else
                                        "estimate" if up["source"].startswith("Estimate") else "secondary")] += 1
        else:
            expected["none"] += 1
    return eligible, expected


def test_catalogue_list_counts_figures_by_source_type():
    got = runner.invoke(app, ["catalogue", "list"], env={"COLUMNS": "200"})
    assert got.exit_code == 0, got.stdout
    eligible, expected = kinds_from_files()
    for name, counts in (("eligible", eligible), ("expected", expected)):
        line = next(x for x in got.stdout.splitlines() if re.match(rf"\W*{name}\s", x))
        numbers = [int(n) for n in re.findall(r"\d+", line)]
        assert numbers == [counts[k] for k in ("official", "secondary", "estimate", "none")], (name, line)
    assert sum(eligible.values()) == len(list(DATA.glob("TA*.yaml")))
    assert len(list(DATA.glob("TA*.yaml"))) - eligible["none"] >= 30 and sum(expected.values()) - expected["none"] >= 20
    listed = json.loads(runner.invoke(app, ["catalogue", "list", "--json"]).stdout)
    ta679 = next(t for tas in listed.values() for t in tas if t["id"] == "TA679")["eligible_population"]
    assert (ta679["count_low"], ta679["count"], ta679["count_high"], ta679["kind"]) == (250000, 260000, 260000,
                                                                                        "secondary")


def test_catalogue_show_says_why_a_ta_has_no_expected_use():
    got = runner.invoke(app, ["catalogue", "show", "TA679"], env={"COLUMNS": "200"})
    assert got.exit_code == 0, got.stdout
    text = " ".join(got.stdout.split())
    assert "No expected use: Eligible population 260,000 (250,000–260,000) people, secondary, but no expected uptake" in text
    assert '260,000 (secondary): "NICE estimates that around 260,000 people could be eligible' in text
