"""The room's lesson, in one worker: it follows the room store's lesson state, tells this worker's attendees,
takes their answers and their follow switch, pauses their training with the room, spreads ε over them for the
sweep step, and puts their results in the store for the projector (docs/protocol.md, "Lessons").

Host commands (POST /api/lesson) go to the store from whichever worker takes them; every worker sees the
change within WATCH_EVERY (it reads the state's version) and tells its own attendees. Nothing per frame goes
through the store: results are published every RESULTS_EVERY seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from ..lessons import Catalog, Lesson, Step
from ..protocol.messages import ControlError, Set
from .store import LessonState, Store, StoreDown

if TYPE_CHECKING:
    from .connection import Connection

WATCH_EVERY = 0.1  # seconds between two looks at the lesson's version
RESULTS_EVERY = 2.0  # seconds between two publications of this worker's results
SPREAD = (0.0, 0.5)  # the room's ε sweep: attendees spread evenly over this range
log = logging.getLogger(__name__)


def spread_eps(rank: int, count: int) -> float:
    """The ε of the attendee at `rank` (0-based, by arrival) among `count`: evenly over SPREAD, ends included."""
    lo, hi = SPREAD
    return lo if count < 2 else round(lo + (hi - lo) * rank / (count - 1), 3)


class Classroom:
    def __init__(self, store: Store, catalog: Catalog, connections: set[Connection]) -> None:
        self.store, self.catalog, self.connections = store, catalog, connections
        self.state = LessonState()
        self.spread_seen = 0
        self.mine: dict[str, Any] = {}  # browser → answer, for the step shown

    # ---- what the store says --------------------------------------------------------------------------------
    @property
    def lesson(self) -> Lesson | None:
        return self.catalog.get(self.state.name) if self.state.name else None

    @property
    def step(self) -> Step | None:
        lesson = self.lesson
        return lesson.steps[self.state.step] if lesson and self.state.step < len(lesson.steps) else None

    async def watch(self) -> None:
        """The worker's watcher (a task of the app's lifespan): read the lesson's version; on a change, read the
        state and tell the attendees. Also publishes the results. A store that is away is read again later."""
        last_results = 0.0
        while True:
            try:
                state = await self.store.call("lesson")
                if state.version != self.state.version:
                    await self.changed(state)
                if state.name and time.monotonic() - last_results >= RESULTS_EVERY:
                    last_results = time.monotonic()
                    await self.publish_results()
            except StoreDown:
                pass
            except Exception:  # a bug here must not end the watcher: say so, keep watching
                log.exception("following the room's lesson failed")
            await asyncio.sleep(WATCH_EVERY)

    async def changed(self, state: LessonState) -> None:
        """The lesson moved (a host command here or in another worker): apply it here and tell everyone."""
        before, self.state = self.state, state
        if (state.name, state.run, state.step) != (before.name, before.run, before.step):
            self.mine = await self.store.call("answers_by", state.run, state.step) if state.name else {}
        for conn in list(self.connections):
            if conn.live is not None:
                conn.live.room_paused = bool(state.name) and state.paused
                conn.loop.poke()  # resumed runs train at the next tick
        if state.spread and state.spread != self.spread_seen:
            await self.spread()
        self.spread_seen = state.spread
        self.tell_all()

    async def spread(self) -> None:
        """Each attendee of the room its own ε over SPREAD, by arrival (every worker ranks the same list)."""
        members = await self.store.call("members")
        rank = {m.ticket: i for i, m in enumerate(members)}
        for conn in list(self.connections):
            if conn.ticket in rank and conn.live is not None:
                conn.assigned_eps = spread_eps(rank[conn.ticket], len(members))
                conn.pending.append(Set(type="set", eps=conn.assigned_eps))
                conn.loop.poke()

    # ---- telling the attendees ------------------------------------------------------------------------------
    def message(self, conn: Connection) -> dict[str, Any]:
        """The `lesson` message for one attendee (docs/protocol.md): the step, its content, the room's answers
        only once revealed, this browser's own answer."""
        s, lesson, step = self.state, self.lesson, self.step
        if lesson is None or step is None:
            return {"type": "lesson", "lesson": None, "following": conn.following, "version": s.version}
        content = step.public()
        if step.question is not None and s.revealed:
            content["question"] = step.question.revealed()
        return {"type": "lesson", "lesson": lesson.name, "title": lesson.title, "step": s.step + 1,
                "steps": len(lesson.steps), "paused": s.paused, "revealed": s.revealed, "spread": bool(s.spread),
                "eps": conn.assigned_eps if s.spread else None, "following": conn.following, "content": content,
                "mine": self.mine.get(conn.browser), "version": s.version}

    async def welcome(self, conn: Connection) -> dict[str, Any]:
        """The `lesson` message for a newcomer, with the answer its browser gave before it came (through another
        worker or replica: a page that reconnected)."""
        s = self.state
        if self.lesson is not None and conn.browser not in self.mine:
            try:
                mine = await self.store.call("answers_by", s.run, s.step)
            except StoreDown:
                mine = {}
            if (s.run, s.step) == (self.state.run, self.state.step):  # the room did not move meanwhile
                self.mine.update(mine)
        return self.message(conn)

    def tell(self, conn: Connection) -> None:
        conn.spawn_text(self.message(conn))

    def tell_all(self) -> None:
        for conn in list(self.connections):
            if conn.live is not None:
                self.tell(conn)

    # ---- what attendees send --------------------------------------------------------------------------------
    async def answer(self, conn: Connection, step: int, value: Any) -> None:
        """An attendee's answer to the step shown (changeable until the reveal); ControlError in words otherwise."""
        s, question = self.state, self.step.question if self.step else None
        if self.lesson is None:
            raise ControlError("no lesson is running: there is nothing to answer")
        if step != s.step + 1:
            raise ControlError(f"the room is at step {s.step + 1}, not {step}: answer the step shown")
        if question is None:
            raise ControlError(f"step {step} asks no question")
        if s.revealed:
            raise ControlError("the answers have been revealed: this step's answers are closed")
        try:
            value = question.check(value)
        except ValueError as err:
            raise ControlError(str(err)) from None
        try:
            await self.store.call("answer", s.run, s.step, conn.browser, value)
        except StoreDown:
            raise ControlError("the room's answers cannot be taken just now; try again in a moment") from None
        self.mine[conn.browser] = value
        self.tell(conn)

    async def follow(self, conn: Connection, on: bool) -> None:
        conn.following = on
        try:
            await self.store.call("follow", conn.ticket, on)
        except StoreDown:
            pass  # the page follows or not all the same; the host's count catches up
        self.tell(conn)

    # ---- the host -------------------------------------------------------------------------------------------
    async def command(self, action: str, name: str | None, step: int | None) -> dict[str, Any] | None:
        """A host action (POST /api/lesson): ValueError in words for one that cannot be."""
        if action == "start":
            lesson = self.catalog.get(name or "")
            if lesson is None:
                known = ", ".join(self.catalog.names()) or "none"
                raise ValueError(f"no lesson named {name!r}; the lessons: {known}")
        else:
            state = await self.store.call("lesson")
            lesson = self.catalog.get(state.name) if state.name else None
        total = len(lesson.steps) if lesson else 0
        state = await self.store.call("command", action, name if action == "start" else None, step, total)
        await self.changed(state)  # this worker at once; the others within WATCH_EVERY
        return await self.report()

    async def report(self) -> dict[str, Any] | None:
        """The lesson as /api/room shows it to the host: the step, the question, the answers (value → count, the
        projector shows them after the reveal), the results (each attendee's ε, accuracy, ECE and gap)."""
        s, lesson, step = self.state, self.lesson, self.step
        if lesson is None or step is None:
            return None
        answers = await self.store.call("answers", s.run, s.step)
        results = await self.store.call("results", s.run)
        members = await self.store.call("members")
        question = step.question.revealed() if step.question else None
        return {"name": lesson.name, "title": lesson.title, "step": s.step + 1, "steps": len(lesson.steps),
                "paused": s.paused, "revealed": s.revealed, "spread": bool(s.spread), "content": step.public(),
                "question": question, "answers": answers, "answered": sum(answers.values()),
                "following": sum(m.following for m in members), "attendees": len(members),
                "results": results, "version": s.version}

    async def publish_results(self) -> None:
        """This worker's attendees' latest measured numbers (the smoothed run of a twin) for the room's sweep."""
        rows = []
        for conn in list(self.connections):
            live = conn.live
            measured = getattr(getattr(live, "session", None), "_measured", None)
            if live is None or not measured or len(measured) != 2 or live.session.is_sweep:
                continue
            m = measured[1]["metrics"]
            if not m.get("steps"):
                continue  # a run that has not trained (a page on the calculator keeps one idle): not a point yet
            rows.append({"ticket": conn.ticket, "worker": self.store.worker, "browser": conn.browser,
                         "eps": m.get("eps"), "val_acc": m.get("val_acc"), "val_ece": m.get("ece"),
                         "gap": m.get("logit_gap"), "step": m.get("steps")})
        if rows:
            await self.store.call("put_results", self.state.run, rows)
