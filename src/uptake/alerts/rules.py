"""The alert rules: plain functions over the published scorecard, the catalogue, formulary
compliance and the knowledge portal's content, each returning `Alert`s.

An alert does not know who will read it: it says which follows — (kind, target) pairs, e.g.
("organisation", "QHM"), ("ta", "TA275"), ("area", "stroke"), ("compliance", "QHM") — it
answers, and `for_people` hands each person the alerts answering any of their subscriptions.
Every alert has a stable `key`: the same event gives the same key on every run, which is how a
person is never sent the same alert twice (the send log records the keys delivered).

The rules (docs/alerts.md says the same in words):

- uptake, for a TA in the data month M (the latest published month whose first day is on or
  before the as-of day) against the published month before it: an organisation that is below
  the 99.8% funnel limit allowing for overdispersion in M (flag_998_od == "low") and was not in
  the month before, or whose percentile among its peers fell by at least the drop (setting
  ALERT_PERCENTILE_DROP, default 10 points). Both months' rows must exist and neither may be
  suppressed (1 to 4 items), so an alert never reveals a hidden figure. Evaluated at a followed
  organisation's own level (every catalogue TA), and among ICBs for a followed TA or area.
  Key: uptake:<TA>:<level>:<org>:<YYYY-MM>.
- new TA, for an area: a catalogue TA whose first-seen day is within the 31 days up to as-of
  (as_of − 30 … as_of). First seen: the TA's NICE publication date for every TA present at the
  first run; a TA found by a later run is first seen on the later of that run's as-of day and its
  publication date. Key: new-ta:<TA>.
- formulary deadlines, for an ICB: each positive TA due soon (no decision, deadline 0–14 days
  away) or overdue (deadline passed, no decision in force), as services.compliance says.
  Key: deadline:<formulary, or icb-<ICB> when none is recorded>:<TA>:<status>, so each is sent
  once per formulary × TA × status.
- knowledge: a case study published (its published_on) or a barrier reported (created, not
  hidden) within the 31 days up to as-of, linked to a followed organisation or TA, or to a TA of a
  followed area. Keys: case-study:<id>, barrier:<id>.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from ..errors import UptakeError
from ..formats import day as day_text
from ..services.scorecard import DEFAULT_MIN_ITEMS, HEADLINE_LABEL, is_small
from ..services.search import LEVEL_NAMES

WINDOW_DAYS = 31  # "new": within the 31 days up to as-of, both ends included
DEFAULT_PERCENTILE_DROP = 10.0
KINDS = ("uptake", "deadline", "new_ta", "case_study", "barrier")  # also the order of a digest's sections
LEVEL_ORDER = ("region", "icb", "sub_icb", "pcn", "practice")
RECOMMENDATION_WORDS = {"recommended": "recommended", "optimised": "recommended for a subgroup (optimised)",
                        "cancer_drugs_fund": "recommended for use in the Cancer Drugs Fund",
                        "not_recommended": "not recommended", "only_in_research": "recommended only in research",
                        "terminated": "terminated appraisal"}


@dataclass(frozen=True)
class Follow:
    """A subscription as the rules see it."""

    id: int
    user_id: int
    kind: str  # organisation | ta | area | compliance
    target: str


@dataclass
class Alert:
    key: str
    kind: str  # one of KINDS
    title: str
    text: str
    url: str  # a path on the portal
    answers: frozenset[tuple[str, str]]  # the (kind, target) follows it answers
    rank: tuple = ()  # order within its section
    chart: Callable[[], dict] | None = field(default=None, repr=False, compare=False)
    group: str = ""  # a heading shared with similar alerts (the TA and level of uptake alerts)
    group_url: str = ""
    line: str = ""  # the alert in one line, under its group's heading
    urgent: bool = False  # charts go to urgent alerts first


def window(as_of: date) -> tuple[date, date]:
    """The first and last day of "within the 31 days up to as-of"."""
    return as_of - timedelta(days=WINDOW_DAYS - 1), as_of


def month_name(m: date) -> str:
    return f"{calendar.month_name[m.month]} {m.year}"


# --- the data month ---------------------------------------------------------------------------


def data_months(months: Iterable[date], as_of: date) -> tuple[date, date | None]:
    """The data month for `as_of` (the latest published month whose first day is on or before
    it) and the published month before that (None when there is none)."""
    ok = sorted(m for m in months if m <= as_of)
    if not ok:
        first = min(months, default=None)
        raise UptakeError(f"no published month on or before {as_of}"
                          + (f"; the first is {first:%Y-%m}" if first else "; nothing is published"))
    return ok[-1], (ok[-2] if len(ok) > 1 else None)


# --- uptake -----------------------------------------------------------------------------------


def _value(headline: str, v: float | None) -> str:
    """The headline value with its unit."""
    return _number(headline, v) + ("" if v is None else _unit(headline))


def _number(headline: str, v: float | None) -> str:
    """The headline value without its unit (_unit says it once)."""
    if v is None:
        return "no figure"
    if headline == "index":
        return f"{v:.0%}"
    if headline == "proportion":
        return f"{v:.1%}"
    return f"{v:,.3g}"


def _unit(headline: str) -> str:
    if headline == "index":
        return " of expected use"
    if headline == "proportion":
        return ""
    return " " + HEADLINE_LABEL.get(headline, headline).split(" (")[0]


def _ordinal(p: float) -> str:
    n = round(p)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class _Funnels:
    """Funnel plots for the alerts of one run, each (TA, level, month) computed once."""

    def __init__(self, pub):
        self.pub = pub
        self._variations: dict[tuple, dict] = {}

    def chart(self, ta: str, level: str, month: date, org: str, name: str) -> dict:
        from .. import charts
        from ..services.variation import variation

        key = (ta, level, month)
        if key not in self._variations:
            self._variations[key] = variation(self.pub, ta, level, f"{month:%Y-%m}").to_dict()
        v = self._variations[key]
        return charts.funnel(v, title=f"{ta}: {name} among {LEVEL_NAMES[level]}s, {month_name(month)}",
                             value_label=HEADLINE_LABEL.get(v["scorecard"]["headline"], "value"), highlight=org)


def uptake_alerts(pub, month: date, previous: date | None, *, organisations: dict[str, str],
                  tas: Iterable[str], drop: float = DEFAULT_PERCENTILE_DROP,
                  min_items: int = DEFAULT_MIN_ITEMS) -> list[Alert]:
    """Organisations that moved below the 99.8% funnel limit (allowing for overdispersion) or fell
    by `drop` percentile points or more, from `previous` to `month`: each organisation of
    `organisations` (code → its level) for every TA, and every ICB for the TAs in `tas`."""
    tas = sorted(set(tas))
    if previous is None or (not organisations and not tas):
        return []
    rows = pub.query(
        "SELECT ta, level, org, month, items, headline, value, england_value, percentile, flag_998_od "
        "FROM ta_scorecard WHERE month IN (?, ?) AND level <> 'england' "
        "AND (org IN (SELECT unnest(?)) OR (level = 'icb' AND ta IN (SELECT unnest(?))))",
        [month, previous, sorted(organisations), tas]).to_pylist()
    wanted_tas = set(tas)
    by_key: dict[tuple, dict] = {}
    for r in rows:
        if organisations.get(r["org"]) == r["level"] or (r["level"] == "icb" and r["ta"] in wanted_tas):
            by_key[(r["ta"], r["level"], r["org"], r["month"])] = r
    names = pub.names()
    funnels = _Funnels(pub)
    out = []
    for (ta_id, level, org, m), now in sorted(by_key.items()):
        if m != month:
            continue
        before = by_key.get((ta_id, level, org, previous))
        if before is None or is_small(now["items"], min_items) or is_small(before["items"], min_items):
            continue
        below = now["flag_998_od"] == "low" and before["flag_998_od"] != "low"
        fell = (now["percentile"] is not None and before["percentile"] is not None
                and before["percentile"] - now["percentile"] >= drop)
        if not (below or fell):
            continue
        ta = pub.catalogue.ta(ta_id)
        name = names.get((level, org)) or org
        peers = f"{LEVEL_NAMES[level]}s"
        reasons = []
        if below:
            reasons.append(f"it is now below the 99.8% funnel limit allowing for overdispersion, which it was not "
                           f"in {month_name(previous)}")
        if fell:
            reasons.append(f"its percentile among {peers} fell from the {_ordinal(before['percentile'])} to the "
                           f"{_ordinal(now['percentile'])} ({before['percentile'] - now['percentile']:.0f} points)")
        what = "moved below the 99.8% funnel limit" if below else \
            f"fell {before['percentile'] - now['percentile']:.0f} percentile points"
        text = (f"{ta.id} {ta.title}: in {month_name(month)} {name} ({org}) stood at "
                f"{_value(now['headline'], now['value'])} (England {_value(now['headline'], now['england_value'])}; "
                f"{month_name(previous)}: {_value(before['headline'], before['value'])}). "
                + "; and ".join(r[0].upper() + r[1:] if i == 0 else r for i, r in enumerate(reasons)) + ".")
        answers = {("organisation", org)} if organisations.get(org) == level else set()
        if level == "icb" and ta.id in wanted_tas:
            answers |= {("ta", ta.id), ("area", ta.clinical_area)}
        h = now["headline"]
        line = (f"{name} ({org}) {what}: {_number(h, now['value'])}{_unit(h)} "
                f"(England {_number(h, now['england_value'])}; {month_name(previous)}: "
                f"{_number(h, before['value'])})"
                + (f"; percentile {_ordinal(before['percentile'])} → {_ordinal(now['percentile'])}"
                   if now["percentile"] is not None and before["percentile"] is not None else "") + ".")
        url = f"/ta/{ta.id}/?level={level}&month={month:%Y-%m}"
        out.append(Alert(
            key=f"uptake:{ta.id}:{level}:{org}:{month:%Y-%m}", kind="uptake",
            title=f"{name} ({org}) {what} for {ta.id}", text=text, url=url, answers=frozenset(answers),
            rank=(ta.number, LEVEL_ORDER.index(level), 0 if below else 1, org),
            chart=(lambda t=ta.id, lv=level, o=org, n=name: funnels.chart(t, lv, month, o, n)),
            group=f"{ta.id} {ta.title}: {peers}, {month_name(month)}", group_url=url, line=line, urgent=below))
    return out


# --- new TAs ----------------------------------------------------------------------------------


def first_seen(catalogue, known: dict[str, date], as_of: date) -> dict[str, date]:
    """Every catalogue TA's first-seen day: as recorded in `known`; when nothing is recorded yet
    (the first run), its NICE publication date; else (a TA new to the catalogue) the later of
    `as_of` and its publication date."""
    out = {}
    for t in catalogue.technology_appraisals:
        if t.id in known:
            out[t.id] = known[t.id]
        elif not known:
            out[t.id] = t.published
        else:
            out[t.id] = max(as_of, t.published)
    return out


def new_ta_alerts(catalogue, seen: dict[str, date], as_of: date) -> list[Alert]:
    """A TA first seen within the 31 days up to as-of, for its clinical area's followers."""
    start, end = window(as_of)
    out = []
    for t in catalogue.technology_appraisals:
        day = seen.get(t.id)
        if day is None or not (start <= day <= end):
            continue
        area = catalogue.area(t.clinical_area)
        added = "" if day == t.published else f" It entered uptake's catalogue on {day_text(day)}."
        text = (f"NICE published {t.id} on {day_text(t.published)}: {t.title}. "
                f"{RECOMMENDATION_WORDS.get(t.recommendation, t.recommendation).capitalize()}"
                + (f"; funding deadline {day_text(t.funding_deadline)}." if t.recommendation != "not_recommended"
                   else ".") + added)
        out.append(Alert(key=f"new-ta:{t.id}", kind="new_ta", title=f"New NICE TA in {area.name}: {t.id}",
                         text=text, url=f"/ta/{t.id}/", answers=frozenset({("area", t.clinical_area)}),
                         rank=(day, t.id)))
    return out


