"""Who may open the explorer: same-origin WebSockets only, and the access code when one is set.
Who may see the room page (/host, /api/room): the host code, or, without one, this machine's own browser."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from .join import is_loopback_name
from .settings import Settings

COOKIE = "lse_token"
HOST_COOKIE = "lse_host"
FORWARDED = ("forwarded", "x-forwarded-for", "x-real-ip")  # a proxy's request: its client is not this machine


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


def host_ok(conn: HTTPConnection, settings: Settings) -> bool:
    """The room page: the host code (query ?code= or the cookie) when HOST_CODE is set, else loopback only.

    Without a code, a request that came through a proxy (it names a forwarded client) is not local,
    even when the proxy itself runs on this machine.
    """
    if settings.host_code:
        given = conn.query_params.get("code") or conn.cookies.get(HOST_COOKIE) or ""
        return hmac.compare_digest(given.encode(), settings.host_code.encode())
    return is_local(conn)


def is_local(conn: HTTPConnection) -> bool:
    if any(name in conn.headers for name in FORWARDED):
        return False
    return conn.client is not None and is_loopback_name(conn.client.host)


def host_refusal(conn: HTTPConnection, settings: Settings) -> str:
    """Why host_ok said no, in words for the host."""
    if not settings.host_code:
        return ("The room page is open only to a browser on this machine (127.0.0.1) while HOST_CODE is not "
                "set. Start the server with HOST_CODE=… and open /host?code=… from any machine.")
    if conn.query_params.get("code") or conn.cookies.get(HOST_COOKIE):
        return "That host code is not right: open /host?code=… with the HOST_CODE the server was started with."
    return "The room page needs the host code: open /host?code=… (HOST_CODE)."
