"""The scorecard as Ibis expressions: one definition for DuckDB and Spark.

For each TA, organisation, level and month (docs/metrics.md has every formula):

    treatment_days = Σ total_quantity ÷ units per day of treatment       (catalogue, per presentation)
    secondary_*    = the same from hospital issues (SCMD), per VMP        (trust, ICB, region, England)
    patients       = (treatment_days + secondary_treatment_days) ÷ days in the month
    ddd            = Σ total_quantity × strength ÷ WHO DDD                (where the units agree)
    registered     = registered patients (everyone, or the TA's age/sex band)
    eligible       = QOF register × eligible fraction                    (catalogue, sourced)
    expected       = eligible × NICE's expected uptake share              (catalogue, sourced)
    uptake index   = patients ÷ expected
    per 1,000      = patients ÷ registered × 1,000
    per 100 eligible = patients ÷ eligible × 100

The heavy work is one pass over prescribing, joined to the catalogue's codes and summed to
practice × TA × month ("base facts"); every level is then a roll-up of that small table through
the dated hierarchy (`hierarchy.py`). Hospital issues (SCMD) are base facts of their trust, in
their own columns: a trust counts towards the ICB it belongs to (as the Innovation Scorecard
attributes a provider's use), its region and England, never towards a sub-ICB, PCN or practice,
whose patients it cannot be split between. Data aggregated to organisations (`prescribing_org`, e.g.
sub-ICB totals from OpenPrescribing) are base facts at their own level, used only for months
with no practice-level prescribing, so nothing is counted twice.

Measures (from `catalogue/data/measures`) follow the same path with their own codes: a numerator
of prescribing (items, quantity or actual cost, as the measure's unit says) over a denominator of
prescribing in the same unit, or over registered patients (× per, e.g. per 1,000), with the
actual cost of the numerator's and the denominator's rows beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
from ibis import _

from .hierarchy import ENGINE_LEVELS, ENGLAND, ENGLAND_CODE, LEVELS, PATHS, TRUST, memberships, rollup, succeeded

OBSERVED = ("items", "quantity", "cost", "treatment_days", "ddd")
SECONDARY = ("secondary_quantity", "secondary_cost", "secondary_treatment_days", "secondary_ddd")
DENOMINATORS = ("registered_all", "registered", "eligible", "expected")
SUMMED = OBSERVED + SECONDARY + DENOMINATORS
# The levels hospital issues count towards: the trust itself and the levels above it.
SECONDARY_LEVELS = (TRUST, "icb", "region", ENGLAND)
HEADLINES = ("index", "per_1000", "items_per_1000", "none")


@dataclass
class Inputs:
    """The warehouse tables and catalogue tables the engine reads (None: not loaded)."""

    prescribing: ibis.Table | None
    prescribing_org: ibis.Table | None
    relations: ibis.Table | None
    list_sizes: ibis.Table | None
    registers: ibis.Table | None
    codes: ibis.Table  # inputs.codes_table
    population: ibis.Table  # inputs.population_table + headline
    bands: ibis.Table  # inputs.bands_table: (band, sex, age_band, weight)
    months: ibis.Table  # inputs.months_table (the months to compute)
    measure_codes: ibis.Table | None = None  # inputs.measure_codes_table
    latest: ibis.Table | None = None  # one row: the latest month loaded (for current memberships)
    measure_info: ibis.Table | None = None  # inputs.measure_info_table
    measure_lengths: tuple[int, ...] = ()  # distinct lengths of the measures' counted code prefixes
    measure_exclude_lengths: tuple[int, ...] = ()  # ... and of the prefixes they leave out
    scmd: ibis.Table | None = None  # hospital issues, when loaded for a month computed
    vmp_codes: ibis.Table | None = None  # inputs.vmp_codes_table
    scmd_months: ibis.Table | None = None  # (month): the months computed that have SCMD loaded
    successions: ibis.Table | None = None  # (old, new, effective): hierarchy.successor_chains


def scmd_covered(inp: Inputs) -> ibis.Table | None:
    """(month, ta): the months computed in which a loaded SCMD file covers one of the TA's VMPs.
    A file covers the VMPs it holds (warehouse.coverage): an extract of other medicines says
    nothing about this TA, so its hospital issues are unknown there, not zero."""
    if inp.scmd is None or inp.vmp_codes is None:
        return None
    s = inp.scmd.semi_join(inp.scmd_months, "month").select("month", "vmp_code").distinct()
    v = inp.vmp_codes.select("ta", "vmp_code")
    return s.join(v, s.vmp_code == v.vmp_code).select("month", "ta").distinct()


def _practice_months(inp: Inputs) -> ibis.Table | None:
    if inp.prescribing is None:
        return None
    return inp.prescribing.select("month").distinct()


def _layered(inp: Inputs) -> bool:
    """Whether org-level facts are layered over practice-level ones per organisation (`_less_practices`):
    possible wherever practices can be placed in their organisations (relations loaded)."""
    return inp.prescribing_org is not None and inp.relations is not None


def _org_only_months(inp: Inputs) -> ibis.Table | None:
    """Months whose prescribing comes only from org-level files (when the two cannot be layered)."""
    if inp.prescribing_org is None or _layered(inp):
        return None
    months = inp.prescribing_org.select("month").distinct()
    covered = _practice_months(inp)
    return months.anti_join(covered, "month") if covered is not None else months


def _observed_practice(inp: Inputs) -> ibis.Table | None:
    if inp.prescribing is None:
        return None
    months = inp.months.select("month")
    rx = inp.prescribing.semi_join(months, "month")
    codes = inp.codes.filter(inp.codes.code_length == 15)
    j = rx.join(codes, rx.bnf_code == codes.code)
    return j.group_by([j.month, j.practice, j.ta]).aggregate(
        items=j["items"].sum().cast("float64"),
        quantity=j.total_quantity.sum(),
        cost=j.actual_cost.sum(),
        treatment_days=(j.total_quantity / j.units_per_day).sum(),
        ddd=(j.total_quantity * j.ddd_per_unit).sum(),
    ).select("month", base_type=ibis.literal("practice"), base=_.practice, ta=_.ta,
             **{c: _[c] for c in OBSERVED})


def _observed_trust(inp: Inputs) -> ibis.Table | None:
    """Hospital issues per trust × TA × month: quantity in VMP units, indicative cost, days of
    treatment (quantity ÷ units per day) and DDDs. SCMD nets returns against issues, so a month's
    quantity can be negative; it is summed as published."""
    if inp.scmd is None or inp.vmp_codes is None:
        return None
    s = inp.scmd.semi_join(inp.scmd_months, "month")
    v = inp.vmp_codes
    j = s.join(v, s.vmp_code == v.vmp_code)
    return j.group_by([j.month, j.trust, j.ta]).aggregate(
        secondary_quantity=j.total_quantity.sum(),
        secondary_cost=j.indicative_cost.sum(),
        secondary_treatment_days=(j.total_quantity / j.units_per_day).sum(),
        secondary_ddd=(j.total_quantity * j.ddd_per_unit).sum(),
    ).select("month", base_type=ibis.literal(TRUST), base=_.trust, ta=_.ta, **{c: _[c] for c in SECONDARY})


def _org_rows(inp: Inputs) -> ibis.Table | None:
    """Org-level prescribing in the months computed: all of it where practices can be placed in
    organisations (it is then layered over practice-level data, `_less_practices`), else only in
    months with no practice-level prescribing."""
    if inp.prescribing_org is None:
        return None
    po = inp.prescribing_org.semi_join(inp.months.select("month"), "month")
    if _layered(inp):
        return po
    covered = _practice_months(inp)
    return po.anti_join(covered, "month") if covered is not None else po


def _observed_org(inp: Inputs) -> ibis.Table | None:
    """Org-level rows for months without practice-level prescribing (quantity = total quantity)."""
    po = _org_rows(inp)
    if po is None:
        return None
    j = po.join(inp.codes, po.bnf_code == inp.codes.code)
    return j.group_by([j.month, j.org_type, j.org_code, j.ta]).aggregate(
        items=j["items"].sum().cast("float64"),
        quantity=j.quantity.sum(),
        cost=j.actual_cost.sum(),
        treatment_days=(j.quantity / j.units_per_day).sum(),
        ddd=(j.quantity * j.ddd_per_unit).sum(),
    ).select("month", base_type=_.org_type, base=_.org_code, ta=_.ta, **{c: _[c] for c in OBSERVED})


def _denominators_practice(inp: Inputs) -> ibis.Table | None:
    """registered (all and the TA's band), eligible and expected per practice × TA × month."""
    if inp.list_sizes is None:
        return None
    ls = inp.list_sizes.semi_join(inp.months.select("month"), "month")
    org_months = _org_only_months(inp)
    if org_months is not None:  # those months' registered patients come with the org-level rows
        ls = ls.anti_join(org_months, "month")
    total = ls.filter((ls.sex == "all") & (ls.age_band == "all")).select(
        "month", "practice", registered_all=ls.patients.cast("float64"))
    band = ls.join(inp.bands, [ls.sex == inp.bands.sex, ls.age_band == inp.bands.age_band])
    banded = band.group_by([band.month, band.practice, band.band]).aggregate(
        registered_band=(band.patients * band.weight).sum())
    pop = inp.population
    per_ta = total.cross_join(pop.select("ta", "banded", "band", "fraction", "share", "register"))
    per_ta = per_ta.left_join(banded, [per_ta.month == banded.month, per_ta.practice == banded.practice,
                                       per_ta.band == banded.band]).select(
        per_ta.month, per_ta.practice, per_ta.ta, per_ta.registered_all, per_ta.fraction, per_ta.share,
        per_ta.register,
        registered=ibis.ifelse(per_ta.banded, banded.registered_band.fill_null(0.0), per_ta.registered_all))
    if inp.registers is not None:
        reg = inp.registers.join(inp.months, inp.registers.year == inp.months.year).select(
            "month", "practice", "register", on_register=_.patients.cast("float64"))
        per_ta = per_ta.left_join(reg, [per_ta.month == reg.month, per_ta.practice == reg.practice,
                                        per_ta.register == reg.register]).drop(
            "month_right", "practice_right", "register_right")
    else:
        per_ta = per_ta.mutate(on_register=ibis.null("float64"))
    # A TA defined by a register takes the register; one defined only by an age/sex band takes
    # the band. Either way it needs a sourced fraction, or there is no eligible population.
    base = ibis.ifelse(per_ta.register.isnull(), per_ta.registered, per_ta.on_register)
    eligible = base * per_ta.fraction
    return per_ta.select(
        "month", base_type=ibis.literal("practice"), base=per_ta.practice, ta=per_ta.ta,
        registered_all=per_ta.registered_all, registered=per_ta.registered,
        eligible=eligible, expected=eligible * per_ta.share)


def _denominators_org(inp: Inputs) -> ibis.Table | None:
    """Registered patients carried by org-level files (e.g. total_list_size), for every TA."""
    po = _org_rows(inp)
    if po is None:
        return None
    sizes = po.group_by([po.month, po.org_type, po.org_code]).aggregate(
        registered_all=po.list_size.max().cast("float64"))
    # These files carry all-age list sizes only: a TA's age band cannot be applied to them.
    per_ta = sizes.cross_join(inp.population.select("ta"))
    return per_ta.select(
        "month", base_type=_.org_type, base=_.org_code, ta=_.ta,
        registered_all=_.registered_all, registered=_.registered_all,
        eligible=ibis.null("float64"), expected=ibis.null("float64"))


def _less_practices(org: ibis.Table | None, practice: ibis.Table | None, inp: Inputs, key: str,
                    columns: tuple[str, ...]) -> ibis.Table | None:
    """Organisation-level facts less what the practice-level facts already count inside the same
    organisation, month and `key`, only where the organisation-level facts have a row. An
    organisation-level file holds each organisation's whole total; its practices' own rows keep
    their detail at practice and PCN level, and every level from the organisation up sums to the
    organisation's total, once (docs/metrics.md, "Coverage and precedence"). Practices are placed
    through the memberships valid in each month."""
    if org is None or practice is None or not _layered(inp):
        return org
    member = memberships(inp.relations, inp.months, latest=inp.latest)
    practice = practice.view()  # the two sides share catalogue tables: keep them apart in the join
    mapped = [practice.select("month", key, base_type=ibis.literal("practice"), base=practice.base,
                              **{c: practice[c].cast("float64") for c in columns})]
    for level in PATHS["practice"]:
        up = rollup(member, "practice", level)
        if up is None:
            continue
        j = practice.join(up, [practice.month == up.month, practice.base == up.base])
        mapped.append(j.select(practice.month, practice[key], base_type=ibis.literal(level), base=up.org,
                               **{c: practice[c].cast("float64") for c in columns}))
    if not mapped:
        return org
    u = _union(mapped)
    inside = u.group_by(["month", "base_type", "base", key]).aggregate(
        **{f"inside_{c}": u[c].sum() for c in columns}).view()
    j = org.left_join(inside, [org.month == inside.month, org.base_type == inside.base_type,
                               org.base == inside.base, org[key] == inside[key]])
    return j.select(org.month, org.base_type, org.base, org[key],
                    **{c: org[c].cast("float64") - j[f"inside_{c}"].fill_null(0.0) for c in columns})


def unplaced_practices(inp: Inputs) -> ibis.Table | None:
    """(month, practice): practices with practice-level prescribing in a month that also has
    organisation-level rows, placed (by the dated hierarchy) in none of the organisations those
    rows name: `_less_practices` cannot subtract them, so their rows count on top of the
    organisation-level totals above them (e.g. a practice in a predecessor CCG code). None when
    the two are not layered."""
    if inp.prescribing is None or not _layered(inp):
        return None
    orgs = inp.prescribing_org.semi_join(inp.months.select("month"), "month").select(
        "month", "org_type", "org_code").distinct()
    rx = inp.prescribing.semi_join(orgs.select("month").distinct(), "month").select("month", "practice").distinct()
    member = memberships(inp.relations, inp.months, latest=inp.latest)
    placed = [orgs.filter(orgs.org_type == "practice").select("month", practice=orgs.org_code)]
    for level in PATHS["practice"]:
        up = rollup(member, "practice", level)
        if up is None:
            continue
        these = orgs.filter(orgs.org_type == level).view()
        j = up.join(these, [up.month == these.month, up.org == these.org_code])
        placed.append(j.select(up.month, practice=up.base))
    return rx.anti_join(_union(placed), ["month", "practice"])


def _union(parts: list[ibis.Table]) -> ibis.Table:
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p, distinct=False)
    return out


