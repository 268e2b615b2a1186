"""One e-mail per person: every new alert for them, grouped by kind, as plain text and HTML, with
up to MAX_IMAGES charts drawn on the server (vl-convert) and carried inline as `cid:` parts.

The message is built with the standard library's `email` package and handed to Django's mail
backend (SMTP, or files in the outbox) as a Django EmailMessage whose `message()` is it:

    multipart/alternative
        text/plain                       the digest in words, every link written out
        multipart/related
            text/html                    the same, with <img src="cid:…"> for the charts
            image/png  Content-ID <…>    one per chart

Headers: Message-ID (kept in the send log, reused when a digest is sent again), List-Unsubscribe
(the person's stop-everything link) with List-Unsubscribe-Post (RFC 8058 one-click), and
Auto-Submitted. The footer lists each subscription with its own unsubscribe link.
"""

from __future__ import annotations

import email.message
import hashlib
import email.policy
import logging
from dataclasses import dataclass
from datetime import date
from email.utils import format_datetime, formataddr, parseaddr

from django.core.mail import EmailMessage as DjangoEmailMessage
from django.template.loader import render_to_string
from django.utils import timezone

from ..formats import day as day_text
from .rules import KINDS, Alert, Follow, month_name

log = logging.getLogger("uptake.alerts")

MAX_IMAGES = 4
IMAGE_WIDTH = 600
IMAGE_SCALE = 1.5
SECTIONS = {"uptake": "Uptake", "deadline": "Formulary deadlines", "new_ta": "New NICE technology appraisals",
            "case_study": "New case studies", "barrier": "New barriers reported"}
COUNT_WORDS = {"uptake": ("uptake change", "uptake changes"),
               "deadline": ("formulary deadline", "formulary deadlines"),
               "new_ta": ("new NICE TA", "new NICE TAs"), "case_study": ("new case study", "new case studies"),
               "barrier": ("new barrier", "new barriers")}


class _Mime(email.message.EmailMessage):
    """The standard library's message, answering `as_bytes(linesep=…)` as Django's backends ask."""

    def as_bytes(self, unixfrom: bool = False, policy=None, linesep: str | None = None) -> bytes:
        policy = policy or self.policy
        if linesep is not None:
            policy = policy.clone(linesep=linesep)
        return super().as_bytes(unixfrom=unixfrom, policy=policy)


class DigestMail(DjangoEmailMessage):
    """What Django's mail backends send: the envelope from Django, the message from `mime`."""

    def __init__(self, mime: _Mime, *, to: str, from_email: str):
        super().__init__(subject=str(mime["Subject"]), body="", from_email=from_email, to=[to])
        self.mime = mime

    def message(self, *args, **kwargs):  # noqa: ARG002 - Django's signature
        return self.mime


@dataclass
class Item:
    alert: Alert
    follows: list[Follow]


def subject(items: list[Item], as_of: date) -> str:
    counts = {k: sum(1 for i in items if i.alert.kind == k) for k in KINDS}
    parts = [f"{n} {COUNT_WORDS[k][n != 1]}" for k, n in counts.items() if n]
    return f"uptake alerts for {day_text(as_of)}: {', '.join(parts)}"


