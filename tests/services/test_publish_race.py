"""Issue 24.6: `uptake publish` reads a pinned snapshot, so an ingest that commits while it runs
cannot delete files it is reading; the next publish removes the temporary files of killed ones.
Real processes: a publisher that holds its analysis open while a separate `uptake ingest` commits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from uptake.warehouse import Warehouse

from epd_files import good_epd_rows, write_epd

PUBLISHER = """
import sys
from pathlib import Path
from uptake.services.analysis import open_analysis
from uptake.services.publish import publish
from uptake.warehouse import Warehouse

with open_analysis(Warehouse(sys.argv[1])) as an:
    print("pinned", flush=True)
    sys.stdin.readline()  # the test lets an ingest commit here
    report = publish(an, Path(sys.argv[2]))
print("published", report.ta_rows, flush=True)
"""


def _uptake(*args: str) -> subprocess.CompletedProcess:
    uptake = Path(sys.executable).with_name("uptake")  # the console script, as a user runs it
    return subprocess.run([str(uptake), *args], capture_output=True, text=True, timeout=300)


def test_an_ingest_committing_during_publish_deletes_nothing_it_reads(tmp_path):
    home = tmp_path / "home"
    wh = Warehouse(home / "warehouse")
    wh.load(write_epd(tmp_path / "a.csv", good_epd_rows("202208") + good_epd_rows("202209")))
    first = set(wh.root.rglob("*.parquet"))
    out = home / "published" / "scorecard.duckdb"
    publisher = subprocess.Popen([sys.executable, "-c", PUBLISHER, str(wh.root), str(out)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert publisher.stdout.readline().strip() == "pinned"
        # a correction of the whole of 2022-09 commits while the publisher holds its snapshot
        rows = good_epd_rows("202209")
        for r in rows:
            r[20] = "9"
        ingest = _uptake("ingest", "--home", str(home), str(write_epd(tmp_path / "fix.csv", rows)))
        assert ingest.returncode == 0, ingest.stderr
        assert "replaced 12 prescribing rows of 2022-09" in ingest.stdout
        assert wh.state()["loads"][-1]["file"].endswith("fix.csv")  # committed ...
        assert first <= set(wh.root.rglob("*.parquet"))  # ... but the files the publisher reads are all there
        stdout, stderr = publisher.communicate("go\n", timeout=300)
    finally:
        if publisher.poll() is None:
            publisher.kill()
    assert publisher.returncode == 0, stderr
    assert stdout.startswith("published")
    # the snapshot is what was published: September's items as first loaded (1 to 6 each), not the fix's 9
    import duckdb

    con = duckdb.connect(str(out), read_only=True)
    assert con.execute("SELECT max(items) FROM ta_scorecard WHERE level = 'england' AND month = DATE '2022-09-01'"
                       ).fetchone()[0] < 9 * 12
    con.close()
    # the next load, with no reader pinned, sweeps the replaced file
    wh.load(write_epd(tmp_path / "oct.csv", good_epd_rows("202210")))
    left = set(wh.root.rglob("*.parquet"))
    assert not any("2022-09" in str(f) for f in first & left)


def test_a_publish_removes_the_temporary_files_of_killed_publishes(tmp_path):
    home = tmp_path / "home"
    wh = Warehouse(home / "warehouse")
    wh.load(write_epd(tmp_path / "a.csv", good_epd_rows("202209")))
    out = home / "published" / "scorecard.duckdb"
    # a publish killed while writing: its process is gone, its temporary file stays
    killed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    out.parent.mkdir(parents=True)
    dead = out.with_name(f".{out.name}.{killed.pid}.tmp")
    dead.write_bytes(b"\0" * 4096)
    dead_wal = out.with_name(f".{out.name}.{killed.pid}.tmp.wal")
    dead_wal.write_bytes(b"\0")
    # a publish still running (a live process) keeps its own
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = out.with_name(f".{out.name}.{running.pid}.tmp")
        live.write_bytes(b"\0")
        done = _uptake("publish", "--home", str(home))
        assert done.returncode == 0, done.stderr
        assert out.exists() and not dead.exists() and not dead_wal.exists() and live.exists()
    finally:
        running.kill()
        running.wait()
    assert os.path.exists(out)