def _aligned(t: ibis.Table, have: tuple[str, ...]) -> ibis.Table:
    """The base-fact columns in one order. A denominator row says nothing was dispensed unless an
    observed row says otherwise (0, not unknown), except DDDs, which stay unknown where the
    catalogue has no DDD; an observed row leaves the denominators unknown. Hospital columns stay
    unknown outside trust rows (`with_metrics` says where they are zero)."""
    def missing(c: str) -> ibis.Value:
        return ibis.literal(0.0) if c in OBSERVED and c != "ddd" else ibis.null("float64")

    cols = {c: (t[c].cast("float64") if c in have else missing(c)) for c in SUMMED}
    return t.select("month", "base_type", "base", "ta", **cols)


def base_facts(inp: Inputs) -> ibis.Table:
    """(month, base_type, base, ta, observed..., denominators...) summed per base organisation."""
    parts = []
    observed, denominators = _observed_practice(inp), _denominators_practice(inp)
    for t, have in ((observed, OBSERVED), (_less_practices(_observed_org(inp), observed, inp, "ta", OBSERVED), OBSERVED),
                    (_observed_trust(inp), SECONDARY), (denominators, DENOMINATORS),
                    (_less_practices(_denominators_org(inp), denominators, inp, "ta", DENOMINATORS), DENOMINATORS)):
        if t is not None:
            parts.append(_aligned(t, have))
    if not parts:
        raise ValueError("no prescribing and no list sizes: nothing to compute")
    facts = _union(parts)
    # Items are unknown (not 0) for an organisation whose org-level file has quantities only:
    # its observed rows carry NULL items, which a plain sum would hide behind the 0 of its
    # denominator rows.
    sums = {c: facts[c].sum() for c in SUMMED}
    sums["items"] = ibis.ifelse(facts["items"].isnull().any(), ibis.null("float64"), facts["items"].sum())
    return facts.group_by(["month", "base_type", "base", "ta"]).aggregate(**sums)


