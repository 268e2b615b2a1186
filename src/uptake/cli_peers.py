"""`uptake peers` (peer groups) and `uptake impact` (did an intervention move uptake?)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from .cli import EngineOption, HomeOption, JsonOption, _analysis, _emit, _errors, app, out
from .errors import UptakeError

ImdOption = Annotated[Optional[Path], typer.Option(
    "--imd", help="Practice IMD scores (practice_code, imd_score), e.g. "
                  "../shared/data/deprivation/practice_imd2019_score_decile_subicb_2023.csv.gz")]


@app.command()
def peers(
    level: Annotated[str, typer.Argument(help="practice, pcn, sub_icb or icb")] = "sub_icb",
    org: Annotated[Optional[str], typer.Option("--org", help="Show only this organisation's peers.")] = None,
    imd: ImdOption = None,
    compare: Annotated[Optional[Path], typer.Option(
        "--compare", help="A published nearest-neighbour file (orig, dest, distance) to measure the overlap with.")] = None,
    month: Annotated[Optional[str], typer.Option("--month", help="The list sizes' month (YYYY-MM); default the latest.")] = None,
    engine: EngineOption = "duckdb",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Peer groups from the loaded data: NHS England's Similar-10 for sub-ICB locations and ICBs,
    nearest neighbours for practices and PCNs (docs/metrics.md, "Peers")."""
    from .services.peers import load_imd, overlap, peer_groups
    from .sources.peers import read_neighbours

    with _errors(), _analysis(home, engine, False) as an:
        g = peer_groups(an, level, imd=load_imd(imd), month=month)
        names = an.names()
        cmp = overlap(g, read_neighbours(compare)) if compare else None
    if org:
        code = org.strip().upper()
        if code not in g.values:
            with _errors():
                raise UptakeError(f"{code}: not among the {len(g.values)} {level}s with peers (see the notes of `uptake peers {level}`)")
        g.peers = g.of(code)
    data = {**g.to_dict(), "overlap": cmp}
    rows = [{"org": p.org, "peer": p.peer, "rank": p.rank, "distance": p.distance} for p in g.peers]

    def show() -> None:
        out.print(f"[bold]{g.method}[/] peers of {len(g.values)} {level}s on {', '.join(g.variables)} "
                  f"(list sizes {g.month})")
        for n in g.notes:
            out.print(f"  note: {n}")
        t = Table()
        for c in ("organisation", "rank", "peer", "distance"):
            t.add_column(c)
        for p in g.peers if org else g.peers[: 10 * 5]:
            t.add_row(f"{names.get((level, p.org)) or p.org} ({p.org})", str(p.rank),
                      f"{names.get((level, p.peer)) or p.peer} ({p.peer})", f"{p.distance:.3f}")
        out.print(t)
        if not org and len(g.peers) > 50:
            out.print(f"… {len(g.values)} organisations in all; --org CODE for one, --json for every one")
        if cmp:
            out.print(f"Overlap with {compare.name}: {cmp['mean_overlap']:.1%} of peers shared on average over "
                      f"{cmp['organisations']:,} organisations ({cmp['any_overlap']:.0%} share at least one); "
                      f"chance alone: {cmp['chance']:.2%}")

    _emit("table", as_json, data, rows, show)


@app.command()
def impact(
    target: Annotated[str, typer.Argument(help="An organisation's ODS code, or a case study (CS-12 or its slug).")],
    ta: Annotated[str, typer.Option("--ta", help="The TA, e.g. TA275.")],
    date: Annotated[Optional[str], typer.Option(
        "--date", help="The intervention's month (YYYY-MM); a case study's implementation date by default.")] = None,
    engine: EngineOption = "duckdb",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Did uptake change after an intervention? Difference-in-differences against the peers and an
    interrupted time series, each with its 95% interval (associations, not proof of cause)."""
    from .services.impact import describe
    from .services.impact import impact as measure

    with _errors():
        org, when = _target(target, date, home)
        with _analysis(home, engine, False) as an:
            im = measure(an, org, ta, when)

    def show() -> None:
        out.print(f"[bold]{im.ta}[/] in {im.name or im.org} ({im.org}, {im.level}), intervention {im.month}; "
                  f"peers: {', '.join(im.peers) or 'none'}")
        out.print("  " + describe(im.did, im.headline))
        out.print("  " + describe(im.its, im.headline))
        out.print(f"  {im.caveat}")

    _emit("table", as_json, im.to_dict(), [], show)


def _target(target: str, date: str | None, home) -> tuple[str, str]:
    """(organisation, month) from an ODS code and --date, or from a case study."""
    t = target.strip()
    if not (t.upper().startswith("CS-") or "-" in t and not t.upper().startswith("ENG")):
        if not date:
            raise UptakeError("--date YYYY-MM is needed with an organisation code")
        return t.upper(), date
    from .cli_portal import django_setup

    django_setup(home)
    from .web.impact.store import case_study_intervention

    org, when = case_study_intervention(t)
    return org, date or f"{when:%Y-%m}"
