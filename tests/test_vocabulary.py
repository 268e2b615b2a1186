"""Levels and headlines are defined once (uptake/vocabulary.py): a level or a headline added
there, and nowhere else, reaches the engine, the services, the API's schema and the pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from uptake import vocabulary

VOCABULARY = Path(vocabulary.__file__)

# Run in a fresh interpreter: uptake.vocabulary is replaced by an edited copy before anything
# else imports it, exactly as if the file itself had been edited.
PROBE = r"""
import json, sys, types, os
source = open(sys.argv[1], encoding="utf-8").read()
source = source.replace(
    '    Level("england", "England", parent=None),\n',
    '    Level("nation", "Nation", parent="england"),\n    Level("england", "England", parent=None),\n')
source = source.replace(
    '    Headline("none",',
    '    Headline("per_100k_doses", "daily doses per 100,000 population"),\n    Headline("none",')
vocabulary = types.ModuleType("uptake.vocabulary")
vocabulary.__file__ = sys.argv[1]
sys.modules["uptake.vocabulary"] = vocabulary
exec(compile(source, sys.argv[1], "exec"), vocabulary.__dict__)

os.environ["DJANGO_SETTINGS_MODULE"] = "uptake.web.settings"
import django
django.setup()
from uptake.engine import hierarchy
from uptake.services import analysis, scorecard, search
from uptake.web import api, views

schema = api.api.get_openapi_schema()
def enum(s):  # a parameter's allowed values, also when optional (anyOf [enum, null])
    return tuple(s.get("enum") or ()) + tuple(v for part in s.get("anyOf", ()) for v in enum(part))
level_enums = sorted({enum(p["schema"]) for op in schema["paths"].values() for m in op.values()
                      for p in m.get("parameters", []) if p["name"] == "level" and "schema" in p})
print(json.dumps({
    "engine": list(hierarchy.LEVELS),
    "published": list(analysis.ALL_LEVELS),
    "parent_of_region": analysis.PARENT_LEVEL.get("region"),
    "child_of_england": analysis.CHILD_LEVEL.get("england"),
    "names": search.LEVEL_NAMES.get("nation"),
    "page_choices": list(views.LEVEL_CHOICES),
    "api_levels": [list(e) for e in level_enums],
    "headline_label": scorecard.HEADLINE_LABEL.get("per_100k_doses"),
}))
"""


def test_one_edit_in_the_vocabulary_reaches_every_layer(tmp_path):
    env = {**os.environ, "UPTAKE_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", PROBE, str(VOCABULARY)], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert "nation" in seen["engine"]
    assert seen["published"][-2:] == ["nation", "england"]
    assert seen["parent_of_region"] == "nation" or seen["child_of_england"] == "nation"
    assert seen["names"] == "Nation"
    assert "nation" in seen["page_choices"]
    assert seen["api_levels"] and all("nation" in enum for enum in seen["api_levels"])
    assert seen["headline_label"] == "daily doses per 100,000 population"


def test_the_vocabulary_as_it_is():
    assert vocabulary.PUBLISHED_LEVELS == ("practice", "pcn", "sub_icb", "icb", "region", "england")
    assert vocabulary.POPULATION_LEVELS == ("practice", "pcn", "sub_icb", "icb", "region")
    assert vocabulary.CHILD_LEVEL["icb"] == "sub_icb" and vocabulary.PARENT_LEVEL["icb"] == "region"
    assert "trust" not in vocabulary.PARENT_LEVEL  # trusts are not published