def base_types(inp: Inputs) -> tuple[str, ...]:
    """The kinds of base organisation the base facts can hold: practices, trusts when hospital
    issues are loaded, and any level when org-level prescribing is loaded."""
    types = [t for t in PATHS if t != TRUST] if inp.prescribing_org is not None else ["practice"]
    return (*types, TRUST) if inp.scmd is not None else tuple(types)


def _sources(level: str, present: tuple[str, ...]) -> list[tuple[str, str]]:
    """Where `level`'s rows come from: ("base", T) for the base organisations of type T that are
    themselves of this level, ("level", V) for the rows of level V mapped one step up (every base
    type whose path to `level` ends ... → V → level, and that reaches V by the same path), or
    ("path", T) for base type T's rows mapped along its whole path when no such level V exists."""
    sources: list[tuple[str, str]] = []
    via: dict[str, list[str]] = {}
    for t in present:
        chain = PATHS[t].get(level)
        if chain is None:
            continue
        if not chain:
            sources.append(("base", t))
        elif len(chain) == 1:
            via.setdefault(t, []).append(t)
        else:
            via.setdefault(chain[-2], []).append(t)
    for v, types in via.items():
        # level v's rows are exactly the sum of these base types' rows mapped to v (by the same
        # paths), so mapping v's rows one step up counts each base row once, as the paths do
        feeds = {t for t in present if v in PATHS[t]}
        if (v in PATHS and feeds == set(types)
                and all(PATHS[t][level] == (*PATHS[t][v], level) for t in types)):
            sources.append(("level", v))
        else:
            sources.extend(("path", t) for t in types)
    return sources


