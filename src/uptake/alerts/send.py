"""`uptake alerts send`: every subscription's alerts for a day, one digest per person, through
Django's mail backend (SMTP per settings, or files in the outbox), recorded so that nothing is
sent twice.

For each person with new alerts (alerts whose key is not in their Delivery rows):

1. a Digest is recorded `pending` (committed) with its Message-ID and keys — or, when their latest
   unsent digest (pending or failed) carries exactly the same keys, that one is reused, Message-ID
   and all, with one more attempt; an unsent digest with other keys is marked `superseded`;
2. the message is handed to the mail server;
3. the digest is marked `sent` and a Delivery row written for each key, in one transaction.

A recipient the server refuses fails that digest alone (recorded with the error) and the run goes
on; any other mail error (the server down, a dropped connection) fails that digest and stops the
run. Either way the run reports failure (the CLI exits 1), what was sent stays recorded, and the
next run sends the rest. A process that dies between the server's acceptance and step 3 leaves
the digest pending: the next run sends it again with the same Message-ID (at least once, never
lost). One run at a time: a second is refused while the first holds the lock file.
"""

from __future__ import annotations

import fcntl
import logging
import smtplib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from email.utils import make_msgid, parseaddr
from pathlib import Path

from django.conf import settings
from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from ..errors import UptakeError
from . import rules
from .digest import Item, compose

log = logging.getLogger("uptake.alerts")


@dataclass
class Planned:
    """One person's digest-to-be."""

    user: object  # django.contrib.auth's User
    email: str
    items: list[Item]

    @property
    def keys(self) -> list[str]:
        return [i.alert.key for i in self.items]


@dataclass
class Plan:
    as_of: date
    month: date
    previous: date | None
    alerts: list[rules.Alert]
    people: list[Planned]
    first_seen: dict[str, date]
    new_known: dict[str, date]  # TAs to record as known (those not yet recorded)
    skipped: list[str] = field(default_factory=list)  # subscriptions whose target is no longer published


@dataclass
class Outcome:
    plan: Plan
    dry_run: bool
    sent: list = field(default_factory=list)  # Digest rows
    failed: list = field(default_factory=list)
    stopped: str | None = None  # the error that stopped the run

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped is None

    @property
    def left(self) -> int:
        """People planned but not attempted (the run stopped first)."""
        return len(self.plan.people) - len(self.sent) - len(self.failed)


def percentile_drop() -> float:
    return float(getattr(settings, "ALERT_PERCENTILE_DROP", rules.DEFAULT_PERCENTILE_DROP))


def plan(as_of: date, *, pub=None, drop: float | None = None) -> Plan:
    """Every person's new alerts as of `as_of` (nothing is written)."""
    from ..services import compliance as compliance_rules
    from ..web.alerts.models import Delivery, KnownTA, Subscription
    from ..web.compliance import store as compliance_store
    from ..web.compliance.models import Formulary
    from ..web.store import published

    pub = pub or published()
    month, previous = rules.data_months(pub.months(), as_of)
    subs = list(Subscription.objects.select_related("user").filter(user__is_active=True).exclude(user__email="")
                .order_by("user_id", "id"))
    follows, orgs, skipped = [], {}, []
    for s in subs:
        if s.kind == Subscription.ORGANISATION and s.target not in orgs:
            try:
                orgs[s.target] = pub.org_level(s.target)
            except UptakeError:
                skipped.append(f"{s.user.email}: {s.kind} {s.target} (not in the publication)")
                continue
        follows.append(rules.Follow(s.id, s.user_id, s.kind, s.target))
    kinds = {f.kind for f in follows}
    areas = {f.target for f in follows if f.kind == Subscription.AREA}
    tas = {f.target for f in follows if f.kind == Subscription.TA} | {
        t.id for t in pub.catalogue.technology_appraisals if t.clinical_area in areas}

    alerts = rules.uptake_alerts(pub, month, previous, organisations=orgs, tas=tas,
                                 drop=percentile_drop() if drop is None else drop)
    from .peer_rules import lowest_among_peers_alerts

    alerts += lowest_among_peers_alerts(pub, month, previous, organisations=orgs)
    known = dict(KnownTA.objects.values_list("ta", "first_seen"))
    seen = rules.first_seen(pub.catalogue, known, as_of)
    if areas:
        alerts += rules.new_ta_alerts(pub.catalogue, seen, as_of)
    icbs = {f.target for f in follows if f.kind == Subscription.COMPLIANCE}
    if icbs:
        c = compliance_rules.compliance(pub.catalogue, compliance_rules.icbs_of(pub, compliance_store.icb_formularies()),
                                        compliance_store.decisions(), as_of)
        alerts += rules.deadline_alerts(c, icbs, dict(Formulary.objects.values_list("code", "name")))
    if kinds & {Subscription.ORGANISATION, Subscription.TA, Subscription.AREA}:
        alerts += rules.knowledge_alerts(pub.catalogue, as_of)

    users = {s.user_id: s.user for s in subs}
    per_person = rules.for_people(alerts, follows)
    delivered = set(Delivery.objects.filter(user_id__in=list(per_person)).values_list("user_id", "key"))
    people = []
    for user_id in sorted(per_person, key=lambda u: users[u].email.lower()):
        items = [Item(a, fs) for a, fs in per_person[user_id] if (user_id, a.key) not in delivered]
        if items:
            people.append(Planned(users[user_id], users[user_id].email, items))
    return Plan(as_of=as_of, month=month, previous=previous, alerts=alerts, people=people, first_seen=seen,
                new_known={ta: d for ta, d in seen.items() if ta not in known}, skipped=skipped)


