"""Where things live: the warehouse home and the shared data directory."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "UPTAKE_HOME"


def home_dir(explicit: str | Path | None = None) -> Path:
    """The uptake home: --home, else $UPTAKE_HOME, else ~/.uptake."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return (Path.home() / ".uptake").resolve()