def organisation_memberships(inp: Inputs, current: bool) -> ibis.Table | None:
    """The dated hierarchy for the months computed (hierarchy.memberships), successions included."""
    if inp.relations is None:
        return None
    return memberships(inp.relations, inp.months, current=current, latest=inp.latest, successions=inp.successions)


def organisations_now(facts: ibis.Table, inp: Inputs, current: bool, key: str,
                      columns: tuple[str, ...]) -> ibis.Table:
    """Base facts with codes succeeded by the month (with `current`, by today) moved to their
    successors (hierarchy.succeeded); unchanged without successions."""
    if inp.successions is None:
        return facts
    return succeeded(facts, inp.successions, inp.months, current=current, columns=columns, key=key)


def unplaced(facts: ibis.Table, inp: Inputs, level: str, counted: str, *, current: bool = False,
             key: str = "ta", columns: tuple[str, ...] = SUMMED,
             member: ibis.Table | None = None) -> ibis.Table | None:
    """(month, key, organisations, columns...): the base organisations with some `counted` (e.g.
    items) whose activity has a path to `level` (PATHS) but no membership taking them there in
    the month, counted and summed. `member`: organisation_memberships(inp, current), when the
    caller has it already.
    Trusts below an ICB and organisations above `level` are not unplaced: they never count
    there (docs/metrics.md). None when no base type can reach `level` through the hierarchy."""
    if member is None:
        member = organisation_memberships(inp, current)
    facts = organisations_now(facts, inp, current, key, columns)
    parts = []
    for base_type in base_types(inp):
        if not PATHS[base_type].get(level):
            continue
        of_type = facts.filter((facts.base_type == base_type) & (facts[counted].fill_null(0.0) != 0))
        if member is not None:
            up = rollup(member, base_type, level)
            of_type = of_type.anti_join(up, [of_type.month == up.month, of_type.base == up.base])
        parts.append(of_type.select("month", key, "base", **{c: of_type[c] for c in columns}))
    if not parts:
        return None
    u = _union(parts)
    return u.group_by(["month", key]).aggregate(organisations=u.base.nunique(), **{c: u[c].sum() for c in columns})


