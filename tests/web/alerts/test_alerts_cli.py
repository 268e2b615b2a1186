"""`uptake alerts` on the command line (in this process, on the test portal's database): subscribe,
list, --dry-run, a send that fails (exit 1, one line saying what happened and what to do), the send
that recovers, a re-run that sends nothing, and the log."""

from __future__ import annotations

import json

from typer.testing import CliRunner

runner = CliRunner()


def _uptake(*args: str):
    from uptake.cli import app

    return runner.invoke(app, list(args))


def test_the_alerts_commands(world, smtp):
    from django.test import override_settings

    from uptake.web.alerts.models import Digest, Subscription

    as_of = world.as_of.isoformat()
    r = _uptake("alerts", "subscribe", "dave@people.test", "ta", "ta275")
    assert r.exit_code == 0 and "dave@people.test now follows TA275" in r.stdout
    assert Subscription.objects.filter(user__email="dave@people.test", kind="ta", target="TA275").exists()
    r = _uptake("alerts", "subscribe", "nobody@people.test", "ta", "TA275")
    assert r.exit_code == 1 and "no portal user 'nobody@people.test'" in r.stderr
    r = _uptake("alerts", "subscribe", "dave@people.test", "area", "cardiology")
    assert r.exit_code == 1 and "no clinical area 'cardiology'" in r.stderr
    listed = json.loads(_uptake("alerts", "list", "--json").stdout)
    assert ("dave@people.test", "ta", "TA275") in {(x["email"], x["kind"], x["target"]) for x in listed}

    dry = _uptake("alerts", "send", "--as-of", as_of, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["month"] == "2022-09" and plan["previous_month"] == "2022-08" and plan["sent"] == []
    planned = {(d["email"], a["key"]) for d in plan["digests"] for a in d["alerts"]}
    assert smtp.messages == [] and Digest.objects.count() == 0

    with override_settings(EMAIL_PORT=_closed_port()):
        down = _uptake("alerts", "send", "--as-of", as_of)
    assert down.exit_code == 1
    [line] = [x for x in down.stderr.splitlines() if x.startswith("error:")]
    assert "sending alerts failed for" in line and "0 sent and recorded, 1 failed" in line
    assert f"{len(plan['digests']) - 1} not attempted" in line and "run `uptake alerts send` again" in line

    up = _uptake("alerts", "send", "--as-of", as_of)
    assert up.exit_code == 0, up.stderr
    assert f"{len(plan['digests'])} digests sent" in up.stdout
    assert world.received(smtp) == planned
    again = _uptake("alerts", "send", "--as-of", as_of, "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["sent"] == []
    assert len(smtp.messages) == len(plan["digests"])

    log = json.loads(_uptake("alerts", "log", "--json").stdout)
    statuses = sorted(x["status"] for x in log)
    assert statuses == ["sent"] * len(plan["digests"])  # the failed one was sent again by the second run
    assert max(x["attempts"] for x in log) == 2


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
