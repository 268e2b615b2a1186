"""How big a synthetic NHS to make."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """The size of a synthetic NHS.

    Every scale keeps all 7 regions and 42 ICBs (with their real codes), so that ICB-level
    statistics work at any size; scales differ in the number of practices in each ICB.
    """

    name: str
    practices_per_icb: tuple[int, int] | None  # (min, max); None = national total below
    national_practices: int | None
    pcn_size: int  # practices per PCN, about
    trusts_per_icb: tuple[int, int]  # (min, max), more for bigger ICBs
    background_codes: int | None  # background BNF presentations; None = all (~3,200)
    closures: int  # practices that close and merge into a neighbour during the period
    openings: int  # practices that open during the period
    moves: int  # practices that move to another sub-ICB location during the period

    def __str__(self) -> str:
        return self.name


SCALES: dict[str, Scale] = {
    s.name: s
    for s in [
        Scale("tiny", (2, 2), None, 2, (1, 1), 12, 1, 1, 1),
        Scale("small", (6, 10), None, 3, (2, 3), 30, 3, 2, 2),
        Scale("national", None, 6300, 5, (2, 7), None, 40, 25, 12),
    ]
}


def scale(name: str | Scale) -> Scale:
    if isinstance(name, Scale):
        return name
    try:
        return SCALES[name]
    except KeyError:
        raise ValueError(f"unknown scale {name!r}; expected one of {', '.join(SCALES)}") from None
