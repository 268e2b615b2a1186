"""The full downloads and the files written beside the publication: written whole or not at all,
and what a killed writer leaves is swept by the next publish (issue 23 item 2)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pyarrow.csv
import pyarrow.parquet


def test_publish_writes_both_downloads_with_every_row(published_tiny):
    import duckdb

    from uptake.services import downloads
    from uptake.services.published import Published

    with Published(published_tiny) as pub:
        stamp = pub.published_at
    con = duckdb.connect(str(published_tiny), read_only=True)
    rows = con.execute("SELECT count(*) FROM ta_scorecard").fetchone()[0]
    con.close()
    csv_file = downloads.scorecard_file(published_tiny, stamp, "csv")
    parquet_file = downloads.scorecard_file(published_tiny, stamp, "parquet")
    assert pyarrow.csv.read_csv(csv_file).num_rows == rows
    assert pyarrow.parquet.read_metadata(parquet_file).num_rows == rows
    assert not list(downloads.folder(published_tiny).glob(".*"))


WRITER = """
import sys, time
from pathlib import Path
from uptake.fsutil import atomic_file
with atomic_file(Path(sys.argv[1])) as tmp:
    tmp.write_bytes(b"half a file")
    print("writing", flush=True)
    time.sleep(60)
"""


def test_a_killed_writer_leaves_no_file_and_its_debris_is_swept(tmp_path):
    from uptake.fsutil import sweep_temporary

    target = tmp_path / "downloads" / "scorecard_x.csv"
    target.parent.mkdir()
    killed = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    running = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "other.csv")], stdout=subprocess.PIPE,
                               text=True)
    try:
        assert killed.stdout.readline().strip() == "writing" and running.stdout.readline().strip() == "writing"
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        debris = list(tmp_path.rglob(".*.tmp"))
        assert len(debris) == 2 and not target.exists()  # the reader never sees half a file
        time.sleep(0.1)
        removed = sweep_temporary(tmp_path)
        assert [p.name for p in removed] == [f".scorecard_x.csv.{killed.pid}.tmp"]
        assert [p.name for p in tmp_path.rglob(".*.tmp")] == [f".other.csv.{running.pid}.tmp"]  # still written
    finally:
        running.kill()
        running.wait(timeout=10)
