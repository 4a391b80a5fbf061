"""/diagnose: the page, POST /api/diagnose (a network file's raw bytes → the report) and POST /api/diagnose/html
(a report → the offline HTML report, the same file as `python -m app diagnose FILE --html OUT`).

An upload is bounded while it streams (BodyLimit, app.py: DIAGNOSE_MAX_MB for this route), read in memory and
never written to disk, parsed off the event loop (anyio's worker threads), at most SLOTS at a time per worker
process; every problem is answered by one sentence: {"error": ...} with 400 (a setting), 413 (over the cap),
422 (the file) or 503 (busy). The access code and the same-origin rule hold as for the live session.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.datastructures import QueryParams

from ..diagnose.html import render_html
from ..diagnose.reader import BadSetting, DiagnoseError, TooLarge, read_dump
from ..diagnose.report import DEFAULT_POINTS, MAX_POINTS, build_report, check_settings, report_json
from .access import origin_allowed, token_ok
from .routes import _access_page, _render

router = APIRouter()
UPLOAD_PATH = "/api/diagnose"
HTML_PATH = "/api/diagnose/html"
MAX_REPORT_BYTES = 16_000_000  # a report's JSON: every class's numbers and at most 2 × 3 × MAX_POINTS points
SLOTS = 2  # files read at once by one worker process: memory stays within a few times the cap
BUSY = "The server is reading other files just now; try again in a moment."


def body_limits(max_mb: int) -> dict[str, tuple[int, str]]:
    """The two routes' own body caps and what a client over one is told (BodyLimit, app.py)."""
    return {UPLOAD_PATH: (max_mb * 1_000_000, f"The file is over the {max_mb} MB cap."),
            HTML_PATH: (MAX_REPORT_BYTES, "That is too large to be a diagnose report.")}


class Slots:
    """How many more files this worker may read now (used on the event loop only: no lock)."""

    def __init__(self, n: int = SLOTS) -> None:
        self.free = n

    def take(self) -> bool:
        if self.free <= 0:
            return False
        self.free -= 1
        return True

    def give(self) -> None:
        self.free += 1


@router.get("/diagnose", response_class=HTMLResponse)
async def diagnose_page(request: Request) -> Response:
    if not token_ok(request, request.app.state.settings):
        return _access_page(request)
    limits = {"max_mb": request.app.state.settings.diagnose_max_mb, "points_per_class": DEFAULT_POINTS,
              "max_points": MAX_POINTS}
    return _render(request, "diagnose.html", {"diagnose": limits})


def _refused(request: Request) -> JSONResponse | None:
    settings = request.app.state.settings
    if not token_ok(request, settings):
        return JSONResponse({"error": "This server needs its access code: open the page with ?token=…"}, 401)
    if not origin_allowed(request.headers, settings):
        return JSONResponse({"error": "Files are taken from this server's own pages only."}, 403)
    return None


@router.post(UPLOAD_PATH)
async def api_diagnose(request: Request) -> Response:
    """The raw bytes of an .npz or .safetensors file in the body; `classes`, `eps`, `points_per_class` and `seed`
    in the query (docs/diagnose.md) → the report as JSON, the same text as `diagnose --json` prints."""
    refused = _refused(request)
    if refused:
        return refused
    try:
        options = _options(request.query_params)
    except DiagnoseError as err:
        return JSONResponse({"error": str(err)}, 400)
    slots: Slots = request.app.state.diagnose_slots
    if not slots.take():
        return JSONResponse({"error": BUSY}, 503)
    try:
        data = await request.body()  # bounded by BodyLimit while it streams
        max_mb = request.app.state.settings.diagnose_max_mb
        text = await anyio.to_thread.run_sync(lambda: report_json(build_report(read_dump(data, max_mb), **options)))
    except TooLarge as err:
        return JSONResponse({"error": str(err)}, 413)
    except BadSetting as err:
        return JSONResponse({"error": str(err)}, 400)
    except DiagnoseError as err:
        return JSONResponse({"error": str(err)}, 422)
    except MemoryError:
        return JSONResponse({"error": "The server has not enough memory for this file just now."}, 503)
    finally:
        slots.give()
    return Response(text, media_type="application/json", headers={"cache-control": "no-store"})


def _options(query: QueryParams) -> dict[str, Any]:
    """The report's settings from the query, each bad one in a sentence."""
    def number(name: str, kind: type, default: Any) -> Any:
        raw = query.get(name, "").strip()
        if not raw:
            return default
        try:
            return kind(raw)
        except ValueError:
            raise BadSetting(f"{name} must be a number, got {raw[:40]!r}.") from None

    options = {"classes": query.get("classes") or None, "eps": number("eps", float, None),
               "points_per_class": number("points_per_class", int, DEFAULT_POINTS), "seed": number("seed", int, 0)}
    check_settings(options["eps"], options["points_per_class"], options["seed"])
    return options


@router.post(HTML_PATH)
async def api_diagnose_html(request: Request) -> Response:
    """A report's JSON (as /api/diagnose answered it) → the offline HTML report, as a download."""
    refused = _refused(request)
    if refused:
        return refused
    try:
        report = json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError):
        report = None
    if not isinstance(report, dict) or not isinstance(report.get("projection"), dict):
        return JSONResponse({"error": "That is not a diagnose report: send the JSON /api/diagnose answered."}, 422)
    try:
        html = await anyio.to_thread.run_sync(render_html, report)
    except (KeyError, TypeError, ValueError, AttributeError):
        return JSONResponse({"error": "That report is incomplete: send the JSON /api/diagnose answered."}, 422)
    return HTMLResponse(html, headers={"content-disposition": 'attachment; filename="diagnose.html"',
                                       "cache-control": "no-store"})
