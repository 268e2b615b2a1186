"""Parquet datasets partitioned by month, a state file naming the current files, a load ledger."""

from .coverage import load_is_current
from .store import LoadResult, Warehouse, sha256_file

__all__ = ["LoadResult", "Warehouse", "load_is_current", "sha256_file"]
