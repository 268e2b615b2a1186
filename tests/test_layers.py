"""The layer check (scripts/layers.py) against docs/architecture.md: the real tree keeps to the
map, and a deliberate bad import, a new cycle or a stale debt line makes it fail."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("layers", ROOT / "scripts" / "layers.py")
layers = importlib.util.module_from_spec(spec)
sys.modules["layers"] = layers  # dataclasses look their module up
spec.loader.exec_module(layers)


@pytest.fixture
def tree(tmp_path):
    """A copy of src/ and docs/architecture.md that a test may break."""
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("node_modules", "__pycache__"))
    shutil.copy(ROOT / "docs" / "architecture.md", tmp_path / "architecture.md")
    return tmp_path


def test_the_code_keeps_to_the_map():
    assert layers.check(ROOT / "src", ROOT / "docs" / "architecture.md") == []


def test_an_import_upwards_fails(tree):
    engine = tree / "src" / "uptake" / "engine" / "scorecard.py"
    engine.write_text(engine.read_text() + "\n\ndef _bad():\n    from ..web import views  # noqa\n")
    problems = layers.check(tree / "src", tree / "architecture.md")
    assert "uptake.engine.scorecard imports uptake.web.views, against the layers (engine → interfaces)" in problems[0]
    # and the views import the engine, so it is a cycle too
    assert problems[1].startswith("import cycle: ") and "uptake.engine.scorecard -> uptake.web.views" in problems[1]
    assert len(problems) == 2


def test_a_sibling_of_the_same_layer_fails(tree):
    reports = tree / "src" / "uptake" / "reports" / "build.py"
    reports.write_text(reports.read_text() + "\nimport uptake.alerts.rules  # noqa\n")
    [problem] = layers.check(tree / "src", tree / "architecture.md")
    assert "uptake.reports.build imports uptake.alerts.rules" in problem and "(outputs → outputs)" in problem


def test_a_view_importing_another_apps_view_fails(tree):
    views = tree / "src" / "uptake" / "web" / "compliance" / "views.py"
    views.write_text(views.read_text() + "\nfrom ..knowledge.views import case_study  # noqa\n")
    [problem] = layers.check(tree / "src", tree / "architecture.md")
    assert "uptake.web.compliance.views imports uptake.web.knowledge.views: views never import one another" in problem


def test_a_new_cycle_fails(tree):
    a = tree / "src" / "uptake" / "engine" / "cycle_a.py"
    a.write_text("from . import cycle_b\n")
    (tree / "src" / "uptake" / "engine" / "cycle_b.py").write_text("from .cycle_a import x\n")
    [problem] = layers.check(tree / "src", tree / "architecture.md")
    assert problem.startswith("import cycle: uptake.engine.cycle_a → uptake.engine.cycle_b")


def test_a_module_in_no_layer_fails(tree):
    (tree / "src" / "uptake" / "newthing.py").write_text("x = 1\n")
    assert layers.check(tree / "src", tree / "architecture.md") == [
        "uptake.newthing: in no layer of architecture.md (add it to the ```layers block)"]


def test_debt_that_is_paid_must_leave_the_list(tree):
    doc = tree / "architecture.md"
    doc.write_text(doc.read_text().replace("```layer-debt\n", "```layer-debt\nuptake.engine.scorecard -> uptake.web.views\n"))
    assert layers.check(tree / "src", doc) == [
        "architecture.md: layer-debt lists uptake.engine.scorecard -> uptake.web.views, which is gone: remove the line"]


def test_patterns_match_whole_parts_and_the_longest_wins():
    lay = layers.parse_layers(["0 foundation: uptake$ uptake.errors", "7 data: uptake.web.*.models",
                               "9 interfaces: uptake.web uptake.cli_*"])
    assert layers.layer_of("uptake", lay)[0].name == "foundation"
    assert layers.layer_of("uptake.engine", lay) is None
    assert layers.layer_of("uptake.errors_extra", lay) is None
    assert layers.layer_of("uptake.web.alerts.models", lay)[0].name == "data"
    assert layers.layer_of("uptake.web.alerts.views", lay)[0].name == "interfaces"
    assert layers.layer_of("uptake.cli_fetch", lay)[0].name == "interfaces"
