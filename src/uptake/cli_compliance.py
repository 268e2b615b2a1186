"""The compliance commands: `uptake compliance` (statuses as of a day), formulary decision files
through `uptake ingest`, and `uptake user add` for the portal's editors."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from .cli import FormatOption, HomeOption, JsonOption, _emit, _errors, _home, app, out
from .errors import UptakeError


def portal_database(home: Path | None) -> None:
    """Django set up on the home's portal database, migrated (quietly) to the current schema."""
    from .cli_portal import django_setup

    django_setup(home)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


@contextmanager
def _source(home: Path | None):
    """The published scorecard when there is one (fast), else the warehouse through the engine."""
    from .services.publish import published_path

    path = published_path(_home(home))
    if path.exists():
        from .services.published import Published

        with Published(path) as pub:
            yield pub
        return
    from .cli import _analysis

    with _analysis(home, "duckdb", False) as an:
        yield an


def import_formulary(path: Path, home: Path | None, who: str) -> dict:
    portal_database(home)
    from .web.compliance.store import import_file

    return import_file(path, who=who).to_dict()


def _as_of(text: str | None, home: Path | None) -> date:
    from .config import today

    if not text:
        return today(_home(home))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UptakeError(f"--as-of {text!r}: expected a date YYYY-MM-DD") from None


def _short(name: str | None) -> str:
    return (name or "").removeprefix("NHS ").removesuffix(" Integrated Care Board")[:40]


