"""A downloaded file before it is loaded: unpacked (a ZIP's data files are taken out, streamed),
and its columns checked against the layouts its source is read with.

A file whose columns no accepted reader understands is refused with `SchemaChanged`, naming the
columns that are new and those that are missing compared with the closest published layout, and
nothing is loaded. A file that is still readable but whose columns differ from the layout known
(a column added, or one uptake does not use dropped) is loaded, with a note saying so.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ...errors import InputError, UptakeError
from ..base import Format, formats, read_header
from .errors import SchemaChanged
from .publishers import Item, Source


@dataclass
class Ready:
    """A file ready to load: its path, the format it is read with, its SHA-256, and notes."""

    path: Path
    format: Format
    sha256: str
    notes: list[str] = field(default_factory=list)
    member: str | None = None  # the name it had in the ZIP it came from


def is_zip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def check_file(path: Path, src: Source, sha256: str) -> Ready:
    """The accepted format of `path`, or SchemaChanged naming what changed."""
    header = read_header(path)  # refuses empty and non-text files with the line
    matches = [f for f in formats().values() if f.detect(header)]
    accepted = [f for f in matches if f.id in src.formats]
    if accepted:
        fmt = accepted[0]
        notes = []
        diff = _closest(header.fields, src.layouts)
        if diff is not None:
            name, missing, new = diff
            if missing or new:
                notes.append(f"{path.name}: columns differ from the {name} layout but the file is readable as "
                             f"{fmt.id}: new {', '.join(new) or 'none'}; missing {', '.join(missing) or 'none'}")
        return Ready(path, fmt, sha256, notes)
    other = f" (it reads as {', '.join(m.id for m in matches)}, which is not a {src.title} layout)" if matches else ""
    if src.headerless:
        shown = ", ".join(header.fields[:6]) + (" ..." if len(header.fields) > 6 else "")
        raise SchemaChanged(path, f"not an ODS epraccur file: the first line has {len(header.fields)} fields ({shown})"
                            f"{other}; expected 27 fields, the first a practice code, the 11th an open date "
                            "(YYYYMMDD) and the 13th a status; nothing was loaded")
    diff = _closest(header.fields, src.layouts)
    if diff is None:
        raise SchemaChanged(path, f"unrecognised columns {', '.join(header.fields)}{other}; expected a "
                            f"{src.title} layout ({', '.join(src.formats)}); nothing was loaded")
    name, missing, new = diff
    raise SchemaChanged(path, f"the {src.title} file's columns have changed: missing {', '.join(missing) or 'none'}; "
                        f"new {', '.join(new) or 'none'} (compared with the {name} layout){other}; expected the "
                        f"columns of a layout uptake reads ({', '.join(src.formats)}); nothing was loaded",
                        missing=missing, new=new)


def _closest(fields: tuple[str, ...], layouts: dict[str, tuple[str, ...]]) -> tuple[str, list[str], list[str]] | None:
    """The known layout sharing most columns with `fields` (case-insensitive): its name, its
    columns missing from `fields`, and the columns of `fields` it does not have."""
    if not layouts:
        return None
    have = {f.upper() for f in fields}
    best = max(layouts.items(), key=lambda kv: (len(have & {c.upper() for c in kv[1]}),
                                                -len({c.upper() for c in kv[1]} ^ have)))
    name, columns = best
    known = {c.upper() for c in columns}
    return name, [c for c in columns if c.upper() not in have], [f for f in fields if f.upper() not in known]


def prepare(download: Path, sha256: str, src: Source, item: Item) -> list[Ready]:
    """The files to load from a download: the file itself, or the data files a ZIP holds
    (taken out beside it and renamed as the source requires). Every file is checked before any
    is returned, so that one bad member stops them all."""
    if not is_zip(download):
        return [check_file(download, src, sha256)]
    out_dir = download.parent
    ready: list[Ready] = []
    refused: list[SchemaChanged] = []
    try:
        with zipfile.ZipFile(download) as archive:
            members = [i for i in archive.infolist()
                       if not i.is_dir() and src.members.match(PurePosixPath(i.filename).name)]
            if not members:
                names = ", ".join(i.filename for i in archive.infolist()[:12]) or "nothing"
                raise UptakeError(f"{download}: the ZIP holds no {src.title} file (it holds {names}); expected a file "
                                  f"whose name matches {src.members.pattern}")
            for info in members:
                base = PurePosixPath(info.filename).name
                tmp = out_dir / f".{base}.unzipping"
                try:
                    digest = hashlib.sha256()
                    with archive.open(info) as source, open(tmp, "wb") as target:
                        while block := source.read(1 << 22):
                            target.write(block)
                            digest.update(block)
                    try:
                        checked = check_file(tmp, src, digest.hexdigest())
                    except SchemaChanged as exc:
                        refused.append(SchemaChanged(f"{download}!{info.filename}", exc.args[0].split(":1: ", 1)[1],
                                                     missing=exc.missing, new=exc.new))
                        continue
                    except InputError as exc:
                        raise InputError(f"{download}!{info.filename}", exc.message, line=exc.line,
                                         column=exc.column) from None
                    final = out_dir / src.local_name(item, checked.format.id, base)
                    os.replace(tmp, final)
                finally:
                    tmp.unlink(missing_ok=True)
                ready.append(Ready(final, checked.format, checked.sha256,
                                   [n.replace(tmp.name, base) for n in checked.notes], member=info.filename))
    except zipfile.BadZipFile as exc:
        raise UptakeError(f"{download}: not a complete ZIP file ({exc}); expected the publisher's ZIP archive") from None
    except OSError as exc:
        for r in ready:
            r.path.unlink(missing_ok=True)
        raise UptakeError(f"{download}: cannot take the files out of the ZIP ({exc.strerror or exc})") from None
    except BaseException:
        for r in ready:
            r.path.unlink(missing_ok=True)
        raise
    if not ready:
        raise refused[0]
    ready[0].notes.extend(f"skipped {exc.path}: {exc.args[0].split(':1: ', 1)[1]}" for exc in refused)
    return ready


def remove(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
