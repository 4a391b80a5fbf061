"""HTTP routes: the page, /healthz and small REST helpers (loss calculator, scenarios, defaults)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from .. import __version__
from ..engine.loss import CONVENTION, calculate
from ..engine.scenarios import SCENARIOS
from ..protocol.messages import RunConfig
from .access import COOKIE, token_ok

router = APIRouter()
VENDOR_PLOTLY = "vendor/plotly-cartesian-4.1.1.min.js"


@router.get("/", response_class=HTMLResponse)
async def page(request: Request) -> Response:
    settings = request.app.state.settings
    if not token_ok(request, settings):
        return HTMLResponse(ACCESS_PAGE, status_code=401)
    if settings.access_code and "token" in request.query_params:
        query = "&".join(f"{k}={v}" for k, v in request.query_params.multi_items() if k != "token")
        response: Response = RedirectResponse("/" + (f"?{query}" if query else ""), status_code=303)
        response.set_cookie(COOKIE, settings.access_code, httponly=True, samesite="strict", max_age=12 * 3600)
        return response
    return _render(request, "index.html")


def _render(request: Request, template: str) -> Response:
    """A page with what every page's scripts read: version, Plotly path, defaults, convention, scenarios."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, template,
        {"version": __version__, "plotly": VENDOR_PLOTLY, "defaults": RunConfig().model_dump(),
         "convention": CONVENTION, "scenarios": [s.as_dict() for s in SCENARIOS]},
    )


def _subpage(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        if not token_ok(request, request.app.state.settings):
            return HTMLResponse(ACCESS_PAGE, status_code=401)
        return _render(request, f"{name}.html")

    return handler


router.add_api_route("/sweep", _subpage("sweep"), methods=["GET"], response_class=HTMLResponse)
router.add_api_route("/calculator", _subpage("calculator"), methods=["GET"], response_class=HTMLResponse)


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    state = request.app.state
    return {
        "status": "ok",
        "version": __version__,
        "device": state.device,
        "sessions": state.registry.count(),
        "max_sessions": state.settings.max_sessions,
        "busy_threads": state.busy.value,  # training jobs running in this worker now
    }


@router.get("/api/scenarios")
async def api_scenarios() -> list[dict[str, Any]]:
    """The blog's scenarios: key, title, RunConfig changes, what to look for."""
    return [s.as_dict() for s in SCENARIOS]


@router.get("/api/config")
async def api_config() -> dict[str, Any]:
    """The default run settings and every field's description (the page builds its controls from it)."""
    return {"defaults": RunConfig().model_dump(), "schema": RunConfig.model_json_schema()}


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


ACCESS_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Access code needed · Label Smoothing Explorer</title>
<link rel="stylesheet" href="/static/css/explorer.css"></head><body class="access">
<main><h1>This explorer needs an access code</h1>
<p>Open the link your host gave you, or type the code:</p>
<form method="get" action="/"><input name="token" type="password" autocomplete="off" aria-label="access code">
<button type="submit">Enter</button></form></main></body></html>"""
