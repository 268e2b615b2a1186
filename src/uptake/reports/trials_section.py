"""The ICB report's section on clinical trials: how many trials for the catalogue's conditions
are recruiting (or opening soon) with a site in the ICB's area, from the trials and postcode
lookup loaded in the warehouse (services.trials.open_in_area). A site is in the area when its
postcode's ICB code in the lookup (ONS E54) is the ICB's; the ICB's ONS code comes from the
reviewed ICB list (sources/synthetic/data/icbs.csv: real ODS and ONS codes)."""

from __future__ import annotations

from ..catalogue.trial_conditions import load_trial_conditions
from ..config import warehouse_dir
from ..services.places import places_for
from ..services.trials import open_in_area, trials_for
from ..sources.synthetic.reference import load as load_reference
from ..warehouse import Warehouse
from .model import Column, Section, Table, Text


def icb_trials_section(ctx, code: str, name: str, warehouse: Warehouse | None = None) -> Section:
    section = Section("trials", f"Clinical trials recruiting in {name}")
    ons = next((i.ons_code for i in load_reference().icbs if i.code == code), None)
    wh = warehouse or Warehouse(warehouse_dir())
    trials = trials_for(wh)
    if ons is None or not len(trials):
        return section.add(Text("No trials are loaded (`uptake fetch trials`), or this ICB has no ONS code in the "
                                "reviewed ICB list.", kind="note"))
    conditions = load_trial_conditions()
    groups = [conditions.groups[g] for g in sorted(set(conditions.tas.values()))]
    found = open_in_area(trials, places_for(wh), ons, groups, ctx.as_of)
    section.add(Text(f"{len(found.trials)} trial{'s' if len(found.trials) != 1 else ''} for the conditions of the "
                     f"catalogue's TAs {'are' if len(found.trials) != 1 else 'is'} recruiting or opening soon with "
                     f"{found.sites} site{'s' if found.sites != 1 else ''} in {name} (ONS {ons}), on "
                     f"{ctx.as_of:%d %B %Y}."))
    section.add(Table(
        caption=f"Trials recruiting in {name}", columns=[Column("Trial"), Column("Condition"), Column("Status"),
                                                       Column("Sites here", numeric=True)],
        rows=[[f"{t.trial_id}: {t.title[:80]}", condition, t.status_words, str(len(sites))]
              for t, sites, condition in found.trials],
        period=f"{ctx.as_of:%d %B %Y}",
        sources="ClinicalTrials.gov and ISRCTN records loaded in the warehouse; ONS postcode lookup (NSPL)",
        empty="None found in the loaded trials."))
    if found.unplaced:
        section.add(Text(f"{found.unplaced} UK sites of these trials have postcodes outside the loaded postcode "
                         "lookup and could not be placed in an area.", kind="note"))
    if found.sample:
        section.add(Text("Some of these trials come from a recorded sample of the registries, not a live fetch: "
                         "they may be out of date.", kind="warning"))
    return section
