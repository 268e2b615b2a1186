"""The catalogue of NICE technology appraisals, clinical areas and NHS England's national
medicines optimisation opportunities.

Reference knowledge kept as reviewed data files (``data/areas.yaml`` and one
``data/technology_appraisals/TAnnn.yaml`` per appraisal, validated against ``schema.json``
when loaded; ``data/measures/<id>.yaml`` and ``data/opportunities/<id>.yaml``, validated by
their loaders)::

    from uptake.catalogue import load_catalogue, load_opportunities, opportunity
    cat = load_catalogue()
    ta = cat.ta("TA275")
    ta.funding_deadline, ta.bnf_chemicals, ta.presentation_codes
    opportunity(9).headline_measure          # 'doacs_best_value'
"""

from uptake.catalogue.loader import (
    DATA_DIR,
    SCHEMA_PATH,
    Catalogue,
    CatalogueError,
    UnknownEntry,
    load_catalogue,
)
from uptake.catalogue.models import (
    ClinicalArea,
    DailyDose,
    EligiblePopulation,
    ExpectedUptake,
    Presentation,
    Product,
    TechnologyAppraisal,
)
from uptake.catalogue.opportunities import (
    Benchmark,
    Opportunity,
    Target,
    load_opportunities,
    opportunity,
)

__all__ = [
    "Benchmark",
    "DATA_DIR",
    "SCHEMA_PATH",
    "Catalogue",
    "CatalogueError",
    "ClinicalArea",
    "DailyDose",
    "EligiblePopulation",
    "ExpectedUptake",
    "Opportunity",
    "Presentation",
    "Product",
    "Target",
    "TechnologyAppraisal",
    "UnknownEntry",
    "load_catalogue",
    "load_opportunities",
    "opportunity",
]
