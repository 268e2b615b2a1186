"""Parquet datasets partitioned by month, a state file naming the current files, a load ledger."""

from .store import LoadResult, Warehouse, sha256_file

__all__ = ["LoadResult", "Warehouse", "sha256_file"]
