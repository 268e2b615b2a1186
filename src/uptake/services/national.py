"""England's picture for one month: every catalogue TA's uptake, and how many ICBs lag."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

import ibis

from ..catalogue import load_catalogue
from ..engine import tables, uptake_index
from ..errors import UptakeError
from ..warehouse import Warehouse

LAG_THRESHOLD = 0.8  # an ICB lags when its uptake index is below this share of England's


@dataclass
class NationalRow:
    ta: str
    title: str
    area: str
    products: str
    patients: float | None
    expected: float | None
    index: float | None
    icbs: int
    icbs_lagging: int


@dataclass
class NationalPicture:
    month: str
    lag_threshold: float
    rows: list[NationalRow] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _parse_month(text: str) -> date:
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise UptakeError(f"--month {text!r}: expected YYYY-MM, e.g. 2022-09") from None


def national_picture(wh: Warehouse, month: str | None = None) -> NationalPicture:
    status = wh.status()["datasets"]
    if "prescribing" not in status:
        raise UptakeError(f"{wh.root}: no prescribing loaded; run `uptake demo` or `uptake ingest` an EPD file")
    month_text = month or status["prescribing"]["last"]
    when = _parse_month(month_text)
    cat = load_catalogue()
    con = wh.connect()
    db = tables.backend(con)
    presentations = ibis.memtable(tables.presentations_table(cat))
    eligibility = ibis.memtable(tables.eligibility_table(cat))
    observed = uptake_index.practice_observed(db.table("prescribing"), presentations, when)

    years = sorted(r[0] for r in con.execute("SELECT DISTINCT year FROM qof_registers").fetchall())
    wanted = uptake_index.financial_year(when)
    year = max((y for y in years if y <= wanted), default=years[0] if years else None)
    membership = uptake_index.practice_icb(db.table("org_relations"), when)

    england_obs = {r["ta"]: r["patients"] for r in observed.group_by("ta").aggregate(
        patients=observed.patients.sum()).to_pyarrow().to_pylist()}
    england_exp: dict[str, float] = {}
    icb_rows: list[dict] = []
    if year is not None:
        eligible = uptake_index.practice_eligible(db.table("qof_registers"), eligibility, year)
        england_exp = {r["ta"]: r["expected"] for r in eligible.group_by("ta").aggregate(
            expected=eligible.expected.sum()).to_pyarrow().to_pylist()}
        icb_rows = uptake_index.icb_uptake(observed, eligible, membership).to_pyarrow().to_pylist()

    picture = NationalPicture(month=when.strftime("%Y-%m"), lag_threshold=LAG_THRESHOLD)
    for ta in cat.technology_appraisals:
        patients = england_obs.get(ta.id)
        expected = england_exp.get(ta.id)
        index = (patients or 0.0) / expected if expected else None
        icbs = [r for r in icb_rows if r["ta"] == ta.id and r["expected"]]
        lagging = sum(1 for r in icbs if index is not None and (r["index"] or 0.0) < LAG_THRESHOLD * index)
        picture.rows.append(NationalRow(
            ta=ta.id, title=ta.title, area=ta.clinical_area,
            products=", ".join(p.name for p in ta.products) or "—",
            patients=patients, expected=expected, index=index, icbs=len(icbs), icbs_lagging=lagging))
    return picture
