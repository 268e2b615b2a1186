"""NHS England's "Similar 10" method: the organisations most like each other on a weighted set of
variables (RightCare, Model Health System and Viewpoint use it for CCGs / sub-ICB locations).

The method, as NHS England's own code does it (github.com/nhsengland/NHSE-Methods-10-Similar-CCGs,
`Similar10CCG.R`, commit c2960c8; see docs/metrics.md, "Peers"):

1. cap every variable at its mean + 5 standard deviations;
2. take the square root of the capped values (to reduce skew);
3. standardise: subtract the mean and divide by the standard deviation of the square roots;
4. the similarity of two organisations is Σ weight × (difference of standardised values)²
   — NHS England's "similarity", a weighted squared Euclidean distance (its square root is the
   weighted Euclidean distance; both rank peers identically);
5. each organisation's peers are the 10 with the smallest non-zero similarity.

Standard deviations are population ones (divisor n), as in NHS England's code
(`sd(x) * sqrt((n - 1) / n)`). Ties at the 10th place are broken by code, for a stable answer
(NHS England's `top_n` would keep every tied organisation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import UptakeError

PEERS = 10
CAP_SD = 5.0
_BLOCK = 512  # rows of the similarity matrix computed at once (bounded memory for 6,000+ practices)


@dataclass(frozen=True)
class Peer:
    org: str
    peer: str
    rank: int  # 1 = most similar
    similarity: float  # NHS England's value: Σ w·Δz² (smaller = more alike)

    @property
    def distance(self) -> float:
        """The weighted Euclidean distance, √similarity."""
        return float(np.sqrt(self.similarity))


def _population_sd(x: np.ndarray) -> np.ndarray:
    return x.std(axis=0, ddof=0)


def standardise(values: np.ndarray, variables: list[str] | None = None) -> np.ndarray:
    """Steps 1-3 for a matrix of organisations (rows) × variables (columns), no missing values."""
    x = np.asarray(values, dtype=np.float64)
    names = variables or [f"column {j + 1}" for j in range(x.shape[1])]
    if x.ndim != 2 or x.shape[0] < 2:
        raise UptakeError("Similar-10 needs a table of at least two organisations × one or more variables")
    for j, name in enumerate(names):
        if not np.all(np.isfinite(x[:, j])):
            raise UptakeError(f"Similar-10: variable {name} has missing values; every organisation needs every variable")
        if np.any(x[:, j] < 0):
            raise UptakeError(f"Similar-10: variable {name} has negative values; expected counts, shares or scores ≥ 0")
    capped = np.minimum(x, x.mean(axis=0) + CAP_SD * _population_sd(x))
    roots = np.sqrt(capped)
    sd = _population_sd(roots)
    for j, name in enumerate(names):
        if sd[j] == 0:
            raise UptakeError(f"Similar-10: variable {name} is the same for every organisation; leave it out")
    return (roots - roots.mean(axis=0)) / sd


def similarity_rows(z: np.ndarray, weights: np.ndarray, rows: slice) -> np.ndarray:
    """Σ_k w_k (z_ik − z_jk)² for the organisations in `rows` (i) against all (j)."""
    d = z[rows, None, :] - z[None, :, :]
    return np.einsum("ijk,k->ij", d * d, weights)


def similar(codes: list[str], values: np.ndarray, weights: list[float] | np.ndarray,
            variables: list[str] | None = None, n: int = PEERS) -> list[Peer]:
    """The `n` most similar organisations of every organisation, nearest first."""
    if len(set(codes)) != len(codes):
        raise UptakeError("Similar-10: organisation codes must be unique")
    w = np.asarray(weights, dtype=np.float64)
    x = np.asarray(values, dtype=np.float64)
    if w.shape != (x.shape[1],):
        raise UptakeError(f"Similar-10: {x.shape[1]} variables but {w.size} weights")
    if np.any(w < 0) or w.sum() <= 0:
        raise UptakeError("Similar-10: weights must be ≥ 0 and not all zero")
    z = standardise(x, variables)
    rank_of_code = np.empty(len(codes), dtype=np.int64)
    rank_of_code[np.argsort(np.asarray(codes, dtype=object), kind="stable")] = np.arange(len(codes))
    out: list[Peer] = []
    for start in range(0, len(codes), _BLOCK):
        block = similarity_rows(z, w, slice(start, start + _BLOCK))
        for i, row in enumerate(block, start=start):
            row = row.copy()
            row[i] = np.inf
            row[row <= 0] = np.inf  # NHS England drops similarity 0 (itself, or an identical twin)
            k = min(n, int(np.isfinite(row).sum()))
            if k == 0:
                continue
            cut = np.partition(row, k - 1)[k - 1]
            near = np.flatnonzero(row <= cut)
            chosen = near[np.lexsort((rank_of_code[near], row[near]))][:k]  # by similarity, then code
            out.extend(Peer(codes[i], codes[j], r, float(row[j])) for r, j in enumerate(chosen, start=1))
    return out
