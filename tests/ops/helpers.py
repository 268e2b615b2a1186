"""Helpers of the operations tests: instances made and used as docs/operations.md says, through
the `uptake` command in child processes (Django reads its settings once per process, so every
instance — its home and its database — is configured by the environment of the processes that
use it).

`Instance` describes one instance; `uptake(inst, ...)` runs a command on it and `child(inst,
script)` runs Python with Django set up on it, returning what the script printed last as JSON.
The conftest.py's `sqlite_source` instance (the tiny demo, three months, plus the content of
ADD_CONTENT) is made once per session; its `pg_database()` makes new PostgreSQL databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DEMO = ["demo", "--scale", "tiny", "--seed", "5", "--start", "2022-07", "--end", "2022-09", "--no-serve"]
TIMEOUT = 600


@dataclass
class Instance:
    home: Path
    database_url: str | None = None  # None: SQLite in the home (the default)
    extra: dict | None = None

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UPTAKE_", "DJANGO_"))}
        env.update(UPTAKE_HOME=str(self.home), DJANGO_SETTINGS_MODULE="uptake.web.settings", PYTHONUNBUFFERED="1")
        if self.database_url:
            env["UPTAKE_DATABASE_URL"] = self.database_url
        env.update(self.extra or {})
        return env

    def cwd(self) -> Path:
        """Where its commands run: the home's nearest existing folder (a restore makes the home)."""
        return next(p for p in (self.home, *self.home.parents) if p.is_dir())


def uptake(inst: Instance, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "uptake", *args], env=inst.env(), capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=inst.cwd())
    if ok:
        assert done.returncode == 0, f"uptake {' '.join(args)} exited {done.returncode}:\n{done.stdout[-2000:]}\n" \
                                     f"{done.stderr[-3000:]}"
    return done


def child(inst: Instance, script: str, *args: str):
    """Run `script` (Python, Django set up first) on the instance; the JSON it printed last."""
    code = "import django\ndjango.setup()\n" + script
    done = subprocess.run([sys.executable, "-c", code, *args], env=inst.env(), capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=inst.cwd())
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# A member writes a case study (with a PDF) that a moderator publishes; a wiki page gets two
# revisions; an ICB's formulary records a decision. Distinctive words let the search find them.
ADD_CONTENT = r'''
import datetime as dt, json
from django.core.files.uploadedfile import SimpleUploadedFile
from uptake.web.accounts.users import add_user
from uptake.web.compliance import store as formulary
from uptake.web.knowledge import store, uploads
from uptake.web.knowledge.models import CHECKLIST

author = add_user("ops.author@example.org", "an ops author password 7", editor_of=["QOX"], check_password=False)
moderator = add_user("ops.moderator@example.org", "an ops moderator password 7", moderator=True,
                     check_password=False)
cs = store.save_case_study(author, {
    "title": "Quokka clinics for fracture prevention", "summary": "Nurse-led quokka clinics doubled treatment.",
    "scope": "specific", "sector": "primary_care", "aims": "Treat everyone eligible after a fragility fracture.",
    "how": "Weekly quokka clinics in three practices, searches of the fracture register.",
    "learning": "Start with the register.", "contact": "ops.author@example.org"},
    tas=["TA464"], organisations=["QOX"], submit=True)
pdf = b"%PDF-1.4\n% ops test\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
uploads.save(cs, SimpleUploadedFile("clinic plan.pdf", pdf, content_type="application/pdf"), author)
store.moderate_case_study(cs, moderator, action="publish", checklist={key: True for key, _ in CHECKLIST})
page = store.save_wiki(author, title="Wallaby drill for backups", body="First: restore every quarter.",
                       summary="first")
store.save_wiki(moderator, title="Wallaby drill for backups", body="Second: restore every month.",
                summary="monthly", page=page, base_version=page.version)
f = formulary.ensure_formulary("QOX", "Ops test formulary")
formulary.record(formulary=f, ta="TA464", decision="included_with_restrictions",
                 decision_date=dt.date(2022, 9, 29), restrictions="Only after a fragility fracture",
                 who="ops test", via="web")
print(json.dumps({"case_study": cs.slug, "wiki": page.slug}))
'''

