"""The client's address, for the sign-in throttle (django-axes locks an account for an address).

Behind the reverse proxy of docs/operations.md, every request reaches gunicorn from nginx on
127.0.0.1: keyed on that, five wrong passwords from anyone would lock an account for everyone
(issue 24.14). nginx's `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for` appends the
address it saw to whatever the client sent, so the right-most entry is the one nginx vouches for;
the entries before it are the client's own word and are ignored. The header is believed only
from a proxy in UPTAKE_TRUSTED_PROXIES (default 127.0.0.1 and ::1, as gunicorn's
forwarded_allow_ips); from anywhere else, the connection's own address counts."""

from __future__ import annotations

import ipaddress
import os


def trusted_proxies() -> set[str]:
    return {p.strip() for p in os.environ.get("UPTAKE_TRUSTED_PROXIES", "127.0.0.1,::1").split(",") if p.strip()}


def client_address(request) -> str | None:
    peer = request.META.get("REMOTE_ADDR")
    if peer not in trusted_proxies():
        return peer
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if not forwarded:
        return peer
    try:
        return str(ipaddress.ip_address(forwarded[-1]))
    except ValueError:  # not an address: nginx never writes that, so the header did not come from it
        return peer
