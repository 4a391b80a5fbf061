"""The lessons' HTTP side: what lessons there are (for every page), and the host's commands (behind HOST_CODE).

    GET  /api/lessons               the lessons: name, title, summary, steps and their titles
    GET  /api/lessons/NAME          one lesson whole, answers included (the self-paced page's "show the answer")
    POST /api/lesson                the host: {"action": "start" | "next" | "prev" | "goto" | "pause" | "resume" |
                                    "reveal" | "spread_eps" | "end", "lesson": NAME, "step": N}
    POST /api/public-url            the host: {"url": "http://ADDRESS:PORT"} (or "" to forget it): the attendee link

A command needs the host code (its cookie, or ?code=) and, from a browser, the page's own origin: a cross-site
post is refused. docs/protocol.md, "Lessons".
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from .access import host_ok, host_refusal, origin_allowed
from .settings import check_public_url
from .store import ACTIONS, StoreDown

router = APIRouter()


class LessonCommand(BaseModel):
    action: Literal[ACTIONS]  # type: ignore[valid-type]
    lesson: str | None = Field(None, max_length=100)
    step: int | None = Field(None, ge=1, le=1_000)


class PublicUrl(BaseModel):
    url: str = Field(max_length=200)


def refused(request: Request) -> JSONResponse | None:
    """Why a host command is refused (401 without the code, 403 from another site), or None."""
    settings = request.app.state.settings
    if not origin_allowed(request.headers, settings):
        return JSONResponse({"error": "cross-site requests are refused: use the room page itself"}, 403)
    if not host_ok(request, settings):
        return JSONResponse({"error": host_refusal(request, settings)}, 401)
    return None


@router.get("/api/lessons")
async def api_lessons(request: Request) -> list[dict[str, Any]]:
    return [lesson.describe() for lesson in request.app.state.catalog.lessons.values()]


@router.get("/api/lessons/{name}")
async def api_lesson_content(request: Request, name: str) -> JSONResponse:
    lesson = request.app.state.catalog.get(name)
    if lesson is None:
        return JSONResponse({"error": f"no lesson named {name[:100]!r}"}, 404)
    return JSONResponse(lesson.public(), headers={"cache-control": "no-cache"})


@router.post("/api/lesson")
async def api_lesson_command(request: Request, body: LessonCommand) -> JSONResponse:
    no = refused(request)
    if no is not None:
        return no
    try:
        report = await request.app.state.classroom.command(body.action, body.lesson, body.step)
    except ValueError as err:
        return JSONResponse({"error": str(err)}, 409)
    except StoreDown:
        return JSONResponse({"error": "the room store is unreachable: the lesson cannot move just now"}, 503)
    return JSONResponse({"lesson": report}, headers={"cache-control": "no-store"})


@router.post("/api/public-url")
async def api_public_url(request: Request, body: PublicUrl) -> JSONResponse:
    no = refused(request)
    if no is not None:
        return no
    url = body.url.strip()
    try:
        kept = check_public_url(url, "the address") if url else None
        await request.app.state.store.call("keep", "public_url", kept)
    except ValueError as err:
        return JSONResponse({"error": str(err)}, 422)
    except StoreDown:
        return JSONResponse({"error": "the room store is unreachable: try again in a moment"}, 503)
    return JSONResponse({"public_url": kept})
