"""Reading and changing formulary decisions in the portal's database. Every change is logged
(who, when, how, before and after); a file is imported in one transaction or not at all."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from django.db import transaction

from ... import config
from ...catalogue import load_catalogue
from ...errors import UptakeError
from ...services import compliance as rules
from .. import limits
from ..models import ContentStamp
from .models import Decision, DecisionChange, Formulary, FormularyIcb


class Conflict(UptakeError):
    """Someone else changed the decision since the editor opened it."""


class Invalid(UptakeError):
    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


def decisions(formulary: str | None = None, tas: list[str] | None = None) -> list[rules.Decision]:
    """The recorded decisions, of one formulary and of some TAs only when asked."""
    qs = Decision.objects.all()
    if formulary:
        qs = qs.filter(formulary_id=formulary)
    if tas is not None:
        qs = qs.filter(ta__in=tas)
    return [rules.Decision(d.formulary_id, d.ta, d.decision, d.decision_date, d.restrictions, d.reason, d.evidence,
                           d.recorded_by) for d in qs]


def icb_formularies() -> dict[str, str]:
    """ICB code → the code of the formulary it uses."""
    return dict(FormularyIcb.objects.values_list("icb", "formulary_id"))


def formulary_of(icb: str) -> Formulary | None:
    link = FormularyIcb.objects.select_related("formulary").filter(icb=icb.upper()).first()
    return link.formulary if link else None


def validate(decision: str, decision_date: date | None, restrictions: str, reason: str, ta: str,
             evidence: str = "") -> dict[str, str]:
    """What is wrong with a decision, field by field (empty when nothing is)."""
    problems = {}
    if decision not in rules.DECISIONS:
        problems["decision"] = f"{decision!r}: expected one of {', '.join(rules.DECISIONS)}"
    if decision_date is None:
        problems["decision_date"] = "expected a date (YYYY-MM-DD)"
    elif (late := limits.date_problem("the date", decision_date, config.today())) is not None:
        problems["decision_date"] = late
    for field, value in (("restrictions", restrictions), ("reason", reason), ("evidence", evidence)):
        if (long := limits.text_problem(f"the {field}", value, limits.SHORT_TEXT)) is not None:
            problems[field] = long
    if decision == "included_with_restrictions" and not restrictions.strip():
        problems["restrictions"] = "say which restrictions (they must match NICE's recommendation)"
    if decision in ("not_applicable", "rejected") and not reason.strip():
        problems["reason"] = f"a reason is needed when the decision is {rules.DECISION_LABELS[decision].lower()}"
    cat = load_catalogue()
    if ta not in cat:
        problems["ta"] = f"{ta!r} is not in the catalogue"
    return problems


def _log(d: Decision | None, formulary: str, ta: str, action: str, before, after, who: str, user, via: str,
         detail: str = "") -> None:
    DecisionChange.objects.create(decision=d, formulary=formulary, ta=ta, action=action, before=before, after=after,
                                  who=who, user=user if user is not None and user.is_authenticated else None,
                                  via=via, detail=detail[:300])


def ensure_formulary(icb: str, name: str) -> Formulary:
    """The formulary an ICB uses, made (named after the ICB) when none is recorded."""
    existing = formulary_of(icb)
    if existing:
        return existing
    f, _ = Formulary.objects.get_or_create(code=icb.upper(), defaults={"name": name})
    FormularyIcb.objects.update_or_create(icb=icb.upper(), defaults={"formulary": f})
    return f


def record(*, formulary: Formulary, ta: str, decision: str, decision_date: date | None, restrictions: str = "",
           reason: str = "", evidence: str = "", who: str, user=None, via: str = "web",
           instance: Decision | None = None, version: int | None = None) -> Decision:
    """Create a decision, or change `instance` (refused with Conflict when its version is not the
    one the editor started from), and log the change."""
    ta = ta.strip().upper()
    problems = validate(decision, decision_date, restrictions, reason, ta, evidence)
    if problems:
        raise Invalid(problems)
    with transaction.atomic():
        clash = Decision.objects.filter(formulary=formulary, ta=ta, decision_date=decision_date)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            raise Invalid({"decision_date": f"{formulary.code} already has a decision on {ta} dated {decision_date}; "
                                            "change that one instead"})
        if instance is None:
            d = Decision.objects.create(formulary=formulary, ta=ta, decision=decision, decision_date=decision_date,
                                        restrictions=restrictions, reason=reason, evidence=evidence, recorded_by=who)
            _log(d, formulary.code, ta, "created", None, d.values(), who, user, via)
            return d
        d = Decision.objects.select_for_update().get(pk=instance.pk)
        if version is not None and d.version != version:
            raise Conflict(f"this decision was changed by {d.recorded_by or 'someone'} at {d.updated_at:%Y-%m-%d %H:%M} "
                           "after you opened it; review their change and try again")
        before = d.values()
        d.decision, d.decision_date, d.restrictions = decision, decision_date, restrictions
        d.reason, d.evidence, d.recorded_by = reason, evidence, who
        if d.values() == before:
            return d
        d.version += 1
        d.save()
        _log(d, formulary.code, ta, "changed", before, d.values(), who, user, via)
        return d


def delete(d: Decision, *, who: str, user=None, via: str = "web") -> None:
    with transaction.atomic():
        _log(None, d.formulary_id, d.ta, "deleted", d.values(), None, who, user, via)
        d.delete()


def history(formulary: str, ta: str):
    return DecisionChange.objects.filter(formulary=formulary, ta=ta.upper())


@dataclass
class ImportReport:
    file: str
    rows: int
    created: int
    changed: int
    unchanged: int
    formularies: int
    icbs: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def import_rows(rows: Iterable, *, source: str, who: str, user=None) -> ImportReport:
    """Load checked rows (uptake.sources.formulary.DecisionRow) in one transaction: formularies
    and the ICBs they serve are created or updated, decisions created or changed (keyed by
    formulary, TA and date), every change logged; loading the same rows twice changes nothing."""
    t0 = time.perf_counter()
    rows = list(rows)
    created = changed = unchanged = 0
    with transaction.atomic():
        forms = {f.code: f for f in Formulary.objects.all()}
        links = icb_formularies()
        seen_forms: set[str] = set()
        for r in rows:
            if r.formulary not in seen_forms:
                seen_forms.add(r.formulary)
                f = forms.get(r.formulary)
                if f is None:
                    f = forms[r.formulary] = Formulary.objects.create(code=r.formulary, name=r.formulary_name)
                elif f.name != r.formulary_name:
                    f.name = r.formulary_name
                    f.save(update_fields=["name"])
                for icb in r.icbs:
                    if links.get(icb) != r.formulary:
                        FormularyIcb.objects.update_or_create(icb=icb, defaults={"formulary": f})
                        links[icb] = r.formulary
        existing = {(d.formulary_id, d.ta, d.decision_date): d
                    for d in Decision.objects.filter(formulary_id__in=seen_forms)}
        for r in rows:
            want = {"decision": r.decision, "restrictions": r.restrictions, "reason": r.reason,
                    "evidence": r.evidence, "recorded_by": r.recorded_by or who}
            d = existing.get((r.formulary, r.ta, r.decision_date))
            detail = f"{source}, line {r.line}"
            if d is None:
                d = Decision.objects.create(formulary=forms[r.formulary], ta=r.ta, decision_date=r.decision_date,
                                            **want)
                _log(d, r.formulary, r.ta, "created", None, d.values(), who, user, "file", detail)
                created += 1
                continue
            if all(getattr(d, k) == v for k, v in want.items()):
                unchanged += 1
                continue
            before = d.values()
            for k, v in want.items():
                setattr(d, k, v)
            d.version += 1
            d.save()
            _log(d, r.formulary, r.ta, "changed", before, d.values(), who, user, "file", detail)
            changed += 1
        if created or changed:
            ContentStamp.renew()
    return ImportReport(source, len(rows), created, changed, unchanged, len(seen_forms),
                        sum(len(r.icbs) for r in {r.formulary: r for r in rows}.values()),
                        round(time.perf_counter() - t0, 3))


def import_file(path: str | Path, *, who: str, user=None) -> ImportReport:
    """Read a formulary decisions CSV (refused whole, with every bad line, when any is bad) and load it."""
    from ...sources.formulary import read_formulary_decisions

    path = Path(path)
    rows = read_formulary_decisions(path, known_tas={t.id for t in load_catalogue().technology_appraisals})
    return import_rows(rows, source=path.name, who=who, user=user)
