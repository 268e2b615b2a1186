"""Formulary compliance on the portal: a decision file imported, the national table, an ICB's
overdue list, a TA page's section, the editors' form with its history and conflict check, and
the API — each checked against the rules applied by hand to the same decisions."""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta

import pytest
from accounts_helpers import sign_in

AS_OF = date(2022, 9, 30)


@pytest.fixture
def icbs(pub):
    """Three ICBs of the tiny publication."""
    codes = sorted(o["code"] for o in pub.organisations() if o["level"] == "icb")
    assert len(codes) >= 3
    return codes[:3]


def write_decisions(path, rows) -> None:
    lines = ["formulary,formulary_name,icbs,ta,decision,decision_date,restrictions,reason,evidence,recorded_by"]
    lines += [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def loaded(db, icbs, tmp_path):
    """ICB A's formulary included TA275 on day 30 and TA733 on day 45 (late: a 30-day TA); ICB B's
    rejected TA275; ICB C has no formulary recorded."""
    from uptake.web.compliance.store import import_file

    a, b, _ = icbs
    p = tmp_path / "formulary.csv"
    write_decisions(p, [
        ["FA", "Formulary A", a, "TA275", "included", "2013-03-29", "", "", "APC minutes 3", "pharmacist"],
        ["FA", "Formulary A", a, "TA733", "included", "2021-11-20", "", "", "", ""],
        ["FB", "Formulary B", b, "TA275", "rejected", "2013-04-10", "", "awaiting local pathway", "", ""],
    ])
    report = import_file(p, who="test")
    assert (report.created, report.changed, report.unchanged) == (3, 0, 0)
    return p


def test_import_is_idempotent_and_logs_every_change(loaded, icbs):
    from uptake.web.compliance.models import DecisionChange
    from uptake.web.compliance.store import import_file

    again = import_file(loaded, who="test")
    assert (again.created, again.changed, again.unchanged) == (0, 0, 3)
    assert DecisionChange.objects.count() == 3
    text = loaded.read_text().replace("APC minutes 3", "APC minutes 4")
    loaded.write_text(text)
    changed = import_file(loaded, who="test")
    assert (changed.created, changed.changed, changed.unchanged) == (0, 1, 2)
    change = DecisionChange.objects.filter(action="changed").get()
    assert (change.before["evidence"], change.after["evidence"], change.via) == ("APC minutes 3", "APC minutes 4", "file")
    assert change.detail == "formulary.csv, line 2"


def test_a_bad_file_loads_nothing(db, icbs, tmp_path):
    from uptake.errors import InputError
    from uptake.web.compliance.models import Decision
    from uptake.web.compliance.store import import_file

    p = tmp_path / "bad.csv"
    write_decisions(p, [["FA", "Formulary A", icbs[0], "TA275", "included", "2013-03-29", "", "", "", ""],
                        ["FA", "Formulary A", icbs[0], "TA249", "includd", "2013-03-29", "", "", "", ""]])
    with pytest.raises(InputError) as exc:
        import_file(p, who="test")
    assert "bad.csv:3" in str(exc.value) and "decision" in str(exc.value)
    assert Decision.objects.count() == 0


def test_national_page_ranks_icbs_as_the_rules_do(client, loaded, icbs):
    from uptake.services import compliance as rules
    from uptake.web.compliance import queries as cq

    c = cq.current(AS_OF)
    a, b, cc = icbs
    mine = {s.ta: s.status for s in c.for_icb(a)}
    assert mine["TA275"] == "on_time" and mine["TA733"] == "late"
    assert {s.ta: s.status for s in c.for_icb(b)}["TA275"] == "rejected"
    assert all(s.status in ("overdue", "not_yet_due") for s in c.for_icb(cc))
    # By hand: A has TA275 on time, TA733 late and every other positive TA overdue.
    reqs = rules.requirements(c and cq.published().catalogue, AS_OF)
    due = [r for r in reqs if r.deadline < AS_OF]
    summary = {s.icb: s for s in c.summaries()}[a]
    assert summary.on_time_pct == pytest.approx(100 / len(due))
    assert summary.median_days == pytest.approx((30 + 45) / 2)
    assert summary.rank == 1

    html = client.get(f"/compliance/?as_of={AS_OF}").content.decode()
    first = re.search(r'<tr class="nhsuk-table__row" data-icb="(\w+)">', html).group(1)
    assert first == a
    assert f"{100 / len(due):.0f}%" in html


def test_icb_page_lists_what_is_overdue(client, loaded, icbs):
    b = icbs[1]
    html = client.get(f"/compliance/{b}/?as_of={AS_OF}").content.decode()
    overdue = html[html.index('id="overdue-list"'):html.index('id="due-soon"')]
    assert "TA275" in overdue and "Rejected (non-compliant)" in overdue
    assert "TA249" in overdue  # no decision at all, long past its deadline
    assert "due-soon-list\">None." in html.replace("<p id=\"", "")


def test_replay_as_of_an_earlier_day(client, loaded, icbs):
    a = icbs[0]
    # On 2013-03-01 TA275 (published 2013-02-27) was not yet due for anyone; A had not decided.
    got = client.get(f"/api/v1/compliance?icb={a}&as_of=2013-03-01").json()
    assert [(r["ta"], r["status"], r["days_left"]) for r in got if r["ta"] == "TA275"] == [("TA275", "not_yet_due", 88)]
    later = client.get(f"/api/v1/compliance?icb={a}&ta=TA275&as_of=2013-05-20").json()
    assert [(r["status"], r["included_on"], r["days_to_inclusion"]) for r in later] == [("on_time", "2013-03-29", 30)]


def test_ta_page_shows_which_icbs_included_it_beside_uptake(client, loaded, icbs, monkeypatch):
    monkeypatch.setenv("UPTAKE_TODAY", AS_OF.isoformat())
    html = client.get("/ta/TA275/").content.decode()
    section = html[html.index('id="formulary"'):html.index('id="h-ranking"')]
    assert f'data-icb="{icbs[0]}" data-status="on_time"' in section
    assert f'data-icb="{icbs[1]}" data-status="rejected"' in section
    assert "Formulary is a barrier: not included" in section


def _auth(email: str, password: str) -> dict:
    token = base64.b64encode(f"{email}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


@pytest.fixture
def editor(db, icbs):
    from uptake.web.accounts.users import add_user

    return add_user("editor@example.org", "a long test password 1", editor_of=[icbs[2]])


def test_only_the_icbs_editors_can_record_and_every_change_is_kept(client, editor, icbs):
    from django.test import Client

    from uptake.web.compliance.models import Decision, DecisionChange

    c = icbs[2]
    url = f"/compliance/{c}/TA275/"
    body = {"decision": "included", "decision_date": "2013-06-01", "restrictions": "", "reason": "", "evidence": "x"}
    assert Client().post(url, body).status_code == 403
    web = Client()
    sign_in(web, "editor@example.org", "a long test password 1")
    assert web.post(f"/compliance/{icbs[0]}/TA275/", body).status_code == 403  # not their ICB
    page = web.get(url).content.decode()
    assert 'id="decision-form"' in page
    r = web.post(url, body)
    assert r.status_code == 302
    d = Decision.objects.get(formulary__icbs__icb=c, ta="TA275")
    assert (d.decision, d.decision_date, d.version) == ("included", date(2013, 6, 1), 1)
    # day 94 of a 90-day TA: late by 4 days
    got = web.get(f"/api/v1/compliance?icb={c}&ta=TA275&as_of=2022-09-30").json()
    assert (got[0]["status"], got[0]["days_late"]) == ("late", 4)

    # a second editor's stale form is refused, not silently overwritten
    change = {**body, "decision_date": "2013-05-01", "version": "1"}
    assert web.post(f"{url}?edit={d.pk}", change).status_code == 302
    stale = web.post(f"{url}?edit={d.pk}", {**body, "evidence": "y", "version": "1"})
    assert stale.status_code == 200 and "changed by" in stale.content.decode()
    d.refresh_from_db()
    assert (d.decision_date, d.version, d.evidence) == (date(2013, 5, 1), 2, "x")

    # a reason is required for a rejection
    bad = web.post(url, {**body, "decision": "rejected", "decision_date": "2014-01-01"})
    assert bad.status_code == 200 and "a reason is needed" in bad.content.decode().lower()

    log = list(DecisionChange.objects.filter(formulary=d.formulary_id, ta="TA275").order_by("at", "id"))
    # attributed by display name (no name given: the ICB they edit), never by e-mail address
    assert [(x.action, x.via, x.who) for x in log] == [("created", "web", f"Editor of {c}"),
                                                     ("changed", "web", f"Editor of {c}")]
    assert (log[1].before["decision_date"], log[1].after["decision_date"]) == ("2013-06-01", "2013-05-01")
    history = web.get(url).content.decode()
    assert 'id="history-table"' in history and "was included on 2013-06-01" in history


def test_api_records_with_basic_auth_and_refuses_others(client, editor, icbs):
    c = icbs[2]
    body = {"icb": c, "ta": "TA249", "decision": "not_applicable", "decision_date": "2012-02-01",
            "reason": "hospital only"}
    assert client.post("/api/v1/compliance/decisions", body, content_type="application/json").status_code == 401
    auth = _auth("editor@example.org", "a long test password 1")
    r = client.post("/api/v1/compliance/decisions", body, content_type="application/json", **auth)
    assert r.status_code == 201, r.content
    made = r.json()
    assert (made["decision"], made["version"]) == ("not_applicable", 1)
    other = client.post("/api/v1/compliance/decisions", {**body, "icb": icbs[0]}, content_type="application/json",
                        **auth)
    assert other.status_code == 403
    stale = client.put(f"/api/v1/compliance/decisions/{made['id']}", {**body, "reason": "x", "version": 7},
                       content_type="application/json", **auth)
    assert stale.status_code == 409
    ok = client.put(f"/api/v1/compliance/decisions/{made['id']}", {**body, "reason": "NHSE", "version": 1},
                    content_type="application/json", **auth)
    assert ok.status_code == 200 and ok.json()["version"] == 2
    hist = client.get(f"/api/v1/compliance/decisions/{made['id']}/history").json()
    assert [h["action"] for h in hist] == ["changed", "created"]
    st = client.get(f"/api/v1/compliance?icb={c}&ta=TA249&as_of=2022-09-30").json()
    assert st[0]["status"] == "not_applicable" and st[0]["reason"] == "NHSE"


def test_csv_of_the_icb_table(client, loaded, icbs):
    r = client.get(f"/api/v1/compliance/icbs?as_of={AS_OF}&format=csv")
    assert r["Content-Type"].startswith("text/csv")
    lines = r.content.decode().splitlines()
    assert lines[0].startswith("icb,name,formulary") and lines[1].startswith(icbs[0] + ",")


def test_a_change_renews_cached_pages(client, loaded, icbs, tmp_path):
    from uptake.web.compliance.store import import_file

    url = f"/compliance/{icbs[1]}/?as_of={AS_OF}"
    before = client.get(url)
    assert "Rejected (non-compliant)" in before.content.decode()
    p = tmp_path / "more.csv"
    write_decisions(p, [["FB", "Formulary B", icbs[1], "TA275", "included", "2013-08-01", "", "", "", ""]])
    import_file(p, who="test")
    after = client.get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    assert 'data-ta="TA275"' in after.content.decode()
    row = after.content.decode().split('data-ta="TA275"')[1].split("</tr>")[0]
    assert "Late" in row and "Rejected" not in row


def test_deadlines_are_counted_in_days_from_publication():
    from uptake.catalogue import load_catalogue

    t = load_catalogue().ta("TA275")
    assert t.published + timedelta(days=90) == date(2013, 5, 28)
