"""The NHSBSA Open Data Portal's CKAN API: a dataset (CKAN "package") and its resources.

``GET {root}/api/3/action/package_show?id=DATASET`` answers::

    {"help": "...", "success": true,
     "result": {"id": "...", "name": "english-prescribing-data-epd", "title": "...",
                "num_resources": 138,
                "resources": [{"id": "...", "name": "EPD_202401", "format": "CSV",
                               "url": "https://opendata.nhsbsa.net/dataset/<id>/resource/<id>/download/epd_202401.csv",
                               "size": 6618466913, "hash": "", "last_modified": "2024-03-19T09:39:16.950431",
                               "created": "...", "mimetype": "text/csv", ...}, ...]}}

and, for an unknown dataset, HTTP 404 with ``{"success": false, "error": {"message": "Not found",
"__type": "Not Found Error"}}``. ``size`` and ``hash`` are optional in CKAN (often null or "");
when present they are checked against the download.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from .errors import NotFound, UnexpectedAnswer
from .http import Http


@dataclass(frozen=True)
class Resource:
    id: str
    name: str
    url: str
    format: str
    size: int | None
    hash: str | None
    last_modified: str | None
    created: str | None

    @classmethod
    def from_json(cls, data: dict, where: str) -> "Resource":
        if not isinstance(data, dict) or not data.get("url"):
            raise UnexpectedAnswer(f"{where}: a resource without a url ({str(data)[:80]}); expected CKAN resources")
        size = data.get("size")
        try:
            size = int(size) if size not in (None, "") else None
        except (TypeError, ValueError):
            size = None
        return cls(id=str(data.get("id") or ""), name=str(data.get("name") or ""), url=str(data["url"]),
                   format=str(data.get("format") or ""), size=size if size and size > 0 else None,
                   hash=(str(data["hash"]) if data.get("hash") else None),
                   last_modified=data.get("last_modified") or data.get("metadata_modified"),
                   created=data.get("created"))


@dataclass(frozen=True)
class Package:
    id: str
    name: str
    title: str
    resources: tuple[Resource, ...]


class Ckan:
    def __init__(self, http: Http, root: str, publisher: str = "the CKAN portal") -> None:
        self.http = http
        self.root = root.rstrip("/")
        self.publisher = publisher

    def package(self, dataset: str) -> Package:
        url = f"{self.root}/api/3/action/package_show?id={quote(dataset, safe='')}"
        try:
            answer = self.http.get_json(url)
        except NotFound:
            raise NotFound(f"{url}: {self.publisher} has no dataset {dataset!r} (HTTP 404); check the dataset "
                           "name, or the portal's root URL") from None
        if not isinstance(answer, dict) or "success" not in answer:
            raise UnexpectedAnswer(f"{url}: not a CKAN API answer (no \"success\"); expected the CKAN action API "
                                   "at the portal's root URL")
        if not answer["success"]:
            error = answer.get("error") or {}
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise UnexpectedAnswer(f"{url}: the API refused: {message or 'no reason given'}")
        result = answer.get("result")
        if not isinstance(result, dict) or not isinstance(result.get("resources"), list):
            raise UnexpectedAnswer(f"{url}: the answer has no result.resources list; expected a CKAN package")
        resources = tuple(Resource.from_json(r, url) for r in result["resources"])
        return Package(id=str(result.get("id") or ""), name=str(result.get("name") or dataset),
                       title=str(result.get("title") or dataset), resources=resources)