# --- formulary deadlines ----------------------------------------------------------------------


def deadline_alerts(compliance, icbs: Iterable[str], formulary_names: dict[str, str] | None = None) -> list[Alert]:
    """Each TA due soon or overdue for a followed ICB (services.compliance statuses), one alert
    per formulary × TA × status (an ICB with no formulary recorded stands for its own)."""
    followed = set(icbs)
    names = formulary_names or {}
    groups: dict[tuple[str, str, str], list] = defaultdict(list)
    for s in compliance.statuses:
        if s.icb in followed and s.status in ("due_soon", "overdue"):
            groups[(s.formulary or f"icb-{s.icb}", s.ta, s.status)].append(s)
    out = []
    for (form, ta, status), statuses in sorted(groups.items()):
        s = statuses[0]
        who = ", ".join(f"{x.icb_name or x.icb} ({x.icb})" for x in statuses)
        if s.formulary:
            name = names.get(s.formulary) or s.formulary
            body = f"{name if 'formulary' in name.lower() else 'the ' + name + ' formulary'} (serving {who})"
        else:
            body = f"{who}, which has no formulary recorded,"
        if status == "overdue":
            title = f"Overdue: no formulary decision on {ta} for {statuses[0].icb_name or statuses[0].icb}"
            text = (f"{ta} {s.ta_title}: {body} has no decision in force, and the {s.deadline_days}-day deadline "
                    f"passed on {day_text(s.deadline)} ({s.days_overdue:,} days ago).")
        else:
            title = f"Due soon: formulary decision on {ta} for {s.icb_name or s.icb} by {day_text(s.deadline)}"
            text = (f"{ta} {s.ta_title}: {body} has no decision yet; NICE's {s.deadline_days}-day deadline is "
                    f"{day_text(s.deadline)}, in {s.days_left} day{'s' if s.days_left != 1 else ''}.")
        out.append(Alert(key=f"deadline:{form}:{ta}:{status}", kind="deadline", title=title, text=text,
                         url=f"/compliance/{s.icb}/{ta}/",
                         answers=frozenset(("compliance", x.icb) for x in statuses),
                         rank=(0 if status == "overdue" else 1, s.deadline, ta, form)))
    return out


