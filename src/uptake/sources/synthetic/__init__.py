"""A synthetic NHS in England, written in the official file layouts.

    from uptake.sources.synthetic import generate
    result = generate(Path("out"), scale="small", seed=42, start="2019-04", end="2022-09")
    result.files    # in ingestion order: organisations, populations, registers, prescribing, SCMD
    result.summary  # counts, rows per dataset, laggard ICBs, organisation changes, timings
    result.formulary  # formulary/formulary_decisions.csv: for the portal database, not the warehouse

It has the real shape of the NHS: the 7 regions, 42 ICBs and their sub-ICB locations with real
codes and names; synthetic PCNs, GP practices and trusts (codes that cannot be mistaken for real
ones, see `organisations`); registered patients by age and sex; QOF registers at England's
2018-19 prevalence; the uptake of every NICE TA in the catalogue as an S-shaped diffusion with
overdispersed variation between ICBs and practices, a few persistent laggard ICBs and market
shares between competing products; background prescribing of real BNF presentations; every local
formulary's decisions on every positive TA, mostly within the funding deadline, with a late tail,
missing and rejected decisions (see `formulary`). The same seed gives byte-identical files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import diffusion as _diffusion
from . import formulary as _formulary
from . import organisations as _organisations
from . import population as _population
from . import writers
from .calendar import months_between
from .prescribing import Prescribing
from .reference import load as load_reference
from .scales import SCALES, Scale
from .scales import scale as _scale
from .secondary import Secondary

Progress = Callable[[str, int, int], None]


@dataclass
class GenerateResult:
    files: list[Path] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    # The formulary decision file (for the portal database, so not in `files`, which go to the
    # warehouse); None when there is no decision to write.
    formulary: Path | None = None


def _catalogue_chemicals(catalogue) -> set[str]:
    out: set[str] = set()
    for t in catalogue.technology_appraisals:
        for p in t.products:
            if p.bnf_chemical:
                out.add(p.bnf_chemical)
            for pres in p.presentations:
                out.add(pres.bnf_code[:9])
    return out


def _measure_parts() -> tuple[tuple[str, ...], ...]:
    """The BNF code prefixes of each catalogue measure's numerator and of its denominator."""
    from ...catalogue.measures import load_measures

    return tuple(codes for m in load_measures() for codes in (m.numerator_codes, m.denominator_codes) if codes)


