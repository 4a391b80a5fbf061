"""Who may open the explorer: same-origin WebSockets only, and the access code when one is set."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from .settings import Settings

COOKIE = "lse_token"


def origin_allowed(headers: Mapping[str, str], settings: Settings) -> bool:
    """A browser's Origin must name the host it connected to (no cross-site WebSocket hijacking).

    Clients that send no Origin (scripts, the CLI client) are not browsers and are let through;
    the access code still applies to them.
    """
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host", "")
    parts = urlsplit(origin)
    return bool(parts.netloc) and parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


def token_ok(conn: HTTPConnection, settings: Settings) -> bool:
    """True when no access code is set, or the request carries it (query ?token= or the cookie)."""
    if not settings.access_code:
        return True
    given = conn.query_params.get("token") or conn.cookies.get(COOKIE) or ""
    return hmac.compare_digest(given.encode(), settings.access_code.encode())
