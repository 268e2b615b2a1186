"""The command line as a user meets it: exit codes, one-line errors, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from uptake.cli import app

from epd_files import good_epd_rows, write_epd

runner = CliRunner()


def run(*args: str, home: Path):
    return runner.invoke(app, ["--home", str(home), *args])


def test_ingest_and_status_json(tmp_path):
    path = write_epd(tmp_path / "e.csv", good_epd_rows("202208") + good_epd_rows("202209"))
    result = run("ingest", str(path), "--json", home=tmp_path / "home")
    assert result.exit_code == 0, result.output
    loads = json.loads(result.stdout)
    assert loads[0]["status"] == "loaded" and loads[0]["rows"] == {"prescribing": 24}
    status = json.loads(run("status", "--json", home=tmp_path / "home").stdout)
    assert status["datasets"]["prescribing"]["first"] == "2022-08"
    assert status["datasets"]["prescribing"]["last"] == "2022-09"
    assert status["datasets"]["prescribing"]["rows"] == 24
    assert status["datasets"]["prescribing"]["sources"] == [str(path.resolve())]


def test_ingest_twice_says_unchanged(tmp_path):
    path = write_epd(tmp_path / "e.csv", good_epd_rows())
    run("ingest", str(path), home=tmp_path / "home")
    result = run("ingest", str(path), home=tmp_path / "home")
    assert result.exit_code == 0 and "unchanged" in result.stdout


def test_uptake_home_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("UPTAKE_HOME", str(tmp_path / "envhome"))
    path = write_epd(tmp_path / "e.csv", good_epd_rows())
    assert runner.invoke(app, ["ingest", str(path)]).exit_code == 0
    assert (tmp_path / "envhome" / "warehouse" / "state.json").exists()


def test_bad_file_one_line_error_no_traceback_and_nothing_changed(tmp_path):
    home = tmp_path / "home"
    good = write_epd(tmp_path / "good.csv", good_epd_rows())
    bad_rows = good_epd_rows()
    bad_rows[2][20] = "lots"
    bad = write_epd(tmp_path / "bad.csv", bad_rows)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    cmd = [sys.executable, "-m", "uptake", "--home", str(home), "ingest"]
    assert subprocess.run([*cmd, str(good)], env=env, capture_output=True).returncode == 0
    state = (home / "warehouse" / "state.json").read_bytes()
    proc = subprocess.run([*cmd, str(bad)], env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[0].startswith(f"error: {bad}:4: column ITEMS: 'lots' is not a whole number")
    assert (home / "warehouse" / "state.json").read_bytes() == state


def test_unknown_format_forced(tmp_path):
    path = write_epd(tmp_path / "e.csv", good_epd_rows())
    result = run("ingest", str(path), "--format", "nonsense", home=tmp_path / "home")
    assert result.exit_code == 1 and "unknown format 'nonsense'" in result.output


def test_formats_lists_every_reader():
    rows = json.loads(runner.invoke(app, ["formats", "--json"]).stdout)
    ids = {r["format"] for r in rows}
    assert {"epd", "epd_2017", "epd_extract", "prescribing_org", "scmd", "scmd_reduced"} <= ids
