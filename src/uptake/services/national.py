"""England's picture for one month: every catalogue TA's uptake, and how many ICBs lag.

An ICB lags on a TA when it lies below the 99.8% funnel limit around England after allowing for
overdispersion (Spiegelhalter's additive random effects): significantly low, not merely lower.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..engine.hierarchy import ENGLAND
from .analysis import Source
from .funnels import funnel_for
from .scorecard import HEADLINE_LABEL

LAG_RULE = "below the 99.8% funnel limit around England, allowing for overdispersion"


@dataclass
class NationalRow:
    ta: str
    title: str
    area: str
    products: str
    headline: str
    value: float | None
    patients: float | None
    expected: float | None
    index: float | None
    icbs: int
    icbs_lagging: int


@dataclass
class NationalPicture:
    month: str
    lag_rule: str
    membership: str
    engine: str
    rows: list[NationalRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def national_picture(an: Source, month: str | None = None) -> NationalPicture:
    when = an.month(month)
    cat = an.catalogue
    table = an.ta_table([t.id for t in cat.technology_appraisals], [when], ("icb",)).to_pylist()
    picture = NationalPicture(month=f"{when:%Y-%m}", lag_rule=LAG_RULE, membership=an.membership,
                              engine=an.engine_name)
    mixed = an.sources_note(when, "icb")
    if mixed:
        picture.notes.append(mixed)
    for ta in cat.technology_appraisals:
        rows = [r for r in table if r["ta"] == ta.id]
        eng = next((r for r in rows if r["level"] == ENGLAND), None)
        icbs = sorted((r for r in rows if r["level"] == "icb" and r["value"] is not None), key=lambda r: r["org"])
        headline = eng["headline"] if eng else "per_1000"
        used = bool(eng and (eng["items"] or eng.get("secondary_quantity")))  # prescribed or issued in hospital
        lagging = 0
        if icbs and used:
            f = funnel_for(headline, icbs)
            lagging = f.summary.outside_998_low_od if f else 0
        picture.rows.append(NationalRow(
            ta=ta.id, title=ta.title, area=ta.clinical_area,
            products=", ".join(p.name for p in ta.products) or "—", headline=headline,
            value=eng["value"] if eng and used else None,
            patients=eng["patients"] if eng and used else None,
            expected=eng["expected"] if eng else None, index=eng["index"] if eng and used else None,
            icbs=len(icbs) if used else 0, icbs_lagging=lagging))
    return picture


__all__ = ["HEADLINE_LABEL", "LAG_RULE", "NationalPicture", "NationalRow", "national_picture"]
