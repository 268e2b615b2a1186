"""`uptake report`: an ICB's monthly report (or England's) as PDF or HTML, or every ICB's."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer

from .cli import HomeOption, MonthOption, _errors, _home, _progress, app, out
from .errors import UptakeError


@app.command("report")
def report_command(
    code: Annotated[Optional[str], typer.Argument(help="An ICB code (e.g. QHM), or ENG for England.")] = None,
    month: MonthOption = None,
    output: Annotated[Optional[Path], typer.Option("--out", help="The file to write: .pdf or .html.")] = None,
    all_icbs: Annotated[bool, typer.Option("--all-icbs", help="Every ICB's report, into --out-dir.")] = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out-dir", help="Folder for --all-icbs.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="pdf or html (for --all-icbs).")] = "pdf",
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Count formulary deadlines to this day "
                                                                 "(YYYY-MM-DD; default today).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=0, max=64, help="Processes for --all-icbs (default: the machine's cores, "
                                                      "at most 4).")] = 0,
    home: HomeOption = None,
) -> None:
    """Write the monthly report of an ICB (or of England) for a committee: where it leads and lags
    England on every NICE TA, each clinical area with its trend and funnel position, its sub-ICB
    locations and PCNs furthest behind, formulary compliance, its medicines optimisation
    opportunities, barriers and case studies. Set UPTAKE_SITE_URL to the portal's address for
    its links."""
    from .cli_compliance import portal_database
    from .reports import batch
    from .services.publish import published_path
    from .services.published import Published

    with _errors():
        if all_icbs == bool(code):
            raise UptakeError("give an ICB code (or ENG), or --all-icbs")
        if all_icbs and not out_dir:
            raise UptakeError("--all-icbs needs --out-dir")
        if code and not output:
            raise UptakeError("--out FILE.pdf (or .html) is needed")
        day = None
        if as_of:
            try:
                day = date.fromisoformat(as_of)
            except ValueError:
                raise UptakeError(f"--as-of {as_of!r}: expected a date YYYY-MM-DD") from None
        path = published_path(_home(home))
        if not path.exists():
            raise UptakeError(f"{path}: nothing published; run `uptake publish` (or `uptake demo`) first")
        portal_database(home)
        with Published(path) as pub:
            ctx = batch.context(pub, month, day)
            if code:
                written = batch.write_one(ctx, code, output)
                out.print(f"Wrote {written} ({written.stat().st_size:,} bytes): {code.upper()}, {ctx.month}")
                return
            total = len(batch.icb_codes(pub, ctx.when))
            with _progress(transient=False) as bar:
                task = bar.add_task(f"ICB reports, {ctx.month}", total=total)
                files = batch.write_all(ctx, out_dir, fmt, progress=lambda c: bar.advance(task),
                                        jobs=jobs or min(4, os.cpu_count() or 1))
            out.print(f"Wrote {len(files)} reports for {ctx.month} into {out_dir}")
