"""Readers for the published peer-group files (data/SOURCES.md §13, §14):

- NHS England's Similar-10 input data ('Variable Data' sheet as CSV): code, name, then one
  numeric column per variable;
- its variable weights ('Variable Descriptions' sheet as CSV): variable, weight, description;
- published nearest-neighbour lists (orig, dest, distance), e.g. the practice and PCN files;
- practice deprivation (practice code, IMD score), e.g. practice_imd2019_score_decile_subicb_2023.

Each refuses a bad file with one line naming the file, the line, the column and what was expected.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .base import non_negative_number, open_text


@dataclass(frozen=True)
class VariableTable:
    codes: list[str]
    names: list[str]
    variables: list[str]
    values: list[list[float]]  # one row per organisation


def _rows(path: Path) -> Iterator[tuple[int, list[str], list[str]]]:
    """(line number, header, fields) for every non-empty data line."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    with open_text(path) as f:
        reader = csv.reader(f, strict=True)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise InputError(path, "the file is empty; expected a header line", line=1) from None
        except csv.Error as e:
            raise InputError(path, f"not a CSV file ({e})", line=1) from None
        try:
            for fields in reader:
                if fields and any(x.strip() for x in fields):
                    if len(fields) != len(header):
                        raise InputError(path, f"{len(fields)} fields; expected {len(header)} like the header",
                                         line=reader.line_num)
                    yield reader.line_num, header, fields
        except csv.Error as e:
            raise InputError(path, f"not valid CSV ({e})", line=reader.line_num) from None


_number = non_negative_number


def _need(path: Path, header: list[str], names: list[str]) -> dict[str, int]:
    lower = {h.lower(): i for i, h in enumerate(header)}
    missing = [n for n in names if n.lower() not in lower]
    if missing:
        raise InputError(path, f"no column {', '.join(missing)}; expected the columns {', '.join(names)}", line=1)
    return {n: lower[n.lower()] for n in names}


def read_variable_table(path: Path) -> VariableTable:
    """Organisation code, name, then numeric variables (NHS England's 'Variable Data')."""
    path = Path(path)
    codes: list[str] = []
    names: list[str] = []
    values: list[list[float]] = []
    variables: list[str] = []
    seen: dict[str, int] = {}
    for line, header, fields in _rows(path):
        if not variables:
            if len(header) < 3:
                raise InputError(path, "expected a code column, a name column and one or more variables", line=1)
            variables = header[2:]
        code = fields[0].strip().upper()
        if not code:
            raise InputError(path, "empty; expected an organisation code", line=line, column=header[0])
        if code in seen:
            raise InputError(path, f"{code} repeats line {seen[code]}; expected one line per organisation",
                             line=line, column=header[0])
        seen[code] = line
        codes.append(code)
        names.append(fields[1].strip())
        values.append([_number(path, line, v, x, f"the value of {v}, a number ≥ 0")
                       for v, x in zip(variables, fields[2:])])
    if not codes:
        raise InputError(path, "no organisations; expected one line per organisation after the header")
    return VariableTable(codes, names, variables, values)


def read_weights(path: Path) -> dict[str, float]:
    """Variable name → weight (NHS England's 'Variable Descriptions': 'Variable name', 'Weights')."""
    path = Path(path)
    out: dict[str, float] = {}
    for line, header, fields in _rows(path):
        col = _need(path, header, ["Variable name", "Weights"])
        name = fields[col["Variable name"]].strip()
        w = _number(path, line, header[col["Weights"]], fields[col["Weights"]], "a weight ≥ 0")
        out[name] = w
    if not out:
        raise InputError(path, "no weights; expected one line per variable")
    return out


def read_neighbours(path: Path) -> dict[str, list[tuple[str, float]]]:
    """orig → [(dest, distance)], nearest first, from a published nearest-neighbour list."""
    path = Path(path)
    out: dict[str, list[tuple[str, float]]] = {}
    for line, header, fields in _rows(path):
        col = _need(path, header, ["orig", "dest", "distance"])
        d = _number(path, line, header[col["distance"]], fields[col["distance"]], "a distance ≥ 0")
        out.setdefault(fields[col["orig"]].strip().upper(), []).append((fields[col["dest"]].strip().upper(), d))
    for v in out.values():
        v.sort(key=lambda p: p[1])
    return out


def read_practice_imd(path: Path) -> dict[str, float]:
    """Practice code → IMD score (columns practice_code and imd_score)."""
    path = Path(path)
    out: dict[str, float] = {}
    for line, header, fields in _rows(path):
        col = _need(path, header, ["practice_code", "imd_score"])
        code = fields[col["practice_code"]].strip().upper()
        text = fields[col["imd_score"]].strip()
        if not text or text.upper() == "NA":
            continue  # a practice without a score is left out of the deprivation variable
        v = _number(path, line, header[col["imd_score"]], text, "an IMD score ≥ 0")
        out[code] = v
    return out
