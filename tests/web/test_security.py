"""Findings of the independent attack (issue 24) that need no browser: JSON in HTML (24.4), CSV
formula injection (24.9), bounds on what users type (24.13), passwords (24.14). The browser side is
tests/e2e/test_security_browser.py; the lockout behind nginx is tests/web/test_proxy_lockout.py."""

from __future__ import annotations

import json
import re

import pytest


def test_chart_json_cannot_open_a_comment_or_a_script(portal_home):
    """24.4: with only "</" escaped, `<!--<script` in a spec put the HTML parser in a state where
    everything after it (charts, footer) was swallowed. Now no <, > or & reaches the page raw."""
    from uptake.web.templatetags.uptake import chart

    hostile = "Not for us <!--<script> & </script> -->"
    html = str(chart("c1", {"description": "d", "data": {"values": [{"detail": hostile}]}}))
    body = re.search(r'<script id="c1-spec" type="application/json">(.*?)</script>', html, re.S).group(1)
    assert not set("<>&") & set(body)
    assert json.loads(body)["data"]["values"][0]["detail"] == hostile
    assert html.count("<script") == 1 and html.endswith("</script>")


# 24.9: OWASP's rule, worked by hand: a text starting with = + - @ tab or CR gets a leading quote;
# numbers (even negative ones) and other text are written as they are.
HOSTILE = {
    "=HYPERLINK(\"http://evil.example\",\"x\")": "'=HYPERLINK(\"http://evil.example\",\"x\")",
    "+44 20 7946 0000": "'+44 20 7946 0000",
    "-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0",
    "@SUM(A1:A9)": "'@SUM(A1:A9)",
    "\t=1": "'\t=1",
    "-0.11": "-0.11",
    "NHS Example ICB": "NHS Example ICB",
    "a=b": "a=b",
}


def _read_csv(text: str) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(text, newline="")))


def test_api_csv_neutralises_formulas(portal_home):
    from uptake.web.api_common import csv_response

    r = csv_response([{"name": k, "value": -1.5} for k in HOSTILE], "x.csv")
    rows = _read_csv(r.content.decode())
    assert rows[0] == ["name", "value"]
    assert [row[0] for row in rows[1:]] == list(HOSTILE.values())
    assert {row[1] for row in rows[1:]} == {"-1.5"}


def test_scorecard_download_sql_neutralises_text_columns():
    """The published scorecard's CSV download is written by DuckDB's COPY: the same rule in SQL."""
    import duckdb

    from uptake import csvsafe

    con = duckdb.connect()
    con.execute("CREATE TABLE t (name VARCHAR, value DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(k, -2.5) for k in HOSTILE])
    got = [r[0] for r in con.execute(csvsafe.sql_select(con, "SELECT * FROM t")).fetchall()]
    assert got == list(HOSTILE.values())
    assert {r[1] for r in con.execute(csvsafe.sql_select(con, "SELECT * FROM t")).fetchall()} == {-2.5}


def test_cli_funnel_csv_neutralises_area_names(tmp_path):
    """`uptake funnel` echoes the area names of the user's file into its CSV."""
    from typer.testing import CliRunner

    from uptake.cli import app

    src = tmp_path / "table.csv"
    names = [k for k in HOSTILE if "\t" not in k and not k.startswith("-0")]
    src.write_text("area,numerator,denominator\n" + "".join(
        f'"{n.replace(chr(34), chr(34) * 2)}",{5 + i},{100 + i}\n' for i, n in enumerate(names)))
    result = CliRunner().invoke(app, ["funnel", str(src), "--type", "proportion"])
    assert result.exit_code == 0, result.output
    rows = _read_csv(result.stdout)
    assert [r[0] for r in rows[1:]] == [HOSTILE[n] for n in names]


def test_formulary_decision_files_neutralise_text(tmp_path):
    from datetime import date

    from uptake.sources.formulary import DecisionRow, write_formulary_decisions

    row = DecisionRow(formulary="F1", formulary_name="=F1 formulary", icbs=("QHM",), ta="TA275",
                      decision="rejected", decision_date=date(2022, 1, 5), restrictions="",
                      reason="@cost", evidence="+minutes", recorded_by="-x", line=0)
    out = tmp_path / "d.csv"
    write_formulary_decisions(out, [row])
    rows = _read_csv(out.read_text())
    assert rows[1][1] == "'=F1 formulary" and rows[1][7:10] == ["'@cost", "'+minutes", "'-x"]


# --- 23.6 and 24.13: the formulary decision form, and bounds on what people type -----------------


@pytest.fixture
def editor_web(db, pub):
    from django.test import Client

    from accounts_helpers import sign_in
    from uptake.web.accounts.users import add_user

    icb = sorted(o["code"] for o in pub.organisations() if o["level"] == "icb")[1]
    add_user("bounds.editor@example.org", "a long test password 3", editor_of=[icb])
    web = Client()
    sign_in(web, "bounds.editor@example.org", "a long test password 3")
    return web, icb


def test_editing_a_decision_keeps_its_date_and_nothing_is_preselected(editor_web):
    from uptake.web.compliance.models import Decision

    web, icb = editor_web
    url = f"/compliance/{icb}/TA275/"
    page = web.get(url).content.decode()
    assert "---------" not in page
    assert not re.search(r'<input[^>]*name="decision"[^>]*checked', page)
    r = web.post(url, {"decision": "included", "decision_date": "2013-06-01", "evidence": "APC minutes"})
    assert r.status_code == 302
    d = Decision.objects.get(formulary__icbs__icb=icb, ta="TA275")
    edit = web.get(f"{url}?edit={d.pk}").content.decode()
    field = re.search(r'<input[^>]*name="decision_date"[^>]*>', edit).group(0)
    assert 'type="date"' in field and 'value="2013-06-01"' in field  # what <input type=date> reads
    assert re.search(r'<input[^>]*value="included"[^>]*checked', edit)
    # saving the edit form unchanged keeps the date
    assert web.post(f"{url}?edit={d.pk}", {"decision": "included", "decision_date": "2013-06-01",
                                           "evidence": "APC minutes", "version": "1"}).status_code == 302
    d.refresh_from_db()
    assert d.decision_date.isoformat() == "2013-06-01"


@pytest.mark.parametrize("day, expected", [("2031-03-01", "more than 92 days after today"),
                                           ("9999-12-31", "more than 92 days after today"),
                                           ("0001-01-01", "before 2000")])
def test_decision_dates_a_real_user_never_types_are_refused(editor_web, day, expected):
    from uptake.web.compliance.models import Decision

    web, icb = editor_web
    r = web.post(f"/compliance/{icb}/TA275/", {"decision": "included", "decision_date": day})
    assert r.status_code == 200 and expected in r.content.decode()
    assert not Decision.objects.filter(formulary__icbs__icb=icb).exists()


def test_api_refuses_a_five_megabyte_reason_and_a_far_future_date(editor_web):
    import base64

    from uptake.web.compliance.models import Decision

    web, icb = editor_web
    auth = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"bounds.editor@example.org:a long test password 3")
            .decode()}
    body = {"icb": icb, "ta": "TA249", "decision": "rejected", "decision_date": "2022-02-01",
            "reason": "x" * 5_000_000}
    r = web.post("/api/v1/compliance/decisions", body, content_type="application/json", **auth)
    assert r.status_code == 400 and "5,000,000 characters" in r.json()["detail"]
    r = web.post("/api/v1/compliance/decisions", {**body, "reason": "cost", "decision_date": "9999-12-31"},
                 content_type="application/json", **auth)
    assert r.status_code == 400 and "days after today" in r.json()["detail"]
    assert not Decision.objects.filter(formulary__icbs__icb=icb).exists()


