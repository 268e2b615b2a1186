"""A run chart: one organisation's monthly series for a TA (or catalogue measure) as an XmR chart
with NHS England's "Making Data Count" rules (engine/stats/spc.py), each month labelled
improvement, concern or common cause, and a plain-English account of what changed.

The series is the scorecard's headline value (`value`) of that organisation in each month, read
from any `Source` (the engine or the published tables), so the chart shows the figures
`uptake scorecard` prints. For a TA the series starts in the month NICE published it; higher
uptake is better. For a measure, the measure's `direction` says which way is better.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ..catalogue.measures import Measure
from ..engine.hierarchy import ENGLAND, ENGLAND_CODE
from ..engine.prepare import in_primary_care
from ..engine.scorecard import SECONDARY_LEVELS
from ..engine.stats import spc
from ..errors import UptakeError
from .analysis import Source, check_level
from .funnels import measure_headline
from .scorecard import DEFAULT_MIN_ITEMS, HEADLINE_LABEL, is_small

RULES = ("outside", "two_of_three", "run", "trend")  # spc's order of precedence, strongest first
RULE_LABEL = {
    "outside": "a point outside the process limits",
    "two_of_three": "2 of 3 points beyond the 2σ line on one side",
    "run": f"a run of {spc.RUN_LENGTH} or more points on one side of the mean",
    "trend": f"a trend of {spc.TREND_LENGTH} or more points rising or falling",
}
FEW_POINTS = 12  # below this, read the limits with care (see docs/metrics.md, run charts)
DIRECTION_IMPROVEMENT: dict[str, spc.Improvement | None] = {"higher": "increase", "lower": "decrease", "none": None}


@dataclass
class RunPoint:
    month: str
    value: float | None  # None: no value, or suppressed; such a month is not charted
    charted: bool
    moving_range: float | None
    special_cause: bool
    side: int  # +1 high, −1 low, 0 none (the side of the strongest rule flagging it)
    label: str  # improvement, concern, special cause high/low, common cause, or "not charted"
    rules: list[str] = field(default_factory=list)  # every rule flagging the point
    suppressed: bool = False


@dataclass
class Signal:
    """One special cause: a rule's run of flagged points, for the summary."""

    rule: str
    side: int
    label: str
    start: str
    end: str
    points: int
    ongoing: bool  # it includes the latest charted month
    text: str


@dataclass
class RunChart:
    subject: str = ""
    title: str = ""
    kind: str = ""  # 'ta' or 'measure'
    org: str = ""
    name: str | None = None
    level: str = ""
    headline: str = ""
    headline_label: str = ""
    improvement: str | None = None  # 'increase', 'decrease' or None (no direction)
    membership: str = ""
    engine: str = ""
    min_items: int = DEFAULT_MIN_ITEMS
    baseline: int = 0  # charted points that set the limits
    baseline_from: str | None = None
    baseline_to: str | None = None
    mean: float | None = None
    mr_bar: float | None = None
    sigma: float | None = None
    upper_limit: float | None = None
    lower_limit: float | None = None
    upper_2sigma: float | None = None
    lower_2sigma: float | None = None
    points: list[RunPoint] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    summary: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def latest(self) -> RunPoint | None:
        charted = [p for p in self.points if p.charted]
        return charted[-1] if charted else None


def _num(v) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def _segments(sides: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, end, side) of each maximal block of equal non-zero sides (end inclusive)."""
    out, start = [], 0
    n = sides.size
    while start < n:
        end = start
        while end + 1 < n and sides[end + 1] == sides[start]:
            end += 1
        if sides[start] != 0:
            out.append((start, end, int(sides[start])))
        start = end + 1
    return out


def _trends(x: np.ndarray, length: int) -> list[tuple[int, int, int]]:
    """(start, end, side) of each maximal stretch of ≥ `length` points, each strictly above (+1)
    or below (−1) the one before: the trend rule's stretches, found again to describe them."""
    if x.size < 2:
        return []
    steps = np.sign(np.diff(x)).astype(int)
    return [(s, e + 1, side) for s, e, side in _segments(steps) if e - s + 2 >= length]


def _clusters(flagged: np.ndarray, gap: int) -> list[tuple[int, int, int]]:
    """(first, last, count) of flagged indices grouped when at most `gap` apart."""
    idx = np.flatnonzero(flagged)
    out: list[tuple[int, int, int]] = []
    for i in idx:
        if out and i - out[-1][1] <= gap:
            first, _, k = out[-1]
            out[-1] = (first, int(i), k + 1)
        else:
            out.append((int(i), int(i), 1))
    return out


def _label(side: int, improvement: str | None) -> str:
    if side == 0:
        return spc.COMMON
    if improvement is None:
        return spc.HIGH if side > 0 else spc.LOW
    good = 1 if improvement == "increase" else -1
    return spc.IMPROVEMENT if side == good else spc.CONCERN


def _span(months: list[str], start: int, end: int, last: int) -> str:
    if start == end:
        return f"in {months[start]}"
    return f"since {months[start]}" if end == last else f"from {months[start]} to {months[end]}"