def generate(
    out_dir: Path | str,
    scale: str | Scale = "small",
    seed: int = 42,
    start: str = "2019-04",
    end: str = "2022-09",
    catalogue=None,
    parquet: bool = False,
    progress: Progress | None = None,
) -> GenerateResult:
    """Write a synthetic NHS into `out_dir` and return the files (in ingestion order) and a summary."""
    t0 = time.perf_counter()
    sc = _scale(scale)
    months = months_between(start, end)
    if catalogue is None:
        from ...catalogue import load_catalogue

        catalogue = load_catalogue()
    out = Path(out_dir)
    for sub in ("ods", "list_sizes", "qof", "epd", "scmd"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    report = progress or (lambda stage, done, total: None)
    ref = load_reference()
    files: list[Path] = []
    rows: dict[str, int] = {}
    timings: dict[str, float] = {}

    def add(kind: str, path: Path, n: int) -> None:
        if n == 0:  # readers refuse a file without data rows; a month without any is not written
            path.unlink(missing_ok=True)
            return
        files.append(path)
        rows[kind] = rows.get(kind, 0) + n

    M = len(months)
    # Organisations.
    tick = time.perf_counter()
    orgs = _organisations.build(ref, sc, months, seed)
    report("organisations", 0, M + 3)
    add("icb_lookup", out / "ods/icb_lookup.csv", writers.icb_lookup(out / "ods/icb_lookup.csv", orgs))
    add("epraccur", out / "ods/epraccur.csv", writers.epraccur(out / "ods/epraccur.csv", orgs))
    report("organisations", 2, M + 3)
    add("trusts", out / "ods/etr_tidy.csv", writers.trusts(out / "ods/etr_tidy.csv", orgs))
    report("organisations", 3, M + 3)
    for m, month in enumerate(months):
        p = out / f"ods/gp-reg-pat-prac-map_{month.iso}.csv"
        add("practice_map", p, writers.practice_map(p, orgs, m))
        report("organisations", m + 4, M + 3)
    timings["organisations"] = time.perf_counter() - tick

    # Registered patients.
    tick = time.perf_counter()
    pop = _population.build(orgs, ref, seed)
    for m, month in enumerate(months):
        p = out / f"list_sizes/gp-reg-pat-prac-quin-age_{month.iso}.csv"
        add("list_sizes", p, writers.list_sizes(p, orgs, pop, m))
        report("list_sizes", m + 1, M)
    timings["list_sizes"] = time.perf_counter() - tick

    # QOF registers, one file per financial year, as at its end (or the last month generated).
    tick = time.perf_counter()
    regs = _population.registers(pop, ref, seed)
    years = sorted({mo.financial_year for mo in months})
    for k, fy in enumerate(years):
        m = max(i for i, mo in enumerate(months) if mo.financial_year == fy)
        p = out / f"qof/PREVALENCE_{fy % 100:02d}{(fy + 1) % 100:02d}.csv"
        add("qof", p, writers.qof_prevalence(p, orgs, pop, regs, m, fy + 1.0))
        report("registers", k + 1, len(years))
    timings["registers"] = time.perf_counter() - tick

    # Prescribing in primary care.
    tick = time.perf_counter()
    plan = _diffusion.plan(catalogue, orgs, regs, ref, seed)
    diff = _diffusion.Diffusion(plan, orgs, pop, regs, ref)
    rx = Prescribing(orgs, pop, diff, plan, ref, sc, _catalogue_chemicals(catalogue), seed, _measure_parts())
    pa_ = ref.assumptions["prescribing"]
    ratio, fee = float(pa_["actual_cost_ratio"]), float(pa_["actual_cost_per_item"])
    for m, month in enumerate(months):
        if parquet:
            p = out / f"epd/EPD_{month.yyyymm}.parquet"
            add("prescribing", p, writers.epd_parquet(p, orgs, rx, m, ratio, fee))
        else:
            p = out / f"epd/EPD_{month.yyyymm}.csv"
            add("prescribing", p, writers.epd(p, orgs, rx, m, ratio, fee))
        report("prescribing", m + 1, M)
    timings["prescribing"] = time.perf_counter() - tick

    # Hospital medicines.
    tick = time.perf_counter()
    sec = Secondary(orgs, diff, plan, ref, seed)
    for m, month in enumerate(months):
        p = out / f"scmd/SCMD_{month.yyyymm}.csv"
        add("scmd", p, writers.scmd(p, orgs, sec, m))
        report("secondary", m + 1, M)
    timings["secondary"] = time.perf_counter() - tick

    # Formulary decisions, as of the last day of the last month.
    tick = time.perf_counter()
    icb_lag: dict = {}
    for c in plan.components:
        icb_lag.setdefault(c.ta_id, c.icb_lag)
    formulary, decisions = _formulary.write(out, catalogue, orgs, plan.laggards, icb_lag, seed)
    report("formulary", 1, 1)
    timings["formulary"] = time.perf_counter() - tick

    used_subs = {int(s) for s in orgs.sub_icb_at.reshape(-1)}
    used_pcns = {int(p) for p in orgs.pcn_at.reshape(-1)}
    summary = {
        "scale": sc.name,
        "seed": seed,
        "start": months[0].iso,
        "end": months[-1].iso,
        "months": M,
        "regions": len({i.region for i in orgs.icbs}),
        "icbs": len(orgs.icbs),
        "sub_icbs": len(used_subs),
        "pcns": len(used_pcns),
        "practices": orgs.n_practices,
        "trusts": len(orgs.trust_code),
        "background_codes": len(rx.background),
        "catalogue_presentations": len(plan.lines),
        "catalogue_vmps": len(plan.vmps),
        "laggards": [orgs.icbs[k].code for k in plan.laggards],
        "closures": {str(orgs.code[j]): {"closed": orgs.closed[j].isoformat(), "merged_into": str(orgs.code[k])}
                     for j, k in sorted(orgs.absorbed_by.items())},
        "openings": {str(orgs.code[j]): orgs.opened[j].isoformat() for j in sorted(orgs.opening)},
        "moves": {str(orgs.code[j]): {"date": months[m].first.isoformat(), "from": orgs.sub_icbs[a].code,
                                      "to": orgs.sub_icbs[b].code}
                  for j, (m, a, b) in sorted(orgs.moved.items())},
        "skipped": plan.skipped,
        "formulary_as_of": decisions.pop("formulary_as_of"),
        "formulary": {"file": _formulary.FILE if formulary else None} | decisions,
        "rows": rows,
        "files": len(files),
        "parquet": parquet,
        "seconds": {k: round(v, 2) for k, v in timings.items()} | {"total": round(time.perf_counter() - t0, 2)},
    }
    return GenerateResult(files, summary, formulary)


__all__ = ["SCALES", "GenerateResult", "Scale", "generate"]
