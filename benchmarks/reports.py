"""Time every ICB's monthly report (PDF) for one month, against a baseline run in this process:
drawing the same reports' charts alone (vl-convert, the floor: a report cannot be faster than
drawing its charts).

    python benchmarks/reports.py                          # national scale, 12 months (built once)
    python benchmarks/reports.py --scale tiny --months 42 # the demo's shape: 42 months of trends
    python benchmarks/reports.py --home ~/.uptake         # an existing home (e.g. after `uptake demo`)

The home is built and published by benchmarks/portal.py's `prepare_home` (reused by later runs).
Prints the wall time of `uptake report --all-icbs` (a child process, as a user runs it), seconds
per report, the charts-only time and the ratio, with the issue's target: all 42 ICB PDFs in under
2 minutes.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET_SECONDS = 120


def _portal_bench():
    spec = importlib.util.spec_from_file_location("portal_bench", HERE / "portal.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def charts_only(home: Path, month: str | None, sample: int) -> tuple[float, int, int]:
    """Seconds to draw the charts of `sample` ICB reports (PNG, as the PDF does), the ICBs in
    the month, and the charts drawn."""
    os.environ["UPTAKE_HOME"] = str(home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uptake.web.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from uptake.reports import batch, images
    from uptake.reports.build import icb_report
    from uptake.reports.pdf import PNG_SCALE
    from uptake.services.publish import published_path
    from uptake.services.published import Published

    with Published(published_path(home)) as pub:
        ctx = batch.context(pub, month)
        codes = batch.icb_codes(pub, ctx.when)
        figures = [fig for code in codes[:sample] for fig in icb_report(ctx, code).figures()]
    start = time.perf_counter()
    for fig in figures:
        images.png(fig.spec, fig.width, fig.height, scale=PNG_SCALE)
    return time.perf_counter() - start, len(codes), len(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="national", choices=("tiny", "small", "national"))
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--end", default="2022-09")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--home", help="an uptake home with a publication (else one is built under --workdir)")
    parser.add_argument("--workdir", default="/tmp/uptake-bench-reports")
    parser.add_argument("--build", default="fast", choices=("fast", "demo"))
    parser.add_argument("--month", help="the report month (default: the latest published)")
    parser.add_argument("--jobs", type=int, default=0, help="processes (default: uptake's choice)")
    parser.add_argument("--sample", type=int, default=4, help="ICB reports whose charts the baseline draws")
    args = parser.parse_args()
    portal = _portal_bench()
    if args.home:
        home = Path(args.home).expanduser()
    else:
        start, end = portal.month_range(args.end, args.months)
        home = Path(args.workdir) / f"{args.scale}-{start}-{end}-seed{args.seed}"
        args.rebuild = args.republish = False
        args.boundaries = None
        portal.prepare_home(args, home)
    out_dir = Path(tempfile.mkdtemp(prefix="uptake-reports-"))
    cmd = portal.uptake_cli() + ["report", "--all-icbs", "--home", str(home), "--out-dir", str(out_dir)]
    if args.month:
        cmd += ["--month", args.month]
    if args.jobs:
        cmd += ["--jobs", str(args.jobs)]
    print(f"uptake report --all-icbs on {home} ({os.cpu_count()} cores)", flush=True)
    run = portal.run_timed(cmd, "uptake report --all-icbs", log=out_dir / "report.log")
    files = sorted(out_dir.glob("*.pdf"))
    size = sum(p.stat().st_size for p in files)
    floor, icbs, figures = charts_only(home, args.month, args.sample)
    floor_all = floor / max(1, min(args.sample, icbs)) * icbs
    print(f"  {len(files)} PDFs ({size / 1e6:,.1f} MB) in {run['wall']:.1f} s wall, CPU {run['cpu']:.1f} s, "
          f"peak {run['peak_mb']:,.0f} MB (one process)")
    print(f"  per report: {run['wall'] / max(1, len(files)):.2f} s wall, {run['cpu'] / max(1, len(files)):.2f} s CPU")
    print(f"  baseline, charts alone (one process): {floor:.2f} s for {figures} charts of {args.sample} reports, "
          f"{floor_all:.1f} s for all {icbs}")
    print(f"  ratio: all reports (CPU) / charts alone = {run['cpu'] / floor_all:.2f}x")
    verdict = "met" if run["wall"] < TARGET_SECONDS and len(files) == icbs else "NOT met"
    print(f"  target: {icbs} ICB PDFs in under {TARGET_SECONDS} s: {verdict}")
    sys.exit(0 if verdict == "met" else 1)


if __name__ == "__main__":
    main()
