"""A constructed world for the alert tests, on the tiny publication (tests/web/conftest.py): people
following organisations, a TA, areas and an ICB's formulary deadlines; formulary decisions; case
studies and barriers in and out of the window; known TAs but one. A real SMTP server (aiosmtpd,
tests/smtp_mailbox.py) receives what is sent. And the alerts each person should get, computed
here from the published scorecard file (SQL), the catalogue and the constructed content, by the
rules as docs/alerts.md states them, independently of uptake.alerts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import duckdb
import pytest

AS_OF = date(2022, 10, 5)  # data month 2022-09 (the last published), against 2022-08
MONTH, PREVIOUS = date(2022, 9, 1), date(2022, 8, 1)
DROP = 10.0
WINDOW_START = AS_OF - timedelta(days=30)
SITE = "http://portal.test"
LEVELS = ("practice", "pcn", "sub_icb", "icb", "region")
POSITIVE = ("recommended", "optimised", "cancer_drugs_fund")


@pytest.fixture(scope="session")
def smtp_server():
    from smtp_mailbox import Mailbox

    box = Mailbox("127.0.0.1").start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def smtp(smtp_server, portal_db):
    """The SMTP server, emptied and well-behaved, with the portal's mail sent to it by SMTP."""
    from django.test import override_settings

    smtp_server.clear()
    smtp_server.refuse = set()
    smtp_server.accept_limit = None
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST=smtp_server.host,
                           EMAIL_PORT=smtp_server.port, EMAIL_HOST_USER="", EMAIL_HOST_PASSWORD="",
                           EMAIL_USE_TLS=False, EMAIL_USE_SSL=False, EMAIL_TIMEOUT=10, SITE_URL=SITE,
                           DEFAULT_FROM_EMAIL="uptake alerts <alerts@uptake.test>", ALERT_PERCENTILE_DROP=DROP):
        yield smtp_server


# --- the independent expectation -----------------------------------------------------------------


