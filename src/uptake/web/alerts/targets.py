"""What a subscription may follow, checked against the publication and the catalogue: the page's
form, the API and `uptake alerts subscribe` all go through `check`, and label what they show with
`describe`."""

from __future__ import annotations

from dataclasses import dataclass

from ...engine.hierarchy import ENGLAND
from ...errors import UptakeError
from ...services.search import LEVEL_NAMES, Directory
from ..store import cached, published
from .models import Subscription

KIND_NAMES = {Subscription.ORGANISATION: "organisation", Subscription.TA: "NICE TA",
              Subscription.AREA: "clinical area", Subscription.COMPLIANCE: "formulary deadlines of an ICB"}
KINDS = tuple(k for k, _ in Subscription.KINDS)


class BadTarget(UptakeError):
    """A kind or target that does not exist (the form, the API and the CLI say why)."""


@dataclass(frozen=True)
class Target:
    kind: str
    code: str  # normalised: upper-case ODS code or TA id; the area's id
    label: str  # what it is, for people: "NHS Frimley ICB (QNQ), ICB"


def check(kind: str, target: str) -> Target:
    """The target normalised and described, or BadTarget saying what was expected."""
    kind = (kind or "").strip().lower()
    raw = (target or "").strip()
    if kind not in KINDS:
        raise BadTarget(f"kind {kind!r}: expected one of {', '.join(KINDS)}")
    if not raw:
        raise BadTarget("say what to follow: an ODS code, a TA number or a clinical area")
    pub = published()
    if kind == Subscription.TA:
        key = raw.upper()
        key = f"TA{key}" if key.isdigit() else key
        try:
            ta = pub.catalogue.ta(key)
        except (LookupError, UptakeError):
            ta = pub.catalogue.ta(_by_name(raw, "ta", f"no NICE TA {raw!r} in the catalogue (e.g. TA275 or its title)"))
        return Target(kind, ta.id, f"{ta.id}: {ta.title}")
    if kind == Subscription.AREA:
        areas = {a.id: a for a in pub.catalogue.areas}
        key = raw.lower().replace(" ", "_")
        key = next((a.id for a in areas.values() if a.name.lower() == raw.lower()), key)
        if key not in areas:
            raise BadTarget(f"no clinical area {raw!r}; expected one of {', '.join(sorted(areas))}")
        return Target(kind, key, f"{areas[key].name} (clinical area)")
    code = raw.upper()
    try:
        level = pub.org_level(code)
    except UptakeError:
        code = _by_name(raw, "organisation", f"no organisation {raw!r} in the published scorecard (give its name or "
                                             "ODS code, e.g. QHM)")
        level = pub.org_level(code)
    if level == ENGLAND:
        raise BadTarget("England is the benchmark, not an organisation to follow: choose a region, ICB, sub-ICB, "
                        "PCN or practice")
    name = pub.names().get((level, code))
    if kind == Subscription.COMPLIANCE:
        if level != "icb":
            raise BadTarget(f"{code} is a {LEVEL_NAMES.get(level, level)}: formulary deadlines are followed for an ICB")
        return Target(kind, code, f"formulary deadlines of {name or code} ({code})")
    return Target(kind, code, f"{name or code} ({code}), {LEVEL_NAMES.get(level, level)}")


@cached
def _directory() -> Directory:
    """Names to search, once per publication (the search box's own is in the pages' layer)."""
    return Directory(published().organisations(), published().catalogue)


def _by_name(text: str, kind: str, missing: str) -> str:
    """The code of the one organisation or TA whose name best matches `text` (typos tolerated, as
    the search box); BadTarget naming the candidates when two match equally, `missing` when none."""
    hits = _directory().search(text, limit=3, kinds=(kind,))
    if not hits:
        raise BadTarget(missing)
    if len(hits) > 1 and hits[1].score >= hits[0].score:
        tied = [h for h in hits if h.score >= hits[0].score]
        raise BadTarget(f"{text!r} matches " + " and ".join(f"{h.name} ({h.code})" for h in tied)
                        + ": give the code")
    return hits[0].code


def describe(kind: str, target: str) -> str:
    """A subscription's label; the bare kind and target when the publication no longer has it."""
    try:
        return check(kind, target).label
    except UptakeError:
        return f"{KIND_NAMES.get(kind, kind)} {target}"


def choices() -> dict[str, list[tuple[str, str]]]:
    """Suggestions for the form: every TA, area, region and ICB (practices and PCNs by code)."""
    pub = published()
    orgs = sorted((o for o in pub.organisations() if o["level"] in ("region", "icb")),
                  key=lambda o: (o["level"] != "region", o["name"] or o["code"]))
    return {
        "tas": [(t.id, f"{t.id}: {t.title}") for t in sorted(pub.catalogue.technology_appraisals,
                                                             key=lambda t: t.number)],
        "areas": [(a.id, a.name) for a in pub.catalogue.areas],
        "icbs": [(o["code"], o["name"] or o["code"]) for o in orgs if o["level"] == "icb"],
        "organisations": [(o["code"], f"{o['name'] or o['code']} ({LEVEL_NAMES[o['level']]})") for o in orgs],
    }
