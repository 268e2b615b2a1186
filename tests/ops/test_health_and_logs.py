"""/healthz checks the database, the publication and the warehouse and answers 503 naming what
failed; UPTAKE_LOG_FORMAT=json makes every log line one JSON object, with a line per request."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from ops.helpers import Instance, child

from uptake.web.logging import JsonFormatter, logging_config

# Each case changes one thing (settings, environment, a copy of the warehouse) and asks /healthz.
HEALTH = r'''
import json, os, shutil, sys
from pathlib import Path
from django.conf import settings
from django.test import Client, override_settings

tmp = Path(sys.argv[1])
original = Path(settings.WAREHOUSE)

def ask(warehouse=None, required=False, **more):
    if required:
        os.environ["UPTAKE_WAREHOUSE"] = str(warehouse)
    else:
        os.environ.pop("UPTAKE_WAREHOUSE", None)
    with override_settings(WAREHOUSE=warehouse or original, **more):
        r = Client().get("/healthz")
    return [r.status_code, r.json()]

def copy(name):
    target = tmp / name
    shutil.copytree(original, target)
    return target

answers = {"as installed": ask()}
answers["warehouse missing"] = ask(tmp / "nowhere", required=True)
answers["no warehouse beside the portal"] = ask(tmp / "nowhere")
wh = copy("file-gone")
state = json.loads((wh / "state.json").read_text())
gone = state["datasets"]["prescribing"][min(state["datasets"]["prescribing"])]["files"][0]
(wh / gone).unlink()
answers["a Parquet file gone"] = ask(wh, required=True) + [gone]
wh = copy("footer")
newest = state["datasets"]["prescribing"][max(state["datasets"]["prescribing"])]["files"][0]
data = (wh / newest).read_bytes()
(wh / newest).write_bytes(data[: len(data) // 2])
answers["a Parquet file cut short"] = ask(wh, required=True) + [newest]
wh = copy("state")
(wh / "state.json").write_text('{"version": 1, "datasets": {')
answers["state.json damaged"] = ask(wh, required=True)
wh = copy("catalogue")
(wh / "catalogue.duckdb").unlink()
answers["catalogue gone"] = ask(wh, required=True)
answers["nothing published"] = ask(PUBLISHED=tmp / "none" / "scorecard.duckdb")
print(json.dumps(answers))
'''


def test_healthz_names_what_failed(sqlite_source, tmp_path):
    source, _ = sqlite_source
    got = child(source, HEALTH, str(tmp_path))
    status, body = got["as installed"]
    assert status == 200 and body["ok"] is True and body["failed"] == []
    assert body["database"] == {"ok": True, "vendor": "sqlite"} and body["published"]["months"] == 3
    assert body["warehouse"]["checked"] is True and body["warehouse"]["datasets"] == 6

    status, body = got["warehouse missing"]
    assert status == 503 and body["ok"] is False and body["failed"] == ["warehouse"]
    assert str(tmp_path / "nowhere") in body["warehouse"]["error"] and "does not exist" in body["warehouse"]["error"]
    assert body["database"]["ok"] and body["published"]["ok"]

    status, body = got["no warehouse beside the portal"]  # a portal serving a publication made elsewhere
    assert status == 200 and body["warehouse"]["checked"] is False

    for case, words in (("a Parquet file gone", "is missing"), ("a Parquet file cut short", "Parquet")):
        status, body, name = got[case]
        assert status == 503 and body["failed"] == ["warehouse"], case
        assert name in body["warehouse"]["error"] and words in body["warehouse"]["error"], (case, body)
    status, body = got["state.json damaged"]
    assert status == 503 and body["failed"] == ["warehouse"] and body["warehouse"]["error"]
    status, body = got["catalogue gone"]
    assert status == 503 and body["failed"] == ["warehouse"] and "catalogue.duckdb is missing" in body["warehouse"]["error"]
    status, body = got["nothing published"]
    assert status == 503 and body["failed"] == ["published"] and "nothing published" in body["published"]["error"]


def test_healthz_names_a_database_that_does_not_answer(sqlite_source):
    source, _ = sqlite_source
    down = Instance(source.home, database_url="postgres://nobody@127.0.0.1:1/gone")
    got = child(down, 'import json\nfrom django.test import Client\nr = Client().get("/healthz")\n'
                      'print(json.dumps([r.status_code, r.json()]))')
    status, body = got
    assert status == 503 and body["failed"] == ["database"] and body["database"]["error"]
    assert body["published"]["ok"] and body["warehouse"]["ok"]


# --- logs ------------------------------------------------------------------------------------------

REQUESTS = r'''
import logging
from django.test import Client
c = Client()
c.get("/healthz")
c.get("/no-such-page/")
c.get("/static/uptake/portal.css")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("uptake.ops_test").exception("a handled failure, with %s", "arguments")
print("{}")
'''


def test_json_logs_are_one_object_per_line_with_the_requests(sqlite_source):
    source, _ = sqlite_source
    inst = Instance(source.home, extra={"UPTAKE_LOG_FORMAT": "json", "UPTAKE_LOG_LEVEL": "INFO"})
    done = subprocess.run([sys.executable, "-c", "import django\ndjango.setup()\n" + REQUESTS], env=inst.env(),
                          capture_output=True, text=True, timeout=300, cwd=inst.cwd())
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON
    for r in records:
        assert {"time", "level", "logger", "message"} <= set(r) and r["time"].endswith("Z")
    requests = {r["path"]: r for r in records if r["logger"] == "uptake.request"}
    assert set(requests) == {"/healthz", "/no-such-page/", "/static/uptake/portal.css"}
    assert [requests[p]["status"] for p in sorted(requests)] == [200, 404, 200]
    for r in requests.values():
        assert r["method"] == "GET" and r["level"] == "INFO" and isinstance(r["duration_ms"], float)
    [not_found] = [r for r in records if r["logger"] == "django.request"]
    assert not_found["status"] == 404 and not_found["path"] == "/no-such-page/" and not_found["level"] == "WARNING"
    [failure] = [r for r in records if r["logger"] == "uptake.ops_test"]
    assert failure["message"] == "a handled failure, with arguments" and failure["level"] == "ERROR"
    assert "ZeroDivisionError" in failure["exception"] and "Traceback" in failure["exception"]


def test_the_formatter_keeps_extras_and_writes_what_json_cannot_hold_as_text():
    record = logging.LogRecord("uptake.x", logging.WARNING, __file__, 1, "%d rows in %s", (3, "é"), None)
    record.dataset, record.months, record.where = "prescribing", ("2022-08", "2022-09"), object()
    got = json.loads(JsonFormatter().format(record))
    assert got["message"] == "3 rows in é" and got["level"] == "WARNING" and got["logger"] == "uptake.x"
    assert got["dataset"] == "prescribing" and got["months"] == ["2022-08", "2022-09"]
    assert got["where"].startswith("<object object")
    assert "exception" not in got and "args" not in got and "msg" not in got


def test_log_settings_are_checked():
    assert logging_config("json", "info")["formatters"]["uptake"] == {"()": "uptake.web.logging.JsonFormatter"}
    with pytest.raises(ValueError, match="UPTAKE_LOG_FORMAT='yaml'"):
        logging_config("yaml", "INFO")
    with pytest.raises(ValueError, match="UPTAKE_LOG_LEVEL='LOUD'"):
        logging_config("text", "loud")