# --- implementation knowledge -------------------------------------------------------------------


def knowledge_alerts(catalogue, as_of: date) -> list[Alert]:
    """Case studies published and barriers reported (not hidden) within the 31 days up to as-of,
    each answering the organisations and TAs it is linked to and those TAs' areas."""
    from django.urls import reverse
    from django.utils import timezone

    from ..web.knowledge.models import Barrier, CaseStudy

    start, end = window(as_of)
    areas = {t.id: t.clinical_area for t in catalogue.technology_appraisals}

    def answers(item) -> frozenset:
        out = set()
        for link in item.links.all():
            if link.kind == "org":
                out.add(("organisation", link.code))
            elif link.kind == "ta":
                out.add(("ta", link.code))
                if link.code in areas:
                    out.add(("area", areas[link.code]))
        return frozenset(out)

    def linked(item) -> str:
        codes = [link.code for link in item.links.all()]
        return f" Linked to {', '.join(codes)}." if codes else ""

    out = []
    studies = (CaseStudy.objects.filter(status=CaseStudy.PUBLISHED, published_on__range=(start, end))
               .prefetch_related("links"))
    for cs in studies:
        out.append(Alert(key=f"case-study:{cs.pk}", kind="case_study", title=f"New case study: {cs.title}",
                         text=f"{cs.summary}{linked(cs)} Published {day_text(cs.published_on)}.",
                         url=reverse("knowledge:case_study", args=[cs.slug]), answers=answers(cs),
                         rank=(cs.published_on, cs.pk)))
    # a day's margin each side in UTC, then the day in the portal's time zone decides
    around = (datetime.combine(start - timedelta(days=1), time.min, tzinfo=UTC),
              datetime.combine(end + timedelta(days=2), time.min, tzinfo=UTC))
    for b in Barrier.objects.filter(hidden=False, created_at__range=around).prefetch_related("links"):
        day = timezone.localdate(b.created_at)
        if not (start <= day <= end):
            continue
        out.append(Alert(key=f"barrier:{b.pk}", kind="barrier", title=f"New barrier reported: {b.title}",
                         text=f"A {b.get_type_display().lower()} barrier, reported {day_text(day)}.{linked(b)}",
                         url=reverse("knowledge:barrier", args=[b.pk]), answers=answers(b), rank=(day, b.pk)))
    return out


# --- who gets what -----------------------------------------------------------------------------


def for_people(alerts: Iterable[Alert], follows: Iterable[Follow]) -> dict[int, list[tuple[Alert, list[Follow]]]]:
    """user id → [(alert, the user's follows it answers)], each alert once per person, in digest
    order (by kind, then each kind's own order)."""
    by_pair: dict[tuple[str, str], list[Follow]] = defaultdict(list)
    for f in follows:
        by_pair[(f.kind, f.target)].append(f)
    out: dict[int, dict[str, tuple[Alert, list[Follow]]]] = defaultdict(dict)
    for a in alerts:
        for pair in a.answers:
            for f in by_pair.get(pair, ()):
                got = out[f.user_id].setdefault(a.key, (a, []))
                got[1].append(f)
    return {user: sorted(((a, sorted(fs, key=lambda f: f.id)) for a, fs in mine.values()),
                         key=lambda x: (KINDS.index(x[0].kind), x[0].rank, x[0].key))
            for user, mine in out.items()}