@app.command("compliance")
def compliance_command(
    icb: Annotated[Optional[str], typer.Option("--icb", help="One ICB's ODS code: its every TA.")] = None,
    ta: Annotated[Optional[str], typer.Option("--ta", help="One TA: every ICB.")] = None,
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", help="YYYY-MM-DD (default: today, or the day a demo home is frozen at).")] = None,
    fmt: FormatOption = "table",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """NICE TAs in local formularies: ICBs ranked by % on time (or one ICB's or one TA's statuses)."""
    from .services import compliance as rules

    with _errors():
        day = _as_of(as_of, home)
        portal_database(home)
        from .web.compliance import store

        with _source(home) as src:
            icbs = rules.icbs_of(src, store.icb_formularies())
            tas = [ta.strip().upper()] if ta else None
            c = rules.compliance(src.catalogue, icbs, store.decisions(tas=tas), day, tas=tas)
        if icb:
            code = icb.strip().upper()
            if code not in {i.code for i in c.icbs}:
                raise UptakeError(f"no ICB {code!r} open on {day}; known: {', '.join(i.code for i in c.icbs)}")
        if icb or ta:
            rows = [s.to_dict() for s in c.statuses if not icb or s.icb == icb.strip().upper()]
            data = {"as_of": day.isoformat(), "statuses": rows}

            def show() -> None:
                t = Table(title=f"Formulary status as of {day}" + (f", {icb.upper()}" if icb else "")
                          + (f", {ta.upper()}" if ta else ""))
                for col in ("ICB", "TA", "deadline", "status", "days", "decision"):
                    t.add_column(col)
                for r in rows:
                    days = r["days_late"] or r["days_overdue"] or r["days_left"] or r["days_to_inclusion"]
                    t.add_row(r["icb"], r["ta"], r["deadline"], r["label"], "" if days is None else str(days),
                              f"{r['decision'] or ''} {r['decision_date'] or ''}".strip())
                out.print(t)
        else:
            rows = [s.to_dict() for s in c.summaries()]
            data = {"as_of": day.isoformat(), "national": c.national(), "icbs": rows}

            def show() -> None:
                n = c.national()
                t = Table(title=f"NICE TAs in local formularies as of {day}: {n['on_time_pct'] or 0:.1f}% on time, "
                                f"median {n['median_days'] or 0:.0f} days to inclusion")
                for col in ("rank", "ICB", "name", "% on time", "median days", "late", "overdue", "rejected",
                            "due soon", "n/a"):
                    t.add_column(col, justify="left" if col in ("ICB", "name") else "right")
                for r in rows:
                    t.add_row(str(r["rank"] or "–"), r["icb"], _short(r["name"]),
                              "–" if r["on_time_pct"] is None else f"{r['on_time_pct']:.0f}",
                              "–" if r["median_days"] is None else f"{r['median_days']:.0f}",
                              str(r["late"]), str(r["overdue"]), str(r["rejected"]), str(r["due_soon"]),
                              str(r["not_applicable"]))
                out.print(t)
        _emit(fmt, as_json, data, rows, show)


user_app = typer.Typer(help="Portal accounts: formulary editors and administrators.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The e-mail address the user signs in with.")],
    editor: Annotated[Optional[list[str]], typer.Option(
        "--editor", help="ODS code of an organisation (e.g. an ICB) the user edits; repeatable.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="An administrator (the Django admin, every ICB).")] = False,
    moderator: Annotated[bool, typer.Option(
        "--moderator", help="A moderator of the knowledge portal (publishes case studies, hides posts).")] = False,
    password: Annotated[Optional[str], typer.Option(
        "--password", envvar="UPTAKE_PASSWORD", help="The password (default: asked for; or $UPTAKE_PASSWORD).")] = None,
    home: HomeOption = None,
) -> None:
    """Add a portal user (or update their password and roles)."""
    with _errors():
        portal_database(home)
        from django.core.exceptions import ValidationError

        from .web.accounts.users import add_user

        secret = password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            user = add_user(email, secret, editor_of=editor or [], admin=admin, moderator=moderator)
        except ValidationError as exc:
            raise UptakeError("password: " + " ".join(exc.messages)) from None
    roles = ", ".join(f"editor of {c.upper()}" for c in editor or []) or "no organisation roles"
    out.print(f"User {user.username}: {roles}{'; moderator' if moderator else ''}{'; administrator' if admin else ''}")


@app.command("opportunities")
def opportunities_command(
    icb: Annotated[Optional[str], typer.Option("--icb", help="One ICB: the opportunities ranked for it.")] = None,
    opportunity: Annotated[Optional[str], typer.Option(
        "--opportunity", help="One opportunity (id or number): every ICB.")] = None,
    month: Annotated[Optional[str], typer.Option("--month", help="YYYY-MM (default: the latest).")] = None,
    fmt: FormatOption = "table",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """NHS England's medicines optimisation opportunities: England and the benchmark for each, one
    ICB's ranking (choose your five), or one opportunity across ICBs."""
    from .catalogue.opportunities import opportunity as find
    from .services import opportunities as so

    with _errors(), _source(home) as src:
        if opportunity:
            v = so.view(src, find(int(opportunity) if opportunity.isdigit() else opportunity), month)
            rows = [r.to_dict() for r in v.rows]
            data = v.to_dict()

            def show() -> None:
                if not v.measured:
                    out.print(f"{v.opportunity.number}. {v.opportunity.title}: not measurable from the warehouse. "
                              f"{v.opportunity.data_needed or ''}")
                    return
                t = Table(title=f"{v.opportunity.number}. {v.opportunity.title}, {v.month:%Y-%m}: benchmark "
                                f"{v.benchmark:.4g}, England {v.england:.4g} ({v.measure.id}, {v.measure.direction} "
                                "is better)")
                for col in ("ICB", "name", "value", "gap", "£ a year", "change"):
                    t.add_column(col, justify="left" if col in ("ICB", "name") else "right")
                for r in v.rows:
                    t.add_row(r.icb, _short(r.name), _g(r.value), _g(r.gap),
                              "–" if r.spend_a_year is None else f"{r.spend_a_year:,.0f}", _g(r.change))
                out.print(t)
        else:
            views = so.all_views(src, month)
            if icb:
                code = icb.strip().upper()
                if src.org_level(code) != "icb":
                    raise UptakeError(f"{code} is not an ICB")
                ranked = so.rank_for_icb(views, code)
                rows = [r.to_dict() for r in ranked]
                data = {"icb": code, "opportunities": rows}
            else:
                rows = [{"number": v.opportunity.number, "id": v.opportunity.id, "title": v.opportunity.title,
                         "measure": v.measure.id if v.measure else None, "england": v.england,
                         "benchmark": v.benchmark, "benchmark_kind": v.opportunity.benchmark.kind,
                         "data_needed": v.opportunity.data_needed} for v in views]
                data = {"opportunities": rows}

            def show() -> None:
                t = Table(title=f"Medicines optimisation opportunities{' for ' + icb.upper() if icb else ''}")
                cols = ("rank", "#", "opportunity", "value", "benchmark", "£ a year") if icb else \
                    ("#", "opportunity", "measure", "England", "benchmark")
                for col in cols:
                    t.add_column(col, justify="left" if col in ("opportunity", "measure") else "right")
                for r in rows:
                    if icb:
                        t.add_row(str(r["rank"] or "–"), str(r["number"]), r["title"][:50], _g(r.get("value")),
                                  _g(r["benchmark"]), "–" if r.get("spend_a_year") is None
                                  else f"{r['spend_a_year']:,.0f}")
                    else:
                        t.add_row(str(r["number"]), r["title"][:50], r["measure"] or "not measurable here",
                                  _g(r["england"]), _g(r["benchmark"]))
                out.print(t)
        _emit(fmt, as_json, data, rows, show)


def _g(v) -> str:
    return "–" if v is None else f"{v:.4g}"