def level_facts(facts: ibis.Table, inp: Inputs, levels: tuple[str, ...] = LEVELS, *,
                current: bool = False, england: bool = True, key: str = "ta",
                columns: tuple[str, ...] = SUMMED) -> ibis.Table:
    """Base facts summed to every requested level (and England), through the hierarchy.
    `key` names what the facts are about (a TA, or a measure) and `columns` what is summed.

    Each level is summed from the level below it (sub-ICB from practices, ICB from sub-ICBs,
    region from ICBs), not from the base facts again: the same sums, from ever smaller tables.
    A level that is only its own base organisations (practices) is those rows as they are."""
    member = organisation_memberships(inp, current)
    facts = organisations_now(facts, inp, current, key, columns)
    present = base_types(inp)
    wanted = set(levels)
    # the levels the requested ones are summed from, in order from the bottom
    needed: list[str] = []

    def need(level: str) -> None:
        if level in needed:
            return
        for kind, name in _sources(level, present):
            if kind == "level":
                need(name)
        needed.append(level)

    for level in ENGINE_LEVELS:
        if level in wanted:
            need(level)
    done: dict[str, ibis.Table] = {}  # level -> (month, key, org, columns...)
    cols = {c: _[c] for c in columns}
    for level in needed:
        parts = []
        for kind, name in _sources(level, present):
            if kind == "base":
                of_type = facts.filter(facts.base_type == name)
                parts.append((of_type.select("month", key, org=of_type.base, **cols), True))
                continue
            if member is None:
                continue
            if kind == "level":
                below, up = done[name], rollup(member, name, level)
                rows = below.join(up, [below.month == up.month, below.org == up.base]).select(
                    below.month, below[key], org=up.org, **{c: below[c] for c in columns})
            else:
                of_type, up = facts.filter(facts.base_type == name), rollup(member, name, level)
                rows = of_type.join(up, [of_type.month == up.month, of_type.base == up.base]).select(
                    of_type.month, of_type[key], org=up.org, **{c: of_type[c] for c in columns})
            parts.append((rows, False))
        if not parts:
            continue
        if len(parts) == 1 and parts[0][1]:
            # one base type's own rows: already one row per organisation, key and month
            done[level] = parts[0][0]
        else:
            u = _union([p for p, _unique in parts])
            done[level] = u.group_by(["month", key, "org"]).aggregate(**{c: u[c].sum() for c in columns})
    out = [done[level].select(level=ibis.literal(level), org=_.org, **{key: _[key]}, month=_.month, **cols)
           for level in ENGINE_LEVELS if level in wanted and level in done]
    if england:
        out.append(facts.group_by([key, "month"]).aggregate(**{c: facts[c].sum() for c in columns}).select(
            level=ibis.literal(ENGLAND), org=ibis.literal(ENGLAND_CODE), **{key: _[key]}, month=_.month, **cols))
    return _union(out)


