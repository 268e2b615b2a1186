"""Downloaders: fetch the official files from the publishers' open-data services (the NHSBSA
Open Data Portal's CKAN API, NHS England's publication pages, ODS) and load them through the
same readers and atomic loads as local files. See docs/fetching.md."""

from .errors import FetchError, NotFound, NotPublished, SchemaChanged, UnexpectedAnswer, VerifyError
from .http import Downloaded, Http
from .publishers import SOURCES, Item, Source
from .run import UPDATE_ORDER, Fetcher, Outcome, Reporter
from .settings import FetchSettings

__all__ = ["SOURCES", "UPDATE_ORDER", "Downloaded", "FetchError", "FetchSettings", "Fetcher", "Http", "Item",
           "NotFound", "NotPublished", "Outcome", "Reporter", "SchemaChanged", "Source", "UnexpectedAnswer",
           "VerifyError"]