def test_knowledge_and_opportunity_texts_are_bounded(db, pub):
    from uptake.services.opportunities import load_opportunities
    from uptake.web import limits
    from uptake.web.accounts.users import add_user
    from uptake.web.knowledge import store as knowledge
    from uptake.web.opportunities import store as opportunities

    member = add_user("bounds.member@example.org", "x", check_password=False)
    with pytest.raises(knowledge.Invalid, match="200,001 characters"):
        knowledge.save_wiki(member, title="Big", body="y" * (limits.PAGE_TEXT + 1))
    with pytest.raises(knowledge.Invalid, match="characters"):
        knowledge.save_case_study(member, {"title": "T", "summary": "S", "scope": "general", "sector": "primary_care",
                                           "aims": "a" * 1_000_001, "how": "h", "learning": "l"},
                                  tas=[], organisations=[])
    icb = sorted(o["code"] for o in pub.organisations() if o["level"] == "icb")[0]
    five = [o.id for o in load_opportunities()[:5]]
    with pytest.raises(opportunities.Invalid, match="1,000,000 characters"):
        opportunities.choose(icb, {k: ("z" * 1_000_000 if i == 0 else "why") for i, k in enumerate(five)},
                             who="t")
    assert knowledge.save_wiki(member, title="Fine", body="y" * 60_000).version == 1


# --- 24.14: passwords -------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "qwertyuiopas", "abcabcabcabc", "123456789012",
                                      "zxcvbnmasdfg", "Qwerty123456!"])
def test_repetitive_and_keyboard_walk_passwords_are_refused(portal_home, password):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password(password)


@pytest.mark.parametrize("password", ["a long enough passphrase 7", "correct horse battery staple",
                                      "a wombat crosses the ward 31"])
def test_ordinary_passphrases_pass(portal_home, password):
    from django.contrib.auth.password_validation import validate_password

    validate_password(password)


def test_client_address_believes_only_the_proxys_own_entry(portal_home):
    from django.test import RequestFactory

    from uptake.web.accounts.client import client_address

    rf = RequestFactory()
    via_nginx = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.1.1.1, 203.0.113.9")
    assert client_address(via_nginx) == "203.0.113.9"  # nginx appended it; 10.1.1.1 is the client's claim
    direct = rf.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_address(direct) == "198.51.100.7"  # not from a trusted proxy: the header is ignored
    assert client_address(rf.get("/", REMOTE_ADDR="127.0.0.1")) == "127.0.0.1"
    assert client_address(rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="junk")) == "127.0.0.1"
