"""The room's state in an embedded database: SQLite in WAL mode at STATE_DIR/room.sqlite3 (store.py says what).

Every worker process of a server opens the same file, so they are one room; it survives a restart, so a crash
mid-lesson resumes at the same step with its answers. Admission takes the database's write lock (BEGIN
IMMEDIATE), so the session cap holds across workers. Rows of sessions and workers whose process has died are
pruned whenever they are counted (this machine's pids: the embedded store is one machine's).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .store import LessonState, Member, next_state

FILE = "room.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (ticket TEXT PRIMARY KEY, worker TEXT NOT NULL, pid INTEGER NOT NULL,
    browser TEXT NOT NULL, joined REAL NOT NULL, following INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS workers (worker TEXT PRIMARY KEY, pid INTEGER NOT NULL, stats TEXT NOT NULL,
    updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS lesson (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT, step INTEGER NOT NULL,
    paused INTEGER NOT NULL, revealed INTEGER NOT NULL, spread INTEGER NOT NULL, run INTEGER NOT NULL,
    version INTEGER NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS answers (run INTEGER NOT NULL, step INTEGER NOT NULL, browser TEXT NOT NULL,
    value TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (run, step, browser));
CREATE TABLE IF NOT EXISTS kept (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (ticket TEXT PRIMARY KEY, run INTEGER NOT NULL, worker TEXT NOT NULL,
    row TEXT NOT NULL, at REAL NOT NULL);
INSERT OR IGNORE INTO lesson VALUES (1, NULL, 0, 0, 0, 0, 0, 0, 0);
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SqliteStore:
    """RoomStore on SQLite; every method runs on the caller's thread (the server keeps one thread for them)."""

    kind = "embedded"

    def __init__(self, directory: str | Path, max_sessions: int) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        self.path = str(Path(directory) / FILE)
        self.max_sessions = max_sessions
        self.db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taking the lock at once (no upgrade deadlocks between workers)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _prune(self, db: sqlite3.Connection) -> None:
        pids = {pid for (pid,) in db.execute("SELECT DISTINCT pid FROM sessions UNION SELECT pid FROM workers")}
        dead = [pid for pid in pids if not _alive(pid)]
        for pid in dead:
            db.execute("DELETE FROM sessions WHERE pid = ?", (pid,))
            db.execute("DELETE FROM workers WHERE pid = ?", (pid,))

    # ---- sessions (the cap across workers) ----------------------------------------------------------------
    def acquire(self, worker: str, pid: int, browser: str) -> str | None:
        with self._write() as db:
            self._prune(db)
            (open_now,) = db.execute("SELECT COUNT(*) FROM sessions").fetchone()
            if open_now >= self.max_sessions:
                return None
            ticket = uuid.uuid4().hex
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, 1)", (ticket, worker, pid, browser, time.time()))
            return ticket

    def release(self, ticket: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM sessions WHERE ticket = ?", (ticket,))
            db.execute("DELETE FROM results WHERE ticket = ?", (ticket,))

    def count(self) -> int:
        with self._write() as db:
            self._prune(db)
            (n,) = db.execute("SELECT COUNT(*) FROM sessions").fetchone()
            return int(n)

    def members(self) -> list[Member]:
        rows = self.db.execute("SELECT ticket, worker, browser, joined, following FROM sessions "
                               "ORDER BY joined, ticket")
        return [Member(t, w, b, j, bool(f)) for t, w, b, j, f in rows]

    def follow(self, ticket: str, on: bool) -> None:
        with self._write() as db:
            db.execute("UPDATE sessions SET following = ? WHERE ticket = ?", (int(on), ticket))

    # ---- each worker's numbers (the room page) ------------------------------------------------------------
    def put_stats(self, worker: str, pid: int, stats: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO workers VALUES (?, ?, ?, ?)", (worker, pid, json.dumps(stats),
                                                                               time.time()))

    def stats(self, fresh_for: float) -> list[dict[str, Any]]:
        with self._write() as db:
            self._prune(db)
            rows = db.execute("SELECT stats FROM workers WHERE updated > ?", (time.time() - fresh_for,)).fetchall()
        return [json.loads(s) for (s,) in rows]

    # ---- the lesson -------------------------------------------------------------------------------------------
    def lesson(self) -> LessonState:
        row = self.db.execute("SELECT name, step, paused, revealed, spread, run, version, updated "
                              "FROM lesson").fetchone()
        name, step, paused, revealed, spread, run, version, updated = row
        return LessonState(name, step, bool(paused), bool(revealed), spread, run, version, updated)

    def command(self, action: str, name: str | None, step: int | None, total: int) -> LessonState:
        with self._write() as db:
            state = next_state(self.lesson(), action, name, step, total)
            db.execute("UPDATE lesson SET name = ?, step = ?, paused = ?, revealed = ?, spread = ?, run = ?, "
                       "version = ?, updated = ?", (state.name, state.step, int(state.paused), int(state.revealed),
                                                    state.spread, state.run, state.version, state.updated))
            if action == "start":
                db.execute("DELETE FROM answers WHERE run < ?", (state.run - 1,))  # the last lesson's stay a while
                db.execute("DELETE FROM results WHERE run < ?", (state.run,))
            return state

    def answer(self, run: int, step: int, browser: str, value: Any) -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)",
                       (run, step, browser, json.dumps(value), time.time()))

    def answers(self, run: int, step: int) -> dict[str, int]:
        rows = self.db.execute("SELECT value, COUNT(*) FROM answers WHERE run = ? AND step = ? GROUP BY value",
                               (run, step))
        return {_key(v): n for v, n in rows}

    def answers_by(self, run: int, step: int) -> dict[str, Any]:
        """Each browser's answer to a step (a worker shows its attendees their own)."""
        rows = self.db.execute("SELECT browser, value FROM answers WHERE run = ? AND step = ?", (run, step))
        return {browser: json.loads(value) for browser, value in rows}

    def put_results(self, run: int, rows: list[dict[str, Any]]) -> None:
        with self._write() as db:
            now = time.time()
            db.executemany("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)",
                           [(r["ticket"], run, r["worker"], json.dumps(r), now) for r in rows])

    def results(self, run: int) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT row FROM results WHERE run = ? ORDER BY ticket", (run,))
        return [json.loads(r) for (r,) in rows]

    # ---- what the host said once (the attendee link's address) ------------------------------------------------
    def keep(self, key: str, value: str | None) -> None:
        with self._write() as db:
            if value is None:
                db.execute("DELETE FROM kept WHERE key = ?", (key,))
            else:
                db.execute("INSERT OR REPLACE INTO kept VALUES (?, ?)", (key, value))

    def kept(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM kept WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def close(self) -> None:
        self.db.close()


def _key(value: str) -> str:
    """An answer as a count's key: the choice as it is, a number as its shortest text."""
    decoded = json.loads(value)
    return decoded if isinstance(decoded, str) else f"{decoded:g}"
