"""The portal commands: publish (precompute the scorecard the portal reads) and serve."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .cli import CurrentOption, EngineOption, HomeOption, JsonOption, _analysis, _errors, _home, _print_json, app, out


def publish_home(home: Path | None, engine: str = "duckdb", current_orgs: bool = False,
                 boundaries: Path | None = None, imd: Path | None = None):
    """Publish the scorecard of the warehouse in `home` (and maps, when boundaries are given)."""
    from .services.maps import publish_maps
    from .services.peers import load_imd
    from .services.publish import publish, published_path

    path = published_path(_home(home))
    with _analysis(home, engine, current_orgs) as an:
        report = publish(an, path, imd=load_imd(imd))
    maps = publish_maps(path, boundaries) if boundaries else None
    return report, maps


@app.command("publish")
def publish_command(
    boundaries: Annotated[Optional[Path], typer.Option(
        "--boundaries", help="GeoJSON of sub-ICB locations (or ICBs, regions) whose features carry ODS codes, "
                             "for the maps.")] = None,
    imd: Annotated[Optional[Path], typer.Option(
        "--imd", help="Practice IMD scores (practice_code, imd_score), weighted to areas for the peers.")] = None,
    engine: EngineOption = "duckdb",
    current_orgs: CurrentOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compute the complete scorecard (every TA and measure, level and month) for the portal."""
    with _errors():
        report, maps = publish_home(home, engine, current_orgs, boundaries, imd)
    if as_json:
        _print_json({"scorecard": report.to_dict(), "maps": maps})
        return
    out.print(f"Published {report.ta_rows:,} TA rows and {report.measure_rows:,} measure rows for "
              f"{report.months} months ({report.first_month} to {report.last_month}), {report.organisations:,} "
              f"organisations, in {sum(report.seconds.values()):.1f} s → {report.path} "
              f"({report.bytes / 1e6:,.1f} MB)")
    if maps:
        out.print(f"Maps: {', '.join(maps['levels'])} from {maps['matched']} features "
                  f"({len(maps['unmatched'])} unmatched)")


def django_setup(home: Path | None) -> None:
    os.environ["UPTAKE_HOME"] = str(_home(home))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uptake.web.settings")
    import django

    django.setup()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes (gunicorn), each with --threads "
                                                            "threads.")] = 3,
    threads: Annotated[int, typer.Option(min=1, max=64, help="Threads per worker.")] = 4,
    home: HomeOption = None,
) -> None:
    """Serve the portal (pages and API) on the published scorecard, with gunicorn as
    docs/operations.md recommends (uptake.web.gunicorn_conf: threads, timeouts, warm workers) and
    the report builder beside it."""
    from .services.publish import published_path

    with _errors():
        path = published_path(_home(home))
        if not path.exists():
            from .errors import UptakeError

            raise UptakeError(f"{path}: nothing published yet; run `uptake publish` (or `uptake demo`) first")
        django_setup(home)
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
    out.print(f"Serving the portal on http://{host}:{port}/ from {path} (Ctrl-C stops)")
    sys.stdout.flush()
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--config", "python:uptake.web.gunicorn_conf",
                               "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", str(threads),
                               "--access-logfile", "-", "--log-level", "warning"])


@app.command("report-builder", hidden=True)
def report_builder(home: HomeOption = None) -> None:
    """Make the portal's reports in the background (started by `uptake serve`; reports.builder)."""
    with _errors():
        django_setup(home)
        from django.conf import settings

        from .reports import builder

        builder.run(settings.PUBLISHED)
