"""Case-study attachments: PDFs only, recognised by their content (not their name), up to 10 MB,
stored outside the web root under settings.UPLOAD_ROOT with a random name, and served only
through a view that sends them as a download with headers that stop a browser running anything
in them."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path

from django.conf import settings
from django.http import FileResponse

from .models import Attachment
from .store import Invalid

MAX_BYTES = 10 * 1024 * 1024
PDF_MAGIC = b"%PDF-"


def root() -> Path:
    return Path(settings.UPLOAD_ROOT)


def check_pdf(head: bytes, tail: bytes, size: int, name: str) -> None:
    if size > MAX_BYTES:
        raise Invalid(f"{name}: {size / 1024 / 1024:.1f} MB; attachments can be up to 10 MB")
    if size == 0 or not head.startswith(PDF_MAGIC):
        raise Invalid(f"{name}: not a PDF (a PDF file starts with %PDF-); only PDFs can be attached")
    if b"%%EOF" not in tail:
        raise Invalid(f"{name}: the PDF is incomplete (no %%EOF marker at its end)")


def safe_name(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._ -]+", "_", Path(name).name).strip(" .") or "attachment"
    stem = stem[:100]
    return stem if stem.lower().endswith(".pdf") else stem + ".pdf"


def save(case_study, uploaded, user) -> Attachment:
    """Check and store an uploaded file (a Django UploadedFile)."""
    size = uploaded.size
    uploaded.seek(0)
    head = uploaded.read(1024)
    uploaded.seek(max(0, size - 2048))
    tail = uploaded.read(2048)
    uploaded.seek(0)
    check_pdf(head, tail, size, uploaded.name)
    root().mkdir(parents=True, exist_ok=True)
    stored = f"{uuid.uuid4().hex}.pdf"
    digest = hashlib.sha256()
    tmp = root() / f".{stored}.part"
    with open(tmp, "wb") as out:
        for chunk in uploaded.chunks():
            digest.update(chunk)
            out.write(chunk)
    os.replace(tmp, root() / stored)
    return Attachment.objects.create(case_study=case_study, name=safe_name(uploaded.name), stored_as=stored,
                                     size=size, sha256=digest.hexdigest(), uploaded_by=user)


def response(att: Attachment) -> FileResponse:
    path = root() / att.stored_as
    r = FileResponse(open(path, "rb"), as_attachment=True, filename=att.name, content_type="application/pdf")
    r["X-Content-Type-Options"] = "nosniff"
    r["Content-Security-Policy"] = "default-src 'none'; sandbox"
    r["Cache-Control"] = "private, no-store"
    return r
