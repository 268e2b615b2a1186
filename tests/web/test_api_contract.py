"""The API's contract, checked by schemathesis against its own OpenAPI document: for inputs drawn
from the schema, valid and invalid (odd path characters, huge limits, months like 0000-01, unknown
levels), no operation answers with a 5xx and every answer matches the documented response model.
The Django app is driven in-process through WSGI on the tiny synthetic NHS's publication.

Each operation is a test of its own, built from `APIOperation.as_strategy` with Hypothesis'
`@given`, rather than `schemathesis.pytest.from_fixture(...).parametrize()`: schemathesis 4's
lazy-fixture runner writes `request.node._nodeid`, which pytest 9 no longer has."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

PREFIX = "/api/v1"
OPERATIONS = [
    ("GET", "/tas"), ("GET", "/tas/{ta_id}"), ("GET", "/months"),
    ("GET", "/organisations"), ("GET", "/organisations/{code}"), ("GET", "/organisations/{code}/profile"),
    ("GET", "/scorecard/{subject}"), ("GET", "/ranking/{subject}"), ("GET", "/variation/{subject}"),
    ("GET", "/diffusion/{ta_id}"), ("GET", "/official/{ta_id}"),
    ("GET", "/deciles/{subject}"), ("GET", "/search"),
    ("GET", "/compliance"), ("GET", "/compliance/icbs"), ("GET", "/compliance/decisions"),
    ("POST", "/compliance/decisions"), ("PUT", "/compliance/decisions/{decision_id}"),
    ("GET", "/compliance/decisions/{decision_id}/history"),
    ("GET", "/opportunities"), ("GET", "/opportunities/{key}"), ("GET", "/opportunities/icb/{code}"),
    ("GET", "/opportunities/icb/{code}/choices"), ("PUT", "/opportunities/icb/{code}/choices"),
    ("GET", "/alerts/subscriptions"), ("POST", "/alerts/subscriptions"),
    ("DELETE", "/alerts/subscriptions/{subscription_id}"), ("GET", "/alerts/digests"),
    ("GET", "/peers/{code}"), ("GET", "/impact/{code}"),
    ("GET", "/trials"),
]
# Negative cases need a parameter with a constraint to break (a level, a month pattern, a limit,
# a format); a free string path parameter like /tas/{ta_id} has none, so nothing to negate.
UNCONSTRAINED = {("GET", "/tas"), ("GET", "/tas/{ta_id}"), ("GET", "/months"), ("GET", "/organisations/{code}"),
                 ("GET", "/opportunities/icb/{code}/choices"), ("GET", "/alerts/subscriptions"),
                 ("GET", "/alerts/digests")}
CASES = [(m, p, GenerationMode.POSITIVE) for m, p in OPERATIONS] + \
        [(m, p, GenerationMode.NEGATIVE) for m, p in OPERATIONS if (m, p) not in UNCONSTRAINED]
CHECKS = [not_a_server_error, response_schema_conformance]
EXAMPLES = 30  # per operation and mode: the whole contract runs in ~15 s after the fixtures


@pytest.fixture(scope="session")
def known(pub):
    """Path parameters the tiny publication has, in the spellings the API accepts."""
    tas = [t.id for t in pub.catalogue.technology_appraisals][:4]
    codes = ["ENG", "eng"]
    for level in ("region", "icb", "sub_icb", "pcn", "practice"):
        org = next(o["code"] for o in pub.organisations() if o["level"] == level)
        codes += [org, org.lower()]
    return {"subject": [*tas, "ta275", "275", *(m.id for m in pub.measures[:2])],
            "ta_id": [*tas, "275", "ta275", *(m.id for m in pub.measures[:1])], "code": codes}


@pytest.fixture(scope="session")
def api_schema(portal_db):
    from django.core.wsgi import get_wsgi_application

    return schemathesis.openapi.from_wsgi(f"{PREFIX}/openapi.json", get_wsgi_application())


def test_every_operation_is_covered(api_schema):
    documented = {(op.method.upper(), op.path.removeprefix(PREFIX))
                  for op in (r.ok() for r in api_schema.get_all_operations())}
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize("method,path,mode", CASES, ids=[f"{m} {p} {g.value}" for m, p, g in CASES])
def test_no_5xx_and_responses_match_the_schema(api_schema, known, method, path, mode):
    operation = api_schema[PREFIX + path][method]

    strategy = operation.as_strategy(generation_mode=mode)
    ours = {name: values for name, values in known.items() if "{" + name + "}" in path}
    if ours:  # about half the cases on codes the publication has, so that 200s are checked too
        strategy = st.one_of(strategy, st.fixed_dictionaries({k: st.sampled_from(v) for k, v in ours.items()})
                             .flatmap(lambda values: operation.as_strategy(generation_mode=mode,
                                                                           path_parameters=values)))

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(checks=CHECKS)

    run()
