"""What every part of the API shares: the error message schema, the month and format
parameters, and answering in JSON or CSV."""

from __future__ import annotations

import io
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Schema
from pydantic import Field

from .. import csvsafe

MONTH = Field(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (default: the latest published)",
              examples=["2022-09"])
FORMAT = Field("json", description="json (default) or csv")


class MonthFormat(Schema):
    month: str | None = MONTH
    format: Literal["json", "csv"] = FORMAT


class Message(Schema):
    detail: str


ERRORS = {400: Message, 404: Message, 422: Message, 503: Message}


def wants_csv(request: HttpRequest, fmt: str) -> bool:
    return fmt == "csv" or (fmt == "json" and "text/csv" in request.headers.get("Accept", "")
                            and "application/json" not in request.headers.get("Accept", ""))


def csv_response(rows: list[dict], filename: str) -> HttpResponse:
    buf = io.StringIO()
    if rows:
        w = csvsafe.SafeDictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
    resp = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


def rows_or_csv(request: HttpRequest, rows: list[dict], fmt: str, filename: str):
    """`rows` as the JSON answer, or as a CSV download when asked for."""
    return csv_response(rows, filename) if wants_csv(request, fmt) else rows
