"""Where the publishers are and how politely to ask them: each value from its environment
variable, else from the home's settings.json (its "fetch" object), else the default.

| setting | environment variable | default |
|---|---|---|
| nhsbsa_url | UPTAKE_NHSBSA_URL | https://opendata.nhsbsa.net (the CKAN portal's root) |
| nhse_url | UPTAKE_NHSE_URL | https://digital.nhs.uk (NHS England's statistical publications) |
| ods_url | UPTAKE_ODS_URL | https://www.odsdatasearchandexport.nhs.uk (ODS Data Search and Export) |
| ctgov_url | UPTAKE_CTGOV_URL | https://clinicaltrials.gov/api/v2 (ClinicalTrials.gov API v2) |
| epd_dataset | UPTAKE_EPD_DATASET | english-prescribing-data-epd |
| scmd_dataset | UPTAKE_SCMD_DATASET | secondary-care-medicines-data-indicative-price |
| attempts | UPTAKE_FETCH_ATTEMPTS | 5 (tries of one request, the first included) |
| backoff | UPTAKE_FETCH_BACKOFF | 2.0 s (first wait; doubles after each failure) |
| backoff_max | UPTAKE_FETCH_BACKOFF_MAX | 120 s (longest wait) |
| timeout | UPTAKE_FETCH_TIMEOUT | 60 s (connecting, and between two reads) |
| interval | UPTAKE_FETCH_INTERVAL | 1.0 s (least time between two requests to one host) |
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from ...errors import UptakeError

ENV = {
    "nhsbsa_url": "UPTAKE_NHSBSA_URL",
    "nhse_url": "UPTAKE_NHSE_URL",
    "ods_url": "UPTAKE_ODS_URL",
    "ctgov_url": "UPTAKE_CTGOV_URL",
    "epd_dataset": "UPTAKE_EPD_DATASET",
    "scmd_dataset": "UPTAKE_SCMD_DATASET",
    "attempts": "UPTAKE_FETCH_ATTEMPTS",
    "backoff": "UPTAKE_FETCH_BACKOFF",
    "backoff_max": "UPTAKE_FETCH_BACKOFF_MAX",
    "timeout": "UPTAKE_FETCH_TIMEOUT",
    "interval": "UPTAKE_FETCH_INTERVAL",
}


@dataclass(frozen=True)
class FetchSettings:
    nhsbsa_url: str = "https://opendata.nhsbsa.net"
    nhse_url: str = "https://digital.nhs.uk"
    ods_url: str = "https://www.odsdatasearchandexport.nhs.uk"
    ctgov_url: str = "https://clinicaltrials.gov/api/v2"
    epd_dataset: str = "english-prescribing-data-epd"
    scmd_dataset: str = "secondary-care-medicines-data-indicative-price"
    attempts: int = 5
    backoff: float = 2.0
    backoff_max: float = 120.0
    timeout: float = 60.0
    interval: float = 1.0
    user_agent: str = "uptake/0.1 (NHS open data refresh; Python urllib)"

    def __post_init__(self) -> None:
        for name in ("nhsbsa_url", "nhse_url", "ods_url", "ctgov_url"):
            value = getattr(self, name)
            if not value.startswith(("http://", "https://")):
                raise UptakeError(f"{ENV[name]} (or settings {name}) = {value!r}: expected an http:// or https:// URL")
            object.__setattr__(self, name, value.rstrip("/"))
        if self.attempts < 1:
            raise UptakeError(f"{ENV['attempts']} = {self.attempts}: expected 1 or more attempts")
        for name in ("backoff", "backoff_max", "timeout", "interval"):
            if getattr(self, name) < 0 or (name == "timeout" and self.timeout == 0):
                raise UptakeError(f"{ENV[name]} = {getattr(self, name)}: expected a positive number of seconds")

    @classmethod
    def load(cls, home: Path | None = None, **overrides) -> "FetchSettings":
        """Defaults, then the home's settings.json "fetch" object, then the environment, then
        `overrides` (e.g. from command-line options; None values are ignored)."""
        values: dict = {}
        if home is not None:
            path = Path(home) / "settings.json"
            if path.exists():
                try:
                    stored = json.loads(path.read_text(encoding="utf-8")).get("fetch") or {}
                except (ValueError, AttributeError):
                    raise UptakeError(f"{path}: not a JSON object; expected settings as written by uptake") from None
                if not isinstance(stored, dict):
                    raise UptakeError(f"{path}: \"fetch\" is not an object; expected e.g. "
                                      "{\"fetch\": {\"nhsbsa_url\": \"https://...\"}}")
                values.update(stored)
        for name, var in ENV.items():
            if os.environ.get(var):
                values[name] = os.environ[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise UptakeError(f"unknown fetch setting(s) {', '.join(unknown)}; expected some of {', '.join(known)}")
        typed = {}
        for name, value in values.items():
            kind = type(getattr(cls, name))
            try:
                typed[name] = kind(value)
            except (TypeError, ValueError):
                raise UptakeError(f"{ENV.get(name, name)} = {value!r}: expected a {kind.__name__}") from None
        return replace(cls(), **typed) if typed else cls()
