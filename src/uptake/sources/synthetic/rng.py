"""Deterministic random streams: one per stage (and per month, TA or chunk where useful).

Each stream is seeded from the user's seed plus fixed numbers naming the stage, so a stage's
numbers never depend on how much another stage consumed, and a month's numbers do not depend
on which other months are generated.
"""

from __future__ import annotations

import zlib

import numpy as np

ORGANISATIONS = 1
EVENTS = 2
POPULATION = 3
REGISTERS = 4
DIFFUSION = 5
PRESCRIBING = 6
BACKGROUND = 7
SECONDARY = 8
NAMES = 9


def stream(seed: int, stage: int, *more: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, stage, *(int(x) & 0xFFFFFFFF for x in more)])


def key(text: str) -> int:
    """A stable number for a text key (a BNF code, a TA id) to seed its own stream."""
    return zlib.crc32(text.encode())
