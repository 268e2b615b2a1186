"""`uptake alerts`: send the e-mail alert digests (`send`), follow something for a user
(`subscribe`), list subscriptions (`list`) and read the send log (`log`). See docs/alerts.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from .cli import HomeOption, JsonOption, _errors, _print_json, _progress, app, err, out
from .errors import UptakeError

alerts_app = typer.Typer(no_args_is_help=True, help="E-mail alerts: one digest per person, for what they follow.")
app.add_typer(alerts_app, name="alerts")


def _portal(home: Path | None) -> None:
    from .cli_compliance import portal_database  # (imported here: cli_compliance imports cli, which imports us)

    portal_database(home)


def _as_of(text: str | None, home: Path | None):
    from .cli_compliance import _as_of as parse

    return parse(text, home)


@alerts_app.command("send")
def send_command(
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", help="YYYY-MM-DD (default: today, or the day a demo home is frozen at).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say who would get what; send and record nothing.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compute every subscription's alerts as of a day and send one digest per person (SMTP per
    the UPTAKE_SMTP_* settings, else files in <home>/outbox). Running it again sends nothing twice;
    after a mail failure, running it again sends the rest."""
    with _errors():
        day = _as_of(as_of, home)
        _portal(home)
        from django.conf import settings

        from .alerts import send

        with _progress() as progress:
            task = progress.add_task("sending alert digests", total=None)

            def step(done: int, total: int, who: str) -> None:
                progress.update(task, completed=done, total=total,
                                description=f"sending to {who}" if who else "alert digests sent")

            outcome = send.run(day, dry_run=dry_run, progress=step)
    p = outcome.plan
    summary = {
        "as_of": day.isoformat(), "month": f"{p.month:%Y-%m}",
        "previous_month": f"{p.previous:%Y-%m}" if p.previous else None, "dry_run": dry_run,
        "alerts": len(p.alerts), "people": len(p.people),
        "digests": [{"email": x.email, "alerts": [{"key": i.alert.key, "title": i.alert.title} for i in x.items]}
                    for x in p.people],
        "sent": [d.email for d in outcome.sent], "failed": [{"email": d.email, "error": d.error} for d in outcome.failed],
        "stopped": outcome.stopped, "skipped_subscriptions": p.skipped,
        "mail": "SMTP " + settings.EMAIL_HOST if settings.EMAIL_BACKEND.endswith("smtp.EmailBackend")
        else getattr(settings, "EMAIL_FILE_PATH", settings.EMAIL_BACKEND),
    }
    if as_json:
        _print_json(summary)
    else:
        head = (f"Alerts as of {day} (uptake for {p.month:%Y-%m} against "
                f"{p.previous:%Y-%m}): " if p.previous else f"Alerts as of {day} (uptake for {p.month:%Y-%m}): ")
        out.print(head + f"{len(p.alerts)} alerts found; {len(p.people)} people with something new")
        if dry_run:
            t = Table(title="Would send (dry run: nothing sent or recorded)")
            for col in ("to", "alerts", "keys"):
                t.add_column(col)
            for x in p.people:
                t.add_row(x.email, str(len(x.items)), "\n".join(i.alert.key for i in x.items))
            out.print(t)
        else:
            for d in outcome.sent:
                out.print(f"sent {d.email}: {len(d.keys)} alerts")
            out.print(f"{len(outcome.sent)} digests sent to {summary['mail']}"
                      + (f", {len(outcome.failed)} failed" if outcome.failed else ""))
        for s in p.skipped:
            err.print(f"skipped subscription {s}", highlight=False)
    if not dry_run and not outcome.ok:
        left = outcome.left
        first = outcome.failed[0]
        err.print(f"[bold red]error:[/] sending alerts failed for {first.email}: {first.error}; "
                  f"{len(outcome.sent)} sent and recorded, {len(outcome.failed)} failed"
                  + (f", {left} not attempted" if left else "")
                  + "; run `uptake alerts send` again to send the rest", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


@alerts_app.command("subscribe")
def subscribe_command(
    email: Annotated[str, typer.Argument(help="The user's e-mail address (a portal account).")],
    kind: Annotated[str, typer.Argument(help="organisation, ta, area or compliance.")],
    target: Annotated[str, typer.Argument(help="ODS code, TA number or clinical area id.")],
    home: HomeOption = None,
) -> None:
    """Make a user follow something (as they could on /alerts/)."""
    with _errors():
        _portal(home)
        from django.contrib.auth import get_user_model

        from .web.alerts.models import Subscription
        from .web.alerts.targets import check

        user = get_user_model().objects.filter(username=email.strip().lower()).first()
        if user is None:
            raise UptakeError(f"no portal user {email!r}; add one with `uptake user add {email}`")
        t = check(kind, target)
        _, made = Subscription.objects.get_or_create(user=user, kind=t.kind, target=t.code)
    out.print(f"{user.email} {'now follows' if made else 'already follows'} {t.label}")


@alerts_app.command("list")
def list_command(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Every subscription: who follows what."""
    with _errors():
        _portal(home)
        from .web.alerts.models import Subscription
        from .web.alerts.targets import describe

        rows = [{"email": s.user.email, "kind": s.kind, "target": s.target, "label": describe(s.kind, s.target),
                 "since": s.created_at.date().isoformat()}
                for s in Subscription.objects.select_related("user").order_by("user__email", "kind", "target")]
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"Alert subscriptions ({len(rows)})")
    for col in ("e-mail", "kind", "following", "since"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["email"], r["kind"], r["label"], r["since"])
    out.print(t)


@alerts_app.command("log")
def log_command(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1_000_000, help="How many digests, latest first.")] = 50,
    email: Annotated[Optional[str], typer.Option("--email", help="Only this person's.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """The send log: every digest, its status, alerts, attempts and error."""
    with _errors():
        _portal(home)
        from .web.alerts.models import Digest

        qs = Digest.objects.order_by("-created_at", "-id")
        if email:
            qs = qs.filter(email__iexact=email.strip())
        rows = [{"id": d.pk, "email": d.email, "as_of": d.as_of.isoformat(), "month": d.month, "status": d.status,
                 "alerts": len(d.keys), "keys": d.keys, "attempts": d.attempts, "message_id": d.message_id,
                 "created_at": d.created_at.isoformat(timespec="seconds"),
                 "sent_at": d.sent_at.isoformat(timespec="seconds") if d.sent_at else None, "error": d.error}
                for d in qs[:limit]]
    if as_json:
        _print_json(rows)
        return
    t = Table(title="Alert digests, latest first")
    for col in ("#", "to", "as of", "status", "alerts", "tries", "sent", "error"):
        t.add_column(col)
    for r in rows:
        t.add_row(str(r["id"]), r["email"], r["as_of"], r["status"], str(r["alerts"]), str(r["attempts"]),
                  r["sent_at"] or "—", r["error"][:80])
    out.print(t)