def _signals(months: list[str], x: np.ndarray, res: spc.XmRResult, improvement: str | None) -> list[Signal]:
    """Each rule's special causes as sentences, in time order."""
    last = x.size - 1
    found: list[Signal] = []

    def add(rule: str, start: int, end: int, side: int, points: int, text: str) -> None:
        label = _label(side, improvement)
        found.append(Signal(rule=rule, side=side, label=label, start=months[start], end=months[end], points=points,
                            ongoing=end == last, text=f"{text} ({label})"))

    outside = np.where(x > res.upper_limit, 1, np.where(x < res.lower_limit, -1, 0))
    for s, e, side in _segments(outside):
        where = "above the upper" if side > 0 else "below the lower"
        n = e - s + 1
        count = "" if n == 1 else f"{n} months in a row "
        add("outside", s, e, side, n, f"{count}{where} process limit {_span(months, s, e, last)}".strip())
    for side, beyond in ((1, x > res.upper_2sigma), (-1, x < res.lower_2sigma)):
        flagged = beyond & res.two_of_three
        for s, e, k in _clusters(flagged, gap=2):
            where = "above the upper" if side > 0 else "below the lower"
            add("two_of_three", s, e, side, k,
                f"{k} of {e - s + 1} months {where} 2σ line, close to the limit, {_span(months, s, e, last)}")
    centre = np.sign(x - res.mean).astype(int)
    for s, e, side in _segments(centre):
        if e - s + 1 >= spc.RUN_LENGTH:
            where = "above" if side > 0 else "below"
            add("run", s, e, side, e - s + 1,
                f"{e - s + 1} months in a row {where} the mean {_span(months, s, e, last)}")
    for s, e, side in _trends(x, spc.TREND_LENGTH):
        way = "rising" if side > 0 else "falling"
        add("trend", s, e, side, e - s + 1, f"{e - s + 1} months in a row {way} {_span(months, s, e, last)}")
    return sorted(found, key=lambda g: (g.start, RULES.index(g.rule)))


def run_chart(months: list[str], values: list[float | None], *, improvement: spc.Improvement | None = "increase",
              baseline: int | None = None, suppressed: frozenset[str] | set[str] = frozenset()) -> RunChart:
    """The XmR chart of a monthly series (months as YYYY-MM, oldest first). Months whose value
    is None are left out of the chart (so the months either side count as consecutive) and
    named in a note; those in `suppressed` (values hidden by disclosure rules, given as None)
    are marked so instead. `baseline`: the first `baseline` charted months set the limits
    (default: all of them)."""
    if len(months) != len(values):
        raise ValueError("months and values differ in length")
    if improvement not in (None, "increase", "decrease"):
        raise ValueError(f"improvement {improvement!r}: expected 'increase', 'decrease' or None")
    keep = [i for i, v in enumerate(values) if v is not None and np.isfinite(v)]
    chart = RunChart(improvement=improvement)
    kept = set(keep)
    missing = [months[i] for i in range(len(months)) if i not in kept and months[i] not in suppressed]
    x = np.array([values[i] for i in keep], dtype=float)
    charted = [months[i] for i in keep]
    if baseline is not None and not 2 <= baseline <= len(keep):
        raise UptakeError(f"--baseline {baseline}: expected between 2 and the number of months charted ({len(keep)})")
    points = {m: RunPoint(month=m, value=None, charted=False, moving_range=None, special_cause=False, side=0,
                          label="suppressed" if m in suppressed else "not charted", suppressed=m in suppressed)
              for m in months}
    if len(keep) < 2:
        chart.points = list(points.values())
        chart.summary = (f"Too few months with a value to chart ({len(keep)}); an XmR chart needs at least 2, "
                         f"and its limits are reliable only with {FEW_POINTS} or more.")
        return chart
    res = spc.xmr(x, improvement=improvement, baseline=baseline)
    flags = {rule: getattr(res, rule) for rule in RULES}
    for j, month in enumerate(charted):
        points[month] = RunPoint(
            month=month, value=float(x[j]), charted=True, moving_range=_num(res.moving_range[j]),
            special_cause=bool(res.special_cause[j]), side=int(res.side[j]), label=str(res.label[j]),
            rules=[rule for rule in RULES if flags[rule][j]])
    chart = replace(chart, baseline=res.baseline, baseline_from=charted[0], baseline_to=charted[res.baseline - 1],
                    mean=_num(res.mean), mr_bar=_num(res.mr_bar), sigma=_num(res.sigma),
                    upper_limit=_num(res.upper_limit), lower_limit=_num(res.lower_limit),
                    upper_2sigma=_num(res.upper_2sigma), lower_2sigma=_num(res.lower_2sigma),
                    points=[points[m] for m in months], signals=_signals(charted, x, res, improvement))
    if missing:
        chart.notes.append(f"No value in {', '.join(missing)}: left out of the chart, so the months either side "
                           "count as consecutive for the run and trend rules.")
    if len(keep) < FEW_POINTS or res.baseline < FEW_POINTS:
        chart.notes.append(f"The limits rest on {res.baseline} months; with fewer than {FEW_POINTS} they are "
                           "uncertain, so read special causes with care.")
    if res.mr_bar == 0:
        chart.notes.append("Every baseline month has the same value, so the limits collapse onto the mean: any "
                           "different month is outside them.")
    chart.summary = _summary(chart)
    return chart