def uptake_events(published, drop: float = DROP) -> tuple[set[tuple[str, str, str]], dict[str, str]]:
    """(TA, level, org) that moved below the 99.8% limit allowing for overdispersion, or fell at
    least `drop` percentile points, from PREVIOUS to MONTH, neither month's row suppressed; and
    each code's own (highest) level."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        rows = con.execute("""
            SELECT a.ta, a.level, a.org FROM ta_scorecard a
            JOIN ta_scorecard b ON b.ta = a.ta AND b.level = a.level AND b.org = a.org AND b.month = ?
            WHERE a.month = ? AND a.level <> 'england'
              AND NOT coalesce(a.items > 0 AND a.items < 5, false) AND NOT coalesce(b.items > 0 AND b.items < 5, false)
              AND ((a.flag_998_od = 'low' AND b.flag_998_od IS DISTINCT FROM 'low')
                   OR b.percentile - a.percentile >= ?)""", [PREVIOUS, MONTH, drop]).fetchall()
        levels = con.execute("SELECT code, list(level) FROM organisations GROUP BY code").fetchall()
    finally:
        con.close()
    return {tuple(r) for r in rows}, {code: max((x for x in lv if x in LEVELS), key=LEVELS.index)
                                      for code, lv in levels if any(x in LEVELS for x in lv)}


def peer_events(published) -> set[tuple[str, str, str]]:
    """(TA, level, org) lowest of itself and its published peers with a shown figure in MONTH and
    not in PREVIOUS, its own figure shown in both months."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        rows = con.execute("""
            WITH v AS (SELECT ta, level, org, month, value FROM ta_scorecard WHERE month IN (?, ?)
                       AND value IS NOT NULL AND NOT coalesce(items > 0 AND items < 5, false)),
            low AS (SELECT v.ta, v.level, v.org, v.month FROM v
                    JOIN peers p ON p.level = v.level AND p.org = v.org
                    JOIN v w ON w.ta = v.ta AND w.level = v.level AND w.org = p.peer AND w.month = v.month
                    GROUP BY v.ta, v.level, v.org, v.month, v.value HAVING bool_and(v.value < w.value))
            SELECT a.ta, a.level, a.org FROM low a
            JOIN v b ON b.ta = a.ta AND b.level = a.level AND b.org = a.org AND b.month = ?
            WHERE a.month = ? AND NOT EXISTS (SELECT 1 FROM low c WHERE c.ta = a.ta AND c.level = a.level
                                              AND c.org = a.org AND c.month = ?)""",
                           [PREVIOUS, MONTH, PREVIOUS, MONTH, PREVIOUS]).fetchall()
    finally:
        con.close()
    return {tuple(r) for r in rows}


@dataclass
class World:
    people: dict  # name → User
    follows: dict  # name → [(kind, target)]
    subscriptions: dict  # name → [Subscription]
    events: set
    own_level: dict
    area_of: dict
    knowledge: list  # (key, answers)
    deadlines: set  # keys for the ICB followed for compliance
    compliance_icb: str
    new_tas: dict  # key → area
    published: object = None  # the publication's path
    targets: dict = field(default_factory=dict)
    as_of: date = AS_OF
    site: str = SITE
    drop: float = DROP
    peer_events: set = field(default_factory=set)  # (TA, level, org): now lowest of its peers

    def events_for(self, drop: float) -> set:
        return uptake_events(self.published, drop)[0]

    @staticmethod
    def send(**kwargs):
        """uptake alerts send, as of AS_OF."""
        from uptake.alerts import send as sender

        return sender.run(AS_OF, **kwargs)

    @staticmethod
    def received(box) -> set[tuple[str, str]]:
        """(recipient, alert key) of every message the server received, from each HTML part."""
        out = set()
        for m in box.messages:
            for rcpt in m.recipients:
                out |= {(rcpt, key) for key in ALERT.findall(m.html)}
        return out

    def expected(self, events: set | None = None) -> set[tuple[str, str]]:
        """(e-mail, alert key) every active person should get."""
        events = self.events if events is None else events
        out = set()
        for name, follows in self.follows.items():
            user = self.people[name]
            if not user.is_active:
                continue
            for kind, target in follows:
                for ta, level, org in events:
                    key = f"uptake:{ta}:{level}:{org}:{MONTH:%Y-%m}"
                    if kind == "organisation" and org == target and level == self.own_level[target]:
                        out.add((user.email, key))
                    if level == "icb" and ((kind == "ta" and ta == target)
                                           or (kind == "area" and self.area_of[ta] == target)):
                        out.add((user.email, key))
                for ta, level, org in self.peer_events:
                    if kind == "organisation" and org == target and level == self.own_level[target]:
                        out.add((user.email, f"peers:{ta}:{level}:{org}:{MONTH:%Y-%m}"))
                for key, answers in self.knowledge:
                    if (kind, target) in answers:
                        out.add((user.email, key))
                if kind == "compliance" and target == self.compliance_icb:
                    out |= {(user.email, key) for key in self.deadlines}
                if kind == "area":
                    out |= {(user.email, key) for key, area in self.new_tas.items() if area == target}
        return out


def _noon(day: date):
    from django.utils import timezone

    return timezone.make_aware(datetime.combine(day, time(12, 0)))


@pytest.fixture(scope="session")
def published_events(portal_home):
    return uptake_events(portal_home)


@pytest.fixture
def world(db, portal_home, pub, published_events):
    from django.contrib.auth import get_user_model

    from uptake.web.alerts.models import KnownTA, Subscription
    from uptake.web.compliance.models import Decision, Formulary, FormularyIcb
    from uptake.web.knowledge.models import Barrier, CaseStudy, Link

    events, own_level = published_events
    cat = pub.catalogue
    area_of = {t.id: t.clinical_area for t in cat.technology_appraisals}
    icb_events = [e for e in events if e[1] == "icb"]
    by_org: dict[str, int] = {}
    for _, _, org in icb_events:
        by_org[org] = by_org.get(org, 0) + 1
    icb = max(sorted(by_org), key=by_org.get)  # the ICB with the most alerts
    by_ta: dict[str, int] = {}
    for ta, _, _ in icb_events:
        by_ta[ta] = by_ta.get(ta, 0) + 1
    ta = min(sorted(by_ta), key=by_ta.get)  # a TA with some ICB alerts, the fewest
    by_area: dict[str, int] = {}
    for t, _, _ in icb_events:
        by_area[area_of[t]] = by_area.get(area_of[t], 0) + 1
    area = min(sorted(by_area), key=by_area.get)
    practice = sorted(o for t, lv, o in events if lv == "practice" and own_level[o] == "practice")[0]
    noisy = {org for _, _, org in events}
    quiet = sorted(o["code"] for o in pub.organisations() if o["level"] != "england"
                   and own_level.get(o["code"]) == o["level"] and o["code"] not in noisy)[0]
    icbs = sorted(o["code"] for o in pub.organisations() if o["level"] == "icb")
    compliance_icb = next(c for c in icbs if c != icb)
    assert ta in area_of and area in {a.id for a in cat.areas}

    User = get_user_model()
    people = {name: User.objects.create_user(f"{name}@people.test", f"{name}@people.test", None,
                                             is_active=name != "eve")  # eve has not confirmed her address
              for name in ("ann", "bob", "carol", "dave", "eve")}
    follows = {
        "ann": [("organisation", icb), ("ta", ta)],
        "bob": [("organisation", practice), ("area", area)],
        "carol": [("compliance", compliance_icb), ("area", "breast_cancer")],
        "dave": [("organisation", quiet)],
        "eve": [("ta", ta)],
    }
    subscriptions = {name: [Subscription.objects.create(user=people[name], kind=k, target=t) for k, t in fs]
                     for name, fs in follows.items()}

    # formulary decisions for the compliance ICB: everything included on time but three TAs
    # without a decision (two overdue, one due soon) and one rejected
    form = Formulary.objects.create(code="F-TEST", name="Test formulary")
    FormularyIcb.objects.create(icb=compliance_icb, formulary=form)
    undecided = {"TA786", "TA275", "TA810"}
    for t in cat.technology_appraisals:
        if t.recommendation not in POSITIVE or t.published > AS_OF or t.id in undecided:
            continue
        if t.id == "TA249":
            Decision.objects.create(formulary=form, ta=t.id, decision="rejected", decision_date=t.published)
        else:
            Decision.objects.create(formulary=form, ta=t.id, decision="included",
                                    decision_date=t.published + timedelta(days=10))
    deadlines = set()
    for t in cat.technology_appraisals:
        if t.id not in undecided or t.recommendation not in POSITIVE or t.published > AS_OF:
            continue
        left = (t.published + timedelta(days=t.funding_deadline_days) - AS_OF).days
        if left < 0:
            deadlines.add(f"deadline:F-TEST:{t.id}:overdue")
        elif left <= 14:
            deadlines.add(f"deadline:F-TEST:{t.id}:due_soon")
    assert deadlines == {"deadline:F-TEST:TA786:overdue", "deadline:F-TEST:TA275:overdue",
                         "deadline:F-TEST:TA810:due_soon"}

    # every TA known but TA810, as if it had just entered the catalogue
    for t in cat.technology_appraisals:
        if t.id != "TA810":
            KnownTA.objects.create(ta=t.id, first_seen=t.published)
    new_tas = {"new-ta:TA810": area_of["TA810"]}

    # knowledge: in the window and linked, and four that must not alert
    author = people["dave"]
    fields = dict(summary="One sentence.", sector="primary_care", aims="a", how="b", learning="c", author=author)
    other_ta = sorted(t for t, a in area_of.items() if a == area)[0]
    knowledge = []

    def case_study(slug, status, published_on, links):
        cs = CaseStudy.objects.create(slug=slug, title=f"Case {slug}", status=status, published_on=published_on,
                                      **fields)
        for kind, code in links:
            Link.objects.create(kind=kind, code=code, case_study=cs)
        return cs

    def barrier(title, day, links, hidden=False):
        b = Barrier.objects.create(title=title, type="capacity", description="d", author=author, hidden=hidden)
        Barrier.objects.filter(pk=b.pk).update(created_at=_noon(day))
        for kind, code in links:
            Link.objects.create(kind=kind, code=code, barrier=b)
        return b

    cs = case_study("in-window", CaseStudy.PUBLISHED, AS_OF - timedelta(days=3), [("ta", ta), ("org", practice)])
    knowledge.append((f"case-study:{cs.pk}", {("ta", ta), ("organisation", practice), ("area", area_of[ta])}))
    case_study("too-old", CaseStudy.PUBLISHED, WINDOW_START - timedelta(days=1), [("ta", ta)])
    case_study("not-published", CaseStudy.SUBMITTED, None, [("ta", ta)])
    b = barrier("In the window", WINDOW_START, [("ta", other_ta)])
    knowledge.append((f"barrier:{b.pk}", {("ta", other_ta), ("area", area)}))
    barrier("Hidden", AS_OF - timedelta(days=2), [("ta", ta)], hidden=True)
    barrier("After as-of", AS_OF + timedelta(days=1), [("ta", ta)])

    assert User.objects.filter(email__endswith="@people.test").count() == 5
    return World(people=people, follows=follows, subscriptions=subscriptions, events=events, own_level=own_level,
                 area_of=area_of, knowledge=knowledge, deadlines=deadlines, compliance_icb=compliance_icb,
                 new_tas=new_tas, published=portal_home, peer_events=peer_events(portal_home), targets={"icb": icb, "ta": ta, "area": area, "practice": practice,
                                           "quiet": quiet})


ALERT = re.compile(r'data-alert="([^"]+)"')
