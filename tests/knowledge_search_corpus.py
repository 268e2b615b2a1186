"""A fixed corpus for the search tests, the queries with the item a person would expect first,
and `answers()`: the full answers (order, facets) as plain data, so the SQLite and PostgreSQL runs
can be compared item for item."""

from __future__ import annotations

from datetime import date

DOCS = [
    ("case_study", "doac-switch", "Switching warfarin patients to apixaban in general practice",
     "Pharmacists reviewed people with atrial fibrillation on warfarin and offered a DOAC such as apixaban.",
     date(2022, 3, 1), {"ta": ["TA275"], "area": ["stroke"], "region": ["Y63"], "sector": ["primary_care"],
                        "industry": ["no"]}),
    ("case_study", "fracture-liaison", "Fracture liaison service starts bisphosphonates",
     "A hospital service found fragility fractures and started alendronic acid before discharge.",
     date(2021, 6, 1), {"ta": ["TA464"], "area": ["osteoporosis"], "region": ["Y62"], "sector": ["secondary_care"],
                        "industry": ["no"]}),
    ("case_study", "heart-failure-sglt2", "Heart failure team adds dapagliflozin",
     "Nurse specialists started dapagliflozin for reduced ejection fraction; a manufacturer funded an audit.",
     date(2022, 8, 1), {"ta": ["TA679"], "area": ["heart_disease"], "region": ["Y63"], "sector": ["community"],
                        "industry": ["yes"]}),
    ("case_study", "insulin-pumps", "Group starts for insulin pumps",
     "Continuous subcutaneous insulin infusion started in groups cut the waiting list for type 1 diabetes.",
     date(2020, 1, 1), {"ta": ["TA151"], "area": ["diabetes"], "region": ["Y58"], "sector": ["secondary_care"],
                        "industry": ["no"]}),
    ("guide", "doac-guide", "How to implement DOACs for atrial fibrillation",
     "Check the formulary, find people with atrial fibrillation, offer shared decisions, measure uptake.",
     date(2022, 9, 1), {"ta": ["TA275"], "area": ["stroke"]}),
    ("guide", "formulary-90-days", "Meeting the 90-day formulary deadline",
     "Positive technology appraisals go on the formulary by chair's action within two weeks.",
     date(2022, 5, 1), {}),
    ("wiki", "glossary", "Glossary of implementation terms",
     "Technology appraisal, funding direction, uptake index, resource impact and eligible population.",
     date(2022, 2, 1), {}),
    ("barrier", "1", "No capacity for DXA scans",
     "Waits for bone density scanning exceed six months and delay osteoporosis treatment.",
     date(2022, 4, 1), {"ta": ["TA464", "TA204"], "area": ["osteoporosis"], "region": ["Y62", "Y58"]}),
    ("barrier", "2", "Inclisiran needs a shared-care protocol",
     "Practices will not give inclisiran injections for cholesterol without an agreed protocol.",
     date(2022, 7, 1), {"ta": ["TA733"], "area": ["heart_disease"], "region": ["Y61"]}),
    ("thread", "1", "Dosing apixaban at low body weight",
     "How do you dose apixaban for people under 60 kg? We check creatinine clearance at every review.",
     date(2022, 6, 1), {"ta": ["TA275"], "area": ["stroke"]}),
    ("barrier", "3", "Thrombolysis rota for stroke",
     "Alteplase for acute ischaemic stroke needs a stroke physician available around the clock.",
     date(2021, 11, 1), {"ta": ["TA264"], "area": ["stroke"], "region": ["Y60"]}),
    ("case_study", "lipid-clinic", "A lipid clinic finds people for inclisiran and ezetimibe",
     "Monthly searches found people with cardiovascular disease and high LDL cholesterol despite statins.",
     date(2022, 2, 15), {"ta": ["TA733", "TA385"], "area": ["heart_disease"], "region": ["Y61"],
                         "sector": ["primary_care"], "industry": ["no"]}),
]

# (query, the key a person expects first)
EXPECTED_FIRST = [
    ("apixaban warfarin", "doac-switch"),
    ("fracture liaison", "fracture-liaison"),
    ("dapagliflozin heart failure", "heart-failure-sglt2"),
    ("insulin pump", "insulin-pumps"),
    ("implement DOACs", "doac-guide"),
    ("formulary deadline", "formulary-90-days"),
    ("glossary", "glossary"),
    ("DXA scanning", "1"),
    ("shared-care protocol inclisiran", "2"),
    ("thrombolysis", "3"),
]


def load() -> None:
    from uptake.web.knowledge import search

    for kind, key, title, body, day, facets in DOCS:
        search.index(kind, key, title=title, body=body, url=f"/{kind}/{key}/", day=day, example=False,
                     facets=facets)


def answers() -> dict:
    """Every expected-first query's full ordered answer, and facet counts for a few searches."""
    from uptake.web.knowledge import search

    out = {}
    for query, _ in EXPECTED_FIRST + [("atrial fibrillation", None), ("stroke", None), ("cholesterol", None)]:
        a = search.search(query)
        out[query] = {"order": [f"{r.kind}:{r.key}" for r in a.results], "total": a.total,
                      "facets": {k: [list(v) for v in vs] for k, vs in a.facets.items()}}
    filtered = search.search("", {"area": ["stroke"], "type": ["case_study", "guide"]})
    out["filtered"] = {"order": [f"{r.kind}:{r.key}" for r in filtered.results], "total": filtered.total}
    return out
