"""The public view's sample data for the demo: the real recorded registry files in
../shared/data/trials (shown on the pages as a saved copy of the registry, since they carry no
fetch time) and the real ONS postcode lookup for the postcode areas in
../shared/data/geo/nspl_nov2021_9_postcode_areas."""

from __future__ import annotations

from pathlib import Path

from ..warehouse import Warehouse

TRIALS = "trials"
NSPL = Path("geo") / "nspl_nov2021_9_postcode_areas"


def sample_files(shared: Path) -> list[Path]:
    """The files to load, postcodes first (the trial sites are placed with them)."""
    postcodes = sorted((shared / NSPL).glob("NSPL_*.csv*"))
    trials = sorted(p for p in (shared / TRIALS).rglob("*") if p.is_file() and p.suffix in (".json", ".gz", ".csv"))
    return postcodes + trials


def load_public_sample(warehouse: Warehouse, shared: Path) -> dict:
    """Load the sample; returns the rows loaded per dataset and the files loaded."""
    rows: dict[str, int] = {}
    files = sample_files(shared)
    for path in files:
        result = warehouse.load(path)
        for name, n in result.rows.items():
            rows[name] = rows.get(name, 0) + n
    return {"files": len(files), "rows": rows}