def _ratio(num: ibis.Value, den: ibis.Value, scale: float = 1.0) -> ibis.Value:
    return ibis.ifelse(den > 0, num * scale / den, ibis.null("float64"))


def with_metrics(t: ibis.Table, inp: Inputs) -> ibis.Table:
    """Rates, the uptake index, England's values beside each organisation's, and the headline
    value (the TA's chosen measure: the index where an expected use exists) with its percentile
    rank among organisations of the same level."""
    m = t.join(inp.months.select("month", "days"), "month")
    # Hospital issues count where they are attributed (a trust, its ICB, region and England) in the
    # months whose SCMD covers the TA's products: there an organisation with none issued has 0,
    # elsewhere (no SCMD, or SCMD of other medicines only) unknown.
    covered = scmd_covered(inp)
    if covered is not None:
        loaded = covered.mutate(scmd=ibis.literal(True))
        m = m.left_join(loaded, ["month", "ta"]).drop("month_right", "ta_right")
        m = m.mutate(hospital=m.scmd.fill_null(False) & m.level.isin(SECONDARY_LEVELS)).drop("scmd")
    else:
        m = m.mutate(hospital=ibis.literal(False))
    m = m.mutate(**{c: ibis.ifelse(m.hospital, m[c].fill_null(0.0) if c != "secondary_ddd" else m[c],
                                   ibis.null("float64")) for c in SECONDARY})
    m = m.mutate(patients=(m.treatment_days + m.secondary_treatment_days.fill_null(0.0)) / m.days,
                 secondary_patients=m.secondary_treatment_days / m.days,
                 all_ddd=ibis.ifelse(m.ddd.isnull() & m.secondary_ddd.isnull(), ibis.null("float64"),
                                     m.ddd.fill_null(0.0) + m.secondary_ddd.fill_null(0.0)))
    m = m.mutate(
        index=_ratio(m.patients, m.expected),
        per_1000=_ratio(m.patients, m.registered, 1000.0),
        per_100_eligible=_ratio(m.patients, m.eligible, 100.0),
        items_per_1000=_ratio(m["items"], m.registered_all, 1000.0),
        ddd_per_100k=_ratio(m.all_ddd, m.registered_all, 100000.0),
    ).drop("all_ddd")
    # The index needs an expected use; where the data hold none for the month (no QOF registers
    # loaded), the TA is ranked on patients per 1,000 registered instead, and says so.
    pop = inp.population.select("ta", "headline", "in_primary")
    exp = m.filter(m.level == ENGLAND).select("ta", "month", england_expected=_.expected)
    m = m.join(pop, "ta").left_join(exp, ["ta", "month"]).drop("ta_right", "month_right")
    # A hospital-only TA has no uptake figure where hospital issues do not count (below an ICB,
    # or without SCMD): its primary-care zero says nothing.
    blind = ~m.in_primary & ~m.hospital
    m = m.mutate(**{c: ibis.ifelse(blind, ibis.null("float64"), m[c])
                    for c in ("patients", "index", "per_1000", "per_100_eligible")}).drop("in_primary", "hospital")
    no_expected = m.england_expected.isnull() | (m.england_expected <= 0)
    m = m.mutate(headline=ibis.ifelse((m.headline == "index") & no_expected, "per_1000", m.headline)).drop(
        "england_expected")
    m = m.mutate(value=ibis.cases((m.headline == "index", m.index), (m.headline == "per_1000", m.per_1000),
                                  (m.headline == "items_per_1000", m.items_per_1000), else_=ibis.null("float64")))
    return _benchmarked(m.drop("days"), "ta", england_index="index", england_per_1000="per_1000")