# What an instance holds, as JSON: rows per table, the records ADD_CONTENT made, what search finds,
# /healthz, the warehouse's tables (rows and an order-independent hash of every row), its ledger,
# the publication's bytes, the uploads and the home's settings.
SNAPSHOT = r'''
import hashlib, json
from pathlib import Path
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from uptake.config import warehouse_dir
from uptake.ops.backup import database_contents
from uptake.schemas import DATASETS
from uptake.warehouse import Warehouse
from uptake.web.compliance.models import Decision
from uptake.web.knowledge.models import CaseStudy, WikiPage
from uptake.web.knowledge.search import search

def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).exists() else None

snap = {"tables": database_contents()}
snap["users"] = sorted([u.username, u.password, u.is_staff, u.is_superuser, sorted(g.name for g in u.groups.all()),
                        sorted(r.organisation for r in u.organisation_roles.all())]
                       for u in get_user_model().objects.prefetch_related("groups", "organisation_roles"))
cs = CaseStudy.objects.filter(title="Quokka clinics for fracture prevention").first()
if cs is not None:
    snap["case_study"] = {"slug": cs.slug, "status": cs.status, "author": cs.author.username,
                          "moderated_by": cs.moderated_by.username, "published_on": str(cs.published_on),
                          "how": cs.how, "tas": cs.tas, "organisations": cs.organisations,
                          "checklist": cs.checklist,
                          "attachments": [[a.name, a.size, a.sha256, sha(settings.UPLOAD_ROOT / a.stored_as)]
                                          for a in cs.attachments.all()]}
    page = Client().get(f"/learning/case-studies/{cs.slug}/")
    snap["case_study_page"] = [page.status_code, "Quokka clinics for fracture prevention" in page.content.decode()]
    att = cs.attachments.first()
    got = Client().get(f"/learning/attachments/{att.pk}/")
    snap["attachment_download"] = [got.status_code, hashlib.sha256(b"".join(got.streaming_content)).hexdigest()]
wiki = WikiPage.objects.filter(title="Wallaby drill for backups").first()
if wiki is not None:
    snap["wiki"] = [wiki.version, [[r.number, r.title, r.body, r.summary, r.author.username]
                                   for r in wiki.revisions.order_by("number")]]
snap["decision"] = list(Decision.objects.filter(recorded_by="ops test").order_by("decision_date")
                        .values("formulary_id", "ta", "decision", "decision_date", "restrictions", "version"))
snap["decisions"] = sorted([d.formulary_id, d.ta, d.decision, str(d.decision_date), d.version]
                           for d in Decision.objects.all())
snap["search"] = {q: [[r.kind, r.key] for r in search(q).results] for q in ("quokka", "wallaby month", "osteoporosis")}
health = Client().get("/healthz")
snap["healthz"] = [health.status_code, health.json()["failed"], health.json()["warehouse"].get("checked")]
wh = Warehouse(warehouse_dir())
con = wh.connect()
snap["warehouse"] = {name: [str(v) for v in con.execute(f'SELECT count(*), sum(hash(t)) FROM "{name}" t').fetchone()]
                     for name in DATASETS}
snap["ledger"] = [[l["id"], l["sha256"], l["rows"], l["months"]] for l in wh.state()["loads"]]
snap["published"] = sha(settings.PUBLISHED)
snap["uploads"] = sorted([p.name, sha(p)] for p in Path(settings.UPLOAD_ROOT).glob("*") if p.is_file())
snap["settings_json"] = (Path(settings.HOME) / "settings.json").read_text()
print(json.dumps(snap, default=str))
'''


def make_source(inst: Instance) -> dict:
    """Install as the guide says (migrate, the tiny demo), then add content: ADD_CONTENT's answer."""
    inst.home.mkdir(parents=True, exist_ok=True)
    uptake(inst, "migrate")
    uptake(inst, *DEMO)
    return child(inst, ADD_CONTENT)
