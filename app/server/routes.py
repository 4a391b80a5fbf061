"""HTTP routes: the page, /healthz, /livez and /readyz, and small REST helpers (loss calculator, scenarios,
defaults)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from .. import __version__
from ..assets import VENDOR_PLOTLY
from ..engine.config import RunConfig, page_limits
from ..engine.loss import CONVENTION, calculate
from ..engine.scenarios import SCENARIOS
from .access import COOKIE, HOST_COOKIE, host_ok, host_refusal, token_ok
from .join import attendee_urls, qr_svg
from .store import StoreDown

router = APIRouter()
ROOM_REFRESH_MS = 1500  # the room page asks /api/room this often


@router.get("/", response_class=HTMLResponse)
async def page(request: Request) -> Response:
    settings = request.app.state.settings
    if not token_ok(request, settings):
        return _access_page(request)
    if settings.access_code and "token" in request.query_params:
        url = request.url.remove_query_params("token")  # the rest of the query kept, escaped as it came
        response: Response = RedirectResponse(url.path + (f"?{url.query}" if url.query else ""), status_code=303)
        response.set_cookie(COOKIE, settings.access_code, httponly=True, samesite="strict", max_age=12 * 3600)
        return response
    return _render(request, "index.html")


def _render(request: Request, template: str, extra: dict[str, Any] | None = None) -> Response:
    """A page with its boot data (what every page's scripts read: defaults, limits, convention, scenarios; and
    the page's own `extra`)."""
    templates: Jinja2Templates = request.app.state.templates
    boot = {"defaults": RunConfig().as_dict(), "limits": page_limits(request.app.state.settings.fps_cap),
            "convention": CONVENTION, "scenarios": [s.as_dict() for s in SCENARIOS], **(extra or {})}
    return templates.TemplateResponse(
        request, template, {"version": __version__, "plotly": VENDOR_PLOTLY, "boot": boot})


def _access_page(request: Request) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, "access.html", {"version": __version__}, status_code=401)


def _subpage(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        if not token_ok(request, request.app.state.settings):
            return _access_page(request)
        return _render(request, f"{name}.html")

    return handler


router.add_api_route("/sweep", _subpage("sweep"), methods=["GET"], response_class=HTMLResponse)
router.add_api_route("/calculator", _subpage("calculator"), methods=["GET"], response_class=HTMLResponse)
router.add_api_route("/distill", _subpage("distill"), methods=["GET"], response_class=HTMLResponse)


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    state = request.app.state
    return {
        "status": "ok",
        "version": __version__,
        "device": state.device,
        "sessions": await _sessions(request),
        "max_sessions": state.settings.max_sessions,
        "busy_threads": state.busy.value,  # training jobs running in this worker now
        "batch_sessions": bool(state.settings.batch_sessions),
        "largest_group": state.compute_loop.largest_group,  # the most sessions this worker trained as one bank
        "loop_sessions": len(state.compute_loop.members),  # sessions this worker's compute loop holds now
    }


@router.get("/livez")
async def livez() -> dict[str, str]:
    """200 while the process serves: never tied to load, so an orchestrator never restarts a busy replica."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 while this replica takes sessions; 503 while it is full (its MAX_SESSIONS) or draining (SIGTERM), so
    a proxy or Kubernetes sends newcomers elsewhere. A room store that is away does not make it unready: the
    count is then this worker's own (the cap's rule while the store is away)."""
    state = request.app.state
    try:
        here = await state.store.here()
    except StoreDown:
        here = len(state.connections)
    draining = bool(state.shutting_down or state.store.draining)
    full = here >= state.settings.max_sessions
    ready = not (full or draining)
    reason = "draining" if draining else "full" if full else None
    body = {"ready": ready, "reason": reason, "sessions": here, "max_sessions": state.settings.max_sessions}
    return JSONResponse(body, 200 if ready else 503, headers={"cache-control": "no-store"})


async def _sessions(request: Request) -> int:
    """Open sessions across the server's workers (the room store's count; this worker's own while it is away)."""
    try:
        return int(await request.app.state.store.call("count"))
    except StoreDown:
        return len(request.app.state.connections)


async def _room(request: Request) -> dict[str, Any]:
    """The room's numbers (app/server/room.py), its lesson (classroom.py), the room store's health, and the
    attendee links as this request's browser can share them (the address the host gave first)."""
    state = request.app.state
    store = state.store
    try:
        public = await store.call("kept", "public_url")
        lesson = await state.classroom.report()
    except StoreDown:
        public, lesson = None, None
    try:  # the room's replicas (this server alone, embedded): its capacity is theirs together
        replicas = await store.replicas()
    except StoreDown:
        replicas = []
    urls, notes = attendee_urls(state.settings, request.headers.get("host"), request.url.scheme, public)
    room = dict(await state.room.report(state.settings, state.device, urls, notes))
    room.update(lesson=lesson, public_url=public or state.settings.public_url or None,
                store={"kind": store.kind, "ok": store.ok, "since": store.since}, replica=store.replica,
                replicas=replicas, max_sessions=sum(r["max_sessions"] for r in replicas) or state.settings.max_sessions)
    return room


@router.get("/host", response_class=HTMLResponse)
async def host_page(request: Request) -> Response:
    """The workshop host's room page: the attendee link and its QR code, the room's numbers (refreshed)."""
    settings = request.app.state.settings
    templates: Jinja2Templates = request.app.state.templates
    if not host_ok(request, settings):
        return templates.TemplateResponse(request, "host.html", {
            "version": __version__, "locked": True, "refusal": host_refusal(request, settings),
            "ask_code": bool(settings.host_code)}, status_code=401)
    if settings.host_code and "code" in request.query_params:
        url = request.url.remove_query_params("code")
        response: Response = RedirectResponse(url.path + (f"?{url.query}" if url.query else ""), status_code=303)
        response.set_cookie(HOST_COOKIE, settings.host_code, httponly=True, samesite="strict", max_age=12 * 3600)
        return response
    room = await _room(request)
    return templates.TemplateResponse(request, "host.html", {
        "version": __version__, "locked": False, "plotly": VENDOR_PLOTLY,  # the projector view plots the room's sweep
        "qrs": [(url, qr_svg(url)) for url in room["attendee_urls"]],
        "boot": {"room": room, "refresh_ms": ROOM_REFRESH_MS}})


@router.get("/api/room")
async def api_room(request: Request) -> JSONResponse:
    """The room page's numbers as JSON for scripts (same protection as /host)."""
    settings = request.app.state.settings
    if not host_ok(request, settings):
        return JSONResponse({"error": host_refusal(request, settings)}, status_code=401)
    return JSONResponse(await _room(request), headers={"cache-control": "no-store"})


@router.get("/api/scenarios")
async def api_scenarios() -> list[dict[str, Any]]:
    """The blog's scenarios: key, title, RunConfig changes, what to look for."""
    return [s.as_dict() for s in SCENARIOS]


@router.get("/api/config")
async def api_config(request: Request) -> dict[str, Any]:
    """For scripts: the default run settings and their limits (the pages get the same in their boot data)."""
    return {"defaults": RunConfig().as_dict(), "limits": page_limits(request.app.state.settings.fps_cap)}


class CalcRequest(BaseModel):
    probs: list[float] = Field(min_length=2, max_length=100)
    label: int = Field(ge=0)
    eps: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)


@router.post("/api/calculate")
async def api_calculate(body: CalcRequest) -> JSONResponse:
    try:
        calc = calculate(body.probs, body.label, body.eps)
    except ValueError as err:
        return JSONResponse({"error": str(err)}, status_code=422)
    return JSONResponse(calc.__dict__)