def _smaller(image: bytes) -> bytes:
    """The PNG in at most 128 colours (a chart has few): about a tenth of the bytes, the same to
    the eye. Unchanged when Pillow (installed with reportlab) is missing."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        return image
    import io

    buf = io.BytesIO()
    Image.open(io.BytesIO(image)).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(
        buf, format="PNG", optimize=True)
    return buf.getvalue() if buf.tell() < len(image) else image


def _images(items: list[Item], message_id: str) -> dict[str, tuple[str, bytes]]:
    """alert key → (content id, PNG) for up to MAX_IMAGES alerts with a chart, urgent ones (an
    organisation newly below the funnel limit) first. A chart that cannot be drawn is left out
    (logged), never the digest."""
    from ..reports.images import ChartError, png

    domain = message_id.strip("<>").rpartition("@")[2] or "uptake.local"
    stem = hashlib.sha256(message_id.encode()).hexdigest()[:16]  # short: the header stays on one line
    out: dict[str, tuple[str, bytes]] = {}
    candidates = sorted((i for i in items if i.alert.chart is not None),
                        key=lambda i: not i.alert.urgent)  # stable: digest order within each
    for item in candidates:
        if len(out) >= MAX_IMAGES:
            break
        try:
            image = _smaller(png(item.alert.chart(), IMAGE_WIDTH, scale=IMAGE_SCALE))
        except ChartError as exc:
            log.warning("alert %s: chart left out: %s", item.alert.key, exc)
            continue
        out[item.alert.key] = (f"chart{len(out) + 1}.{stem}@{domain}", image)
    return out


def _sections(items: list[Item], images: dict, site_url: str, labels: dict[int, str]) -> list[dict]:
    """Sections by kind; in each, groups of alerts sharing a heading (an uptake section's TA and
    level), or one alert each."""
    sections = []
    for kind in KINDS:
        groups: list[dict] = []
        for i in (i for i in items if i.alert.kind == kind):
            a = i.alert
            entry = {"key": a.key, "title": a.title, "text": a.text, "line": a.line, "url": site_url + a.url,
                     "because": [labels.get(f.id, f"{f.kind} {f.target}") for f in i.follows],
                     "cid": images[a.key][0] if a.key in images else None,
                     "alt": f"Funnel plot: {a.title}" if a.key in images else ""}
            if a.group and groups and groups[-1]["heading"] == a.group:
                groups[-1]["items"].append(entry)
            else:
                groups.append({"heading": a.group, "url": site_url + a.group_url if a.group else "", "items": [entry]})
        for g in groups:  # one "because" under the heading when every alert of the group shares it
            becauses = {tuple(e["because"]) for e in g["items"]}
            g["because"] = list(becauses.pop()) if g["heading"] and len(becauses) == 1 else []
        if groups:
            sections.append({"title": SECTIONS[kind], "groups": groups})
    return sections


def compose(items: list[Item], *, to: str, as_of: date, month: date, message_id: str, site_url: str,
            from_email: str, subscriptions: list[dict], stop_all_url: str, manage_url: str) -> DigestMail:
    """The digest for one person. `subscriptions`: every subscription of theirs as
    {label, unsubscribe (absolute URL)}; `stop_all_url` stops them all (List-Unsubscribe)."""
    images = _images(items, message_id)
    sections = _sections(items, images, site_url, {s["id"]: s["label"] for s in subscriptions})
    ctx = {"sections": sections, "as_of": day_text(as_of), "month": month_name(month), "site_url": site_url,
           "subscriptions": subscriptions, "stop_all_url": stop_all_url, "manage_url": manage_url,
           "count": len(items), "images_left_out": sum(1 for i in items if i.alert.chart) - len(images)}
    text = render_to_string("alerts/email/digest.txt", ctx)
    html = render_to_string("alerts/email/digest.html", ctx)

    mime = _Mime(policy=email.policy.SMTP)
    name, address = parseaddr(from_email)
    mime["Subject"] = subject(items, as_of)
    mime["From"] = formataddr((name, address)) if name else address
    mime["To"] = to
    mime["Date"] = format_datetime(timezone.now())
    mime["Message-ID"] = message_id
    mime["List-Unsubscribe"] = f"<{stop_all_url}>"
    mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mime["Auto-Submitted"] = "auto-generated"
    mime.set_content(text, cte="quoted-printable")
    mime.add_alternative(html, subtype="html", cte="quoted-printable")
    html_part = mime.get_payload()[1]
    for cid, image in images.values():
        html_part.add_related(image, maintype="image", subtype="png", cid=f"<{cid}>",
                              filename=cid.partition("@")[0] + ".png", disposition="inline")
    return DigestMail(mime, to=to, from_email=from_email)
