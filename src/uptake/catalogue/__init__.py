"""The catalogue of NICE technology appraisals and clinical areas.

Reference knowledge kept as reviewed data files (``data/areas.yaml`` and one
``data/technology_appraisals/TAnnn.yaml`` per appraisal), validated against
``schema.json`` when loaded::

    from uptake.catalogue import load_catalogue
    cat = load_catalogue()
    ta = cat.ta("TA275")
    ta.funding_deadline, ta.bnf_chemicals, ta.presentation_codes
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

__all__ = [
    "DATA_DIR",
    "SCHEMA_PATH",
    "Catalogue",
    "CatalogueError",
    "ClinicalArea",
    "DailyDose",
    "EligiblePopulation",
    "ExpectedUptake",
    "Presentation",
    "Product",
    "TechnologyAppraisal",
    "UnknownEntry",
    "load_catalogue",
]
