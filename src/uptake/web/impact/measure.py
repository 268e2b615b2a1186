"""The measured effect of interventions, from the published scorecard, for the pages."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import UptakeError
from ...services.impact import Impact, describe, impact
from ..store import published
from .store import Intervention

MAX_ESTIMATES = 12  # per page: an item naming many TAs × organisations shows the first dozen


@dataclass
class Measured:
    intervention: Intervention
    impact: Impact | None
    error: str | None
    did_text: str
    its_text: str


def measure(items: list[Intervention]) -> list[Measured]:
    src = published()
    out = []
    for it in items[:MAX_ESTIMATES]:
        try:
            im = impact(src, it.org, it.ta, it.when)
        except UptakeError as e:
            out.append(Measured(it, None, str(e), "", ""))
            continue
        out.append(Measured(it, im, None, describe(im.did, im.headline), describe(im.its, im.headline)))
    return out
