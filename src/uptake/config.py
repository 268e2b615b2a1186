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


WAREHOUSE_ENV = "UPTAKE_WAREHOUSE"


def warehouse_dir(explicit_home: str | Path | None = None) -> Path:
    """The warehouse directory: <--home>/warehouse when a home is given on the command line, else
    $UPTAKE_WAREHOUSE (e.g. a shared filesystem that a Spark cluster also reads), else
    <$UPTAKE_HOME or ~/.uptake>/warehouse. The most explicit setting wins."""
    if explicit_home:
        return home_dir(explicit_home) / "warehouse"
    env = os.environ.get(WAREHOUSE_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return home_dir() / "warehouse"


TODAY_ENV = "UPTAKE_TODAY"
SETTINGS_FILE = "settings.json"


def today(home: str | Path | None = None):
    """The date the portal and the CLI take as today: $UPTAKE_TODAY, else the `today` a home's
    settings.json freezes (the demo freezes its synthetic NHS at the end of its data, so that the
    formulary deadlines it shows are those of that world), else the calendar's."""
    import datetime as dt
    import json

    env = os.environ.get(TODAY_ENV)
    if env:
        try:
            return dt.date.fromisoformat(env)
        except ValueError:
            raise ValueError(f"{TODAY_ENV}={env!r}: expected a date YYYY-MM-DD") from None
    settings = home_dir(home) / SETTINGS_FILE
    if settings.exists():
        frozen = json.loads(settings.read_text()).get("today")
        if frozen:
            return dt.date.fromisoformat(frozen)
    return dt.date.today()


def freeze_today(home: str | Path | None, day) -> None:
    """Record in the home's settings.json the date its data stands at (the demo's)."""
    import json

    path = home_dir(home) / SETTINGS_FILE
    current = json.loads(path.read_text()) if path.exists() else {}
    if day is None:
        current.pop("today", None)
    else:
        current["today"] = day.isoformat()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2) + "\n")


SITE_URL_ENV = "UPTAKE_SITE_URL"


def site_url() -> str:
    """The portal's public address, for links in e-mails and in reports made outside a request."""
    return (os.environ.get(SITE_URL_ENV) or "http://127.0.0.1:8000").rstrip("/")