def _benchmarked(m: ibis.Table, key: str, **england: str) -> ibis.Table:
    """England's value (and any other England columns) beside every organisation's, and each
    organisation's percentile rank of `value` among its level: (rank − 1) ÷ (N − 1) × 100 over
    the organisations with a value, as OpenPrescribing ranks."""
    eng = m.filter(m.level == ENGLAND).select(key, "month", england_value=m.value,
                                             **{name: m[col] for name, col in england.items()})
    m = m.left_join(eng, [key, "month"]).drop(f"{key}_right", "month_right")
    ranked = m.filter(m.value.notnull() & (m.level != ENGLAND))
    w = ibis.window(group_by=[ranked.level, ranked[key], ranked.month], order_by=ranked.value)
    ranks = ranked.select("level", "org", key, "month", percentile=ranked.value.percent_rank().over(w) * 100.0)
    return m.left_join(ranks, ["level", "org", key, "month"]).drop(
        "level_right", "org_right", f"{key}_right", "month_right")


def deciles(t: ibis.Table) -> ibis.Table:
    """The 10th…90th centiles of the headline value among organisations of each level, per TA and
    month: unweighted (every organisation counts once), linear interpolation."""
    v = t.filter(t.value.notnull() & (t.level != ENGLAND))
    return v.group_by(["level", "ta", "month"]).aggregate(
        n=v.count(), **{f"p{k}": v.value.quantile(k / 100) for k in range(10, 100, 10)})


MEASURE_SUMMED = ("numerator", "denominator", "numerator_cost", "denominator_cost")


def _measure_rows(rx: ibis.Table, inp: Inputs, codes: ibis.Table) -> ibis.Table | None:
    """Prescribing rows (month, base_type, base, bnf_code, items, quantity, cost, item_quantity)
    matched to the measures' counted prefixes (one join per prefix length present), minus the rows
    a part leaves out, and (numerator) minus items at or below the part's quantity threshold."""
    mc = codes
    counted = mc.filter(~mc.exclude)
    matched = []
    for length in inp.measure_lengths:
        these = counted.filter(counted.code_length == length).select("measure", "part", "code",
                                                                     "item_quantity_above")
        key = rx.bnf_code if length >= 15 else rx.bnf_code.substr(0, length)
        j = rx.join(these, key == these.code)
        matched.append(j.select("month", "base_type", "base", "bnf_code", "items", "quantity", "cost",
                                "item_quantity", "measure", "part", "item_quantity_above"))
    if not matched:
        return None
    m = _union(matched)
    left_out = mc.filter(mc.exclude)
    for length in inp.measure_exclude_lengths:
        these = left_out.filter(left_out.code_length == length).select("measure", "part", xcode=_.code)
        key = m.bnf_code if length >= 15 else m.bnf_code.substr(0, length)
        m = m.anti_join(these, [m.measure == these.measure, m.part == these.part, key == these.xcode])
    return m.filter(m.item_quantity_above.isnull() | (m.item_quantity > m.item_quantity_above))


def _measure_registered(inp: Inputs, info: ibis.Table) -> tuple[ibis.Table | None, ibis.Table | None]:
    """Registered patients (all ages) per base organisation and month, for every measure whose
    denominator is registered patients: (practice list sizes, the org-level files' list sizes),
    the latter not for measures that need each item's quantity, which org-level rows lack."""
    practice = org = None
    per_registered = info.filter(info.registered)
    if inp.list_sizes is not None:
        ls = inp.list_sizes.semi_join(inp.months.select("month"), "month")
        org_months = _org_only_months(inp)
        if org_months is not None:
            ls = ls.anti_join(org_months, "month")
        total = ls.filter((ls.sex == "all") & (ls.age_band == "all")).select(
            "month", "practice", registered=ls.patients.cast("float64"))
        t = total.cross_join(per_registered.select("measure"))
        practice = t.select("month", base_type=ibis.literal("practice"), base=t.practice, measure=t.measure,
                            numerator=ibis.literal(0.0), denominator=t.registered,
                            numerator_cost=ibis.literal(0.0), denominator_cost=ibis.null("float64"))
    po = _org_rows(inp)
    if po is not None:
        sizes = po.group_by([po.month, po.org_type, po.org_code]).aggregate(
            registered=po.list_size.max().cast("float64"))
        t = sizes.cross_join(per_registered.filter(~per_registered.item_level).select("measure"))
        org = t.select("month", base_type=t.org_type, base=t.org_code, measure=t.measure,
                       numerator=ibis.literal(0.0), denominator=t.registered,
                       numerator_cost=ibis.literal(0.0), denominator_cost=ibis.null("float64"))
    return practice, org


