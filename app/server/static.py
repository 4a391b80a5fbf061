"""Static files, gzip-compressed once and cached in memory, with ETag and cache headers.

Vendored files carry their version in the name, so they are cached for a year; the page's own
modules revalidate with their ETag. Paths are resolved inside the static folder only.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from pathlib import Path

from starlette import staticfiles
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import get_route_path  # type: ignore[attr-defined]
from starlette.types import Receive, Scope, Send

COMPRESSIBLE = (".js", ".css", ".html", ".svg", ".json", ".txt", ".map")


class StaticFiles(staticfiles.StaticFiles):
    """Starlette's StaticFiles (its conditional-request rules: If-None-Match lists, weak tags) serving
    from an in-memory cache of each file and its gzip."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory)
        self.root = directory.resolve()
        self._cache: dict[str, tuple[bytes, bytes | None, str, float]] = {}

    def load(self, rel: str) -> tuple[bytes, bytes | None, str] | None:
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        mtime = path.stat().st_mtime
        cached = self._cache.get(rel)
        if cached and cached[3] == mtime:
            return cached[0], cached[1], cached[2]
        body = path.read_bytes()
        zipped = gzip.compress(body, 9, mtime=0) if path.suffix in COMPRESSIBLE and len(body) > 512 else None
        etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        self._cache[rel] = (body, zipped, etag, mtime)
        return body, zipped, etag

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rel = get_route_path(scope).lstrip("/")
        headers = Headers(scope=scope)
        found = self.load(rel) if scope["method"] in ("GET", "HEAD") and rel else None
        if found is None:
            await Response("not found", status_code=404, media_type="text/plain")(scope, receive, send)
            return
        body, zipped, etag = found
        media = mimetypes.guess_type(rel)[0] or "application/octet-stream"
        if media in ("text/javascript", "application/javascript"):
            media = "text/javascript; charset=utf-8"
        cache = "public, max-age=31536000, immutable" if rel.startswith("vendor/") else "no-cache"
        out = {"cache-control": cache, "etag": etag, "vary": "accept-encoding"}
        if self.is_not_modified(Headers(out), headers):
            await Response(status_code=304, headers=out)(scope, receive, send)
            return
        if zipped is not None and "gzip" in headers.get("accept-encoding", ""):
            out["content-encoding"] = "gzip"
            body = zipped
        if scope["method"] == "HEAD":
            out["content-length"] = str(len(body))
            body = b""
        await Response(body, media_type=media, headers=out)(scope, receive, send)
