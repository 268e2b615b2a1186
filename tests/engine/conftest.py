"""A tiny synthetic NHS loaded once for the engine, service and CLI tests."""

from __future__ import annotations

import pytest

from uptake.sources.synthetic import generate
from uptake.warehouse import Warehouse

TINY_START, TINY_END = "2021-04", "2022-09"


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory) -> Warehouse:
    root = tmp_path_factory.mktemp("tiny-nhs")
    generated = generate(root / "files", scale="tiny", seed=11, start=TINY_START, end=TINY_END)
    wh = Warehouse(root / "warehouse")
    for path in generated.files:
        wh.load(path)
    return wh


@pytest.fixture(scope="session")
def duck(tiny_warehouse):
    from uptake.engine.backends import connect

    with connect(tiny_warehouse) as eng:
        yield eng