def _measure_sums(parts: list[ibis.Table]) -> ibis.Table | None:
    """The parts summed per month, base organisation and measure. A numerator counted in a unit the
    file lacks (items of an org-level file of quantities only) is unknown, not 0 (as in `base_facts`)."""
    if not parts:
        return None
    u = _union(parts)
    sums = {c: u[c].sum() for c in MEASURE_SUMMED}
    sums["numerator"] = ibis.ifelse(u.numerator.isnull().any(), ibis.null("float64"), u.numerator.sum())
    return u.group_by(["month", "base_type", "base", "measure"]).aggregate(**sums)


def measure_base_facts(inp: Inputs) -> ibis.Table:
    """(month, base_type, base, measure, numerator, denominator, numerator_cost, denominator_cost)
    from practice- and org-level prescribing, each BNF code prefix matched on the code's first
    characters. The numerator (and a proportion's denominator) sums the measure's unit: items,
    quantity (total quantity dispensed) or actual cost; the cost columns sum the actual cost of
    the same rows. A denominator of registered patients comes from the list sizes instead."""
    if inp.measure_codes is None or inp.measure_info is None:
        raise ValueError("no measures")
    if inp.prescribing is None and inp.prescribing_org is None:
        raise ValueError("no prescribing loaded")
    info = inp.measure_info
    parts: dict[bool, list[ibis.Table]] = {False: [], True: []}  # practice-level, org-level
    sources = []
    if inp.prescribing is not None:
        rx = inp.prescribing.semi_join(inp.months.select("month"), "month")
        sources.append((rx.select("month", "bnf_code", base_type=ibis.literal("practice"), base=rx.practice,
                                  items=rx["items"].cast("float64"), quantity=rx.total_quantity.cast("float64"),
                                  cost=rx.actual_cost.cast("float64"), item_quantity=rx.quantity.cast("float64")),
                        inp.measure_codes, False))
    po = _org_rows(inp)
    if po is not None:
        # aggregated rows carry no quantity per item: measures that need it are left out here
        whole = info.filter(~info.item_level).select("measure")
        sources.append((po.select("month", "bnf_code", base_type=po.org_type, base=po.org_code,
                                  items=po["items"].cast("float64"), quantity=po.quantity.cast("float64"),
                                  cost=po.actual_cost.cast("float64"), item_quantity=ibis.null("float64")),
                        inp.measure_codes.semi_join(whole, "measure"), True))
    for rx, codes, is_org in sources:
        m = _measure_rows(rx, inp, codes)
        if m is None:
            continue
        m = m.join(info.select("measure", "unit"), "measure")
        value = ibis.cases((m.unit == "quantity", m.quantity), (m.unit == "actual_cost", m.cost), else_=m["items"])
        is_num = m.part == "numerator"
        parts[is_org].append(m.select(
            "month", "base_type", "base", "measure",
            numerator=ibis.ifelse(is_num, value, 0.0),
            denominator=ibis.ifelse(is_num, ibis.null("float64"), value),
            numerator_cost=ibis.ifelse(is_num, m.cost, 0.0),
            denominator_cost=ibis.ifelse(is_num, ibis.null("float64"), m.cost)))
    practice_rx = _measure_sums(parts[False])
    registered, org_registered = _measure_registered(inp, info)
    # org-level rows layered over the practices inside them: prescribing and registered patients apart,
    # so that an org-level file silent about a measure's codes subtracts nothing from its numerator
    out = [t for t in (practice_rx, _less_practices(_measure_sums(parts[True]), practice_rx, inp, "measure",
                                                    MEASURE_SUMMED),
                       registered, _less_practices(org_registered, registered, inp, "measure", MEASURE_SUMMED))
           if t is not None]
    if not out:
        raise ValueError("no measure has any BNF code")
    return _measure_sums(out)


def measure_level_facts(facts: ibis.Table, inp: Inputs, levels: tuple[str, ...] = LEVELS, *,
                        current: bool = False) -> ibis.Table:
    """Measure numerators, denominators and costs at every level, with the value (numerator ÷
    denominator, × per for a rate per registered patients), England's value and each
    organisation's percentile rank."""
    m = level_facts(facts, inp, levels, current=current, key="measure", columns=MEASURE_SUMMED)
    per = inp.measure_info.select("measure", "per")
    m = m.join(per, "measure")
    m = m.mutate(value=ibis.ifelse(m.denominator > 0, m.numerator * m.per / m.denominator,
                                   ibis.null("float64"))).drop("per")
    return _benchmarked(m, "measure")
