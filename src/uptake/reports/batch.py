"""Reports written to files: one organisation's, or every ICB's for a month (sharing one
`build.Context`, so what the reports have in common is computed once)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

from ..engine.hierarchy import ENGLAND, ENGLAND_CODE
from ..errors import UptakeError
from . import build, html, pdf

FORMATS = {".pdf": pdf, ".html": html}


def context(pub, month: str | None = None, as_of: date | None = None) -> build.Context:
    from ..config import site_url

    return build.Context(pub, month=month, as_of=as_of, site_url=site_url())


def report_for(ctx: build.Context, code: str):
    """The report of an ICB, or England's for ENG."""
    code = code.strip().upper()
    if code in (ENGLAND_CODE, "ENGLAND"):
        return build.england_report(ctx)
    return build.icb_report(ctx, code)


def writer(path: Path):
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise UptakeError(f"{path}: a report is written as .pdf or .html") from None


def write_one(ctx: build.Context, code: str, path: str | Path) -> Path:
    path = Path(path)
    out = writer(path)
    if not path.parent.exists():
        raise UptakeError(f"{path.parent}: no such folder")
    return out.write(report_for(ctx, code), path)


def icb_codes(pub, when) -> list[str]:
    """Every ICB of the publication in the month, by code."""
    return sorted(i["org"] for region in pub.children(ENGLAND_CODE, ENGLAND, when)
                  for i in pub.children(region["org"], "region", when))


def write_all(ctx: build.Context, out_dir: str | Path, fmt: str = "pdf",
              progress: Callable[[str], None] | None = None, jobs: int = 1) -> list[Path]:
    """Every ICB's report for the month into `out_dir` as `<code>_<YYYY-MM>.<fmt>`, in `jobs`
    processes (charts are drawn on one core each; each process opens the publication itself)."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = f".{fmt.lstrip('.').lower()}"
    writer(Path("x" + suffix))
    targets = [(code, folder / f"{code}_{ctx.month}{suffix}") for code in icb_codes(ctx.pub, ctx.when)]
    written = []
    if jobs <= 1:
        for code, path in targets:
            written.append(write_one(ctx, code, path))
            if progress:
                progress(code)
        return written
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    setup = (str(ctx.pub.path), ctx.month, ctx.as_of, ctx.site_url, os.environ.get("UPTAKE_HOME"))
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_start,
                             initargs=setup) as pool:
        futures = {pool.submit(_worker_write, code, str(path)): code for code, path in targets}
        for done in as_completed(futures):
            written.append(Path(done.result()))
            if progress:
                progress(futures[done])
    return sorted(written)


_worker: dict = {}


def _worker_start(published: str, month: str, as_of: date, url: str, home: str | None) -> None:
    """A report process: Django on the same portal database, the publication opened read-only."""
    if home:
        os.environ["UPTAKE_HOME"] = home
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uptake.web.settings")
    import django

    django.setup()
    from ..services.published import Published

    _worker["ctx"] = build.Context(Published(published, threads=1), month=month, as_of=as_of, site_url=url)


def _worker_write(code: str, path: str) -> str:
    return str(write_one(_worker["ctx"], code, path))