def _summary(chart: RunChart) -> str:
    latest = chart.latest
    if not chart.signals:
        text = ("No special cause: every month is within the process limits and there is no run, trend or "
                "2-of-3 pattern, so the month-to-month changes are common-cause variation.")
    else:
        text = "Special cause variation: " + "; ".join(s.text for s in chart.signals) + "."
    if latest is not None:
        rules = f", by {', '.join(RULE_LABEL[r] for r in latest.rules)}" if latest.rules else ""
        text += f" Latest month ({latest.month}): {latest.label}{rules}."
    return text


# --- the service -------------------------------------------------------------------------------


def _resolve_org(an: Source, org: str, level: str | None) -> tuple[str, str]:
    code = org.strip().upper()
    if code == ENGLAND_CODE or level == ENGLAND:
        if code != ENGLAND_CODE:
            raise UptakeError(f"--level england is for ENG (England), not {code!r}")
        return ENGLAND_CODE, ENGLAND
    if level is None:
        return code, an.org_level(code)
    check_level(level)
    levels = an.levels_of(code)
    if level not in levels:
        if not levels:
            raise UptakeError(an.unknown_org(code))
        raise UptakeError(f"{code} is not a {level} in the loaded organisation files; it is a "
                          f"{' and a '.join(sorted(levels))}")
    return code, level


def runchart(an: Source, subject: str, org: str = ENGLAND_CODE, level: str | None = None,
             baseline: int | None = None, min_items: int = DEFAULT_MIN_ITEMS) -> RunChart:
    """The run chart of one organisation (`level`: default the highest the code is used at; ENG
    for England) for a TA or a measure, over every loaded month (for a TA, from the month NICE
    published it). Months with 1 to `min_items` − 1 items (a measure: numerator items) are
    suppressed and left out of the chart; England is never suppressed."""
    code, level = _resolve_org(an, org, level)
    item = an.find(subject)
    months = an.months()
    if not months:
        an.month(None)  # the "nothing loaded" error
    notes: list[str] = []
    if isinstance(item, Measure):
        kind, title = "measure", item.title
        headline, improvement = measure_headline(item), DIRECTION_IMPROVEMENT.get(item.direction)
        rows = [r for r in an.measure_table([item.id], months, (level,)).to_pylist()
                if r["level"] == level and r["org"] == code]
        count = "numerator"
        if improvement is None:
            notes.append(f"{item.id} has no better direction: special causes are labelled high or low, not "
                         "improvement or concern.")
    else:
        kind, title, improvement, count = "ta", item.title, "increase", "items"
        if level not in SECONDARY_LEVELS and not in_primary_care(item):
            raise UptakeError(f"{item.id}'s products are issued in hospitals, and hospital issues (SCMD) cannot be "
                              f"attributed below an ICB: chart {code}'s ICB instead")
        start = item.published.replace(day=1)
        months = [m for m in months if m >= start]
        if not months:
            raise UptakeError(f"no prescribing loaded since {item.id} was published ({item.published})")
        rows = an.org_series(code, level, [item.id], months)
        headline = rows[0]["headline"] if rows else "none"
        if months[0] == start:
            notes.append(f"The series starts in {start:%Y-%m}, the month NICE published {item.id}.")
        else:
            notes.append(f"The series starts in {months[0]:%Y-%m}, the first month loaded (NICE published "
                         f"{item.id} in {start:%Y-%m}).")
    if not rows:
        raise UptakeError(f"{code} ({level}) has no rows for {item.id} in {months[0]:%Y-%m}–{months[-1]:%Y-%m}")
    if headline == "none":
        raise UptakeError(f"{item.id} has no headline value to chart: the catalogue has no primary-care "
                          "presentation or hospital product with a daily dose for it")
    by_month = {r["month"]: r for r in rows}
    labels: list[str] = []
    values: list[float | None] = []
    hidden: list[str] = []
    for m in months:
        r = by_month.get(m)
        labels.append(f"{m:%Y-%m}")
        if r is not None and level != ENGLAND and is_small(r.get(count), min_items):
            hidden.append(labels[-1])
            values.append(None)
        else:
            values.append(None if r is None else r.get("value"))
    chart = run_chart(labels, values, improvement=improvement, baseline=baseline, suppressed=set(hidden))
    if hidden:
        chart.notes.insert(0, f"{len(hidden)} month(s) with fewer than {min_items} {count.replace('numerator', 'items')} "
                              f"are suppressed and left out of the chart: {', '.join(hidden)}.")
    return replace(chart, subject=item.id, title=title, kind=kind, org=code,
                   name=an.names().get((level, code)), level=level, headline=headline,
                   headline_label=HEADLINE_LABEL.get(headline, headline), membership=an.membership,
                   engine=an.engine_name, min_items=min_items, notes=notes + chart.notes)