@contextmanager
def _one_run_at_a_time():
    path = Path(settings.HOME) / "alerts.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UptakeError(f"another `uptake alerts send` is running (it holds {path}); try again when it ends"
                              ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _record_known(new_known: dict[str, date]) -> None:
    from ..web.alerts.models import KnownTA

    for ta, day in new_known.items():
        KnownTA.objects.get_or_create(ta=ta, defaults={"first_seen": day})


def _message_id() -> str:
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "uptake.local"
    return make_msgid("alerts", domain=domain)


def _pending(person: Planned, as_of: date, month: date):
    """The Digest to send for `person`, recorded pending (and committed) before sending."""
    from ..web.alerts.models import Digest

    keys = sorted(person.keys)
    unsent = list(Digest.objects.filter(user=person.user, status__in=[Digest.PENDING, Digest.FAILED]))
    again = next((d for d in unsent if sorted(d.keys) == keys and d.email == person.email), None)
    with transaction.atomic():
        if again is None:
            digest = Digest.objects.create(user=person.user, email=person.email, as_of=as_of, month=f"{month:%Y-%m}",
                                           message_id=_message_id(), keys=keys)
        else:
            digest = again
        for d in unsent:
            if d.pk != digest.pk:
                d.status = Digest.SUPERSEDED
                d.error = (d.error + "; " if d.error else "") + f"its alerts went in digest {digest.pk}"
                d.save(update_fields=["status", "error"])
        digest.status, digest.as_of, digest.month = Digest.PENDING, as_of, f"{month:%Y-%m}"
        digest.attempts += 1
        digest.attempted_at = timezone.now()
        digest.save()
    return digest


def _sent(digest, person: Planned) -> None:
    from ..web.alerts.models import Delivery

    with transaction.atomic():
        digest.status, digest.sent_at, digest.error = digest.SENT, timezone.now(), ""
        digest.save(update_fields=["status", "sent_at", "error"])
        for key in digest.keys:
            try:
                with transaction.atomic():
                    Delivery.objects.create(user=person.user, key=key, digest=digest)
            except IntegrityError:  # delivered meanwhile by another digest: keep the first record
                pass


def _failed(digest, error: str) -> None:
    digest.status, digest.error = digest.FAILED, error
    digest.save(update_fields=["status", "error"])


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{rcpt} refused: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
                         for rcpt, (code, msg) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        err = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"mail server answered {exc.smtp_code} {err}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _links(person: Planned) -> dict:
    from ..web.alerts.models import Recipient, Subscription
    from ..web.alerts.targets import describe

    site = settings.SITE_URL
    recipient, _ = Recipient.objects.get_or_create(user=person.user)
    subs = [{"id": s.id, "label": describe(s.kind, s.target),
             "unsubscribe": site + reverse("alerts:unsubscribe", args=[s.token])}
            for s in Subscription.objects.filter(user=person.user).order_by("kind", "target")]
    return {"subscriptions": subs, "stop_all_url": site + reverse("alerts:unsubscribe", args=[recipient.token]),
            "manage_url": site + reverse("alerts:mine"), "site_url": site}


def run(as_of: date, *, dry_run: bool = False, pub=None, connection=None,
        progress: Callable[[int, int, str], None] = lambda done, total, who: None) -> Outcome:
    """Compute and (unless `dry_run`) send every person's digest; see the module's docstring."""
    if dry_run:
        return Outcome(plan(as_of, pub=pub), dry_run=True)
    with _one_run_at_a_time():
        p = plan(as_of, pub=pub)
        _record_known(p.new_known)
        out = Outcome(p, dry_run=False)
        if not p.people:
            log.info("alerts as of %s: nothing new to send", as_of)
            return out
        from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

        conn = connection or get_connection(fail_silently=False)
        keep_open = isinstance(conn, SmtpBackend)  # one SMTP session; other backends one file/message each
        total = len(p.people)
        try:
            for n, person in enumerate(p.people):
                progress(n, total, person.email)
                digest = _pending(person, as_of, p.month)
                try:
                    message = compose(person.items, to=person.email, as_of=as_of, month=p.month,
                                      message_id=digest.message_id, from_email=settings.DEFAULT_FROM_EMAIL,
                                      **_links(person))
                    digest.subject = str(message.mime["Subject"])
                    digest.save(update_fields=["subject"])
                    if keep_open:
                        conn.open()
                    if conn.send_messages([message]) != 1:
                        raise smtplib.SMTPException("the mail backend did not send it")
                except smtplib.SMTPRecipientsRefused as exc:
                    _failed(digest, _describe(exc))
                    out.failed.append(digest)
                    log.error("alert digest %s to %s failed: %s", digest.message_id, person.email, digest.error)
                    continue
                except (smtplib.SMTPException, OSError) as exc:
                    _failed(digest, _describe(exc))
                    out.failed.append(digest)
                    out.stopped = digest.error
                    log.error("alert digest %s to %s failed, run stopped: %s", digest.message_id, person.email,
                              digest.error)
                    break
                finally:
                    if not keep_open:
                        conn.close()
                _sent(digest, person)
                out.sent.append(digest)
                log.info("alert digest %s sent to %s: %d alerts (%s)", digest.message_id, person.email,
                         len(digest.keys), ", ".join(digest.keys))
            progress(len(out.sent) + len(out.failed), total, "")
        finally:
            try:
                conn.close()
            except (smtplib.SMTPException, OSError):
                pass
        return out
