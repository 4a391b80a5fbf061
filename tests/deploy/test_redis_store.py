"""The room store on a real Redis (app/server/redis_store.py): the cap of each replica across its workers, sessions
of a vanished worker expiring, a heartbeat bringing back what Redis lost, answers once per browser, the lesson's
commands as store.next_state says (two replicas at once included), results of live sessions only, ids checked
before anything is written, REDIS_URL with a password, and the server's handle backing off while Redis is away.

Each RedisStore stands for one worker process: several on one replica name share its cap."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from app.server.redis_store import RedisStore, wait_for_redis
from app.server.settings import Settings
from app.server.store import LessonState, Store, StoreDown, next_state
from tests.support.redis_server import RedisServer
from tests.support.server import REPO, await_for, wait_for


def store(server: RedisServer, replica: str = "vm:8001", cap: int = 5, ttl: float = 15.0) -> RedisStore:
    return RedisStore(server.url, replica, cap, session_ttl=ttl)


def test_the_cap_holds_per_replica_across_its_workers_even_when_they_race(redis_server: RedisServer) -> None:
    workers = [store(redis_server, cap=7) for _ in range(4)]  # one replica, four worker processes
    other = store(redis_server, "vm:8002", cap=3)

    def admit(i: int) -> str | None:
        return workers[i % 4].acquire(f"vm:{i % 4}:abc", 100 + i % 4, f"browser-{i:04d}")

    with ThreadPoolExecutor(16) as pool:
        tickets = list(pool.map(admit, range(40)))
    admitted = [t for t in tickets if t is not None]
    assert len(admitted) == 7  # exactly the cap, however the 40 raced
    assert [other.acquire("vm:9:abc", 9, f"browser-o{i:03d}") for i in range(4)].count(None) == 1
    assert workers[0].here() == 7 and other.here() == 3 and other.count() == 10
    members = workers[0].members()
    assert len(members) == 10 and {m.replica for m in members} == {"vm:8001", "vm:8002"}
    assert [m.joined for m in members] == sorted(m.joined for m in members)  # by arrival: the spread's rank
    owner = next(w for w in workers if admitted[0] in w.mine)
    owner.release(admitted[0])
    assert workers[1].here() == 6 and workers[1].acquire("vm:1:abc", 101, "browser-late") is not None


def test_a_vanished_worker_s_sessions_expire_and_a_heartbeat_brings_back_what_redis_lost(
        redis_server: RedisServer) -> None:
    gone, alive = store(redis_server, ttl=1.0), store(redis_server, ttl=1.0)
    assert gone.acquire("vm:1:aaa", 1, "browser-gone") and alive.acquire("vm:2:bbb", 2, "browser-alive")
    assert alive.count() == 2

    def expired() -> bool:
        alive.put_stats("vm:2:bbb", 2, {"sessions": 1})  # the live worker's heartbeat; the other says nothing
        return alive.count() == 1

    wait_for(expired, 20, "the silent worker's session expired")
    assert [m.browser for m in alive.members()] == ["browser-alive"]
    assert [r["replica"] for r in alive.replicas()] == ["vm:8001"]
    redis_server.command("FLUSHALL")  # Redis lost everything (no persistence, a failover)
    assert alive.count() == 0
    alive.put_stats("vm:2:bbb", 2, {"sessions": 1})
    assert [m.browser for m in alive.members()] == ["browser-alive"] and alive.here() == 1


def test_replicas_their_seats_and_a_draining_one(redis_server: RedisServer) -> None:
    a, b = store(redis_server, "vm:8001", cap=2), store(redis_server, "vm:8002", cap=3)
    for s, worker in ((a, "vm:1:aaa"), (b, "vm:2:bbb")):
        s.acquire(worker, 1, "browser-0001")
        s.put_stats(worker, 1, {})
    assert a.seats_elsewhere() == 2 and b.seats_elsewhere() == 1
    b.draining = True
    b.put_stats("vm:2:bbb", 1, {})
    assert a.seats_elsewhere() == 0  # a draining replica takes no one
    assert [(r["replica"], r["sessions"], r["max_sessions"], r["draining"]) for r in a.replicas()] == [
        ("vm:8001", 1, 2, False), ("vm:8002", 1, 3, True)]
    b.close()
    assert [r["replica"] for r in a.replicas()] == ["vm:8001"]  # it said goodbye on its way out


def test_answers_count_once_per_browser_and_results_only_for_live_sessions(redis_server: RedisServer) -> None:
    a, b = store(redis_server, "vm:8001"), store(redis_server, "vm:8002")
    run = a.command("start", "three-steps", None, 3).run
    for i in range(12):
        (a if i % 2 else b).answer(run, 0, f"browser-{i:04d}", "A" if i < 5 else "B")
    b.answer(run, 0, "browser-0000", "B")  # changed its mind: still one answer
    a.answer(run, 0, "browser-0100", 0.5)
    a.answer(run, 1, "browser-0000", "C")  # another step counts apart
    assert a.answers(run, 0) == {"A": 4, "B": 8, "0.5": 1} and b.answers(run, 1) == {"C": 1}
    assert b.answers_by(run, 0)["browser-0000"] == "B" and b.answers_by(run, 0)["browser-0100"] == 0.5
    ta, tb = a.acquire("vm:1:aaa", 1, "browser-0001"), b.acquire("vm:2:bbb", 2, "browser-0002")
    assert ta and tb
    a.put_results(run, [{"ticket": ta, "eps": 0.1}])
    b.put_results(run, [{"ticket": tb, "eps": 0.3}, {"ticket": "f" * 32, "eps": 9.9}])  # one not in the room
    assert sorted(r["eps"] for r in a.results(run)) == [0.1, 0.3]
    a.release(ta)
    assert [r["eps"] for r in b.results(run)] == [0.3]
    again = a.command("start", "three-steps", None, 3).run
    assert a.answers(again, 0) == {} and a.answers(run, 0) != {}  # the last lesson's answers stay a while
    a.command("start", "three-steps", None, 3)
    assert a.answers(run, 0) == {} and a.results(run) == []  # two lessons on: gone


def test_the_lesson_commands_follow_next_state_and_two_replicas_never_lose_one(redis_server: RedisServer) -> None:
    a, b = store(redis_server, "vm:8001"), store(redis_server, "vm:8002")
    assert a.lesson() == LessonState()
    expected = LessonState()
    for action, name, step in [("start", "ten", 2), ("next", None, None), ("pause", None, None),
                               ("reveal", None, None), ("spread_eps", None, None), ("goto", None, 7),
                               ("prev", None, None), ("resume", None, None)]:
        got = (a if expected.version % 2 else b).command(action, name, step, 10)
        expected = next_state(expected, action, name, step, 10)
        assert got == b.lesson() == a.lesson()
        assert (got.name, got.step, got.paused, got.revealed, got.spread, got.run, got.version) == (
            expected.name, expected.step, expected.paused, expected.revealed, expected.spread, expected.run,
            expected.version)
    a.command("goto", None, 10, 10)
    with pytest.raises(ValueError, match="last step"):
        b.command("next", None, None, 10)
    before = a.command("goto", None, 5, 10)

    def next_and_prev(s: RedisStore) -> None:
        for i in range(20):
            s.command("next" if i % 2 == 0 else "prev", None, None, 10)

    with ThreadPoolExecutor(2) as pool:  # WATCH/MULTI: every command of both applied, one after the other (each
        # thread's steps sum to 0 or +1, so the room stays within 2 of step 5 whatever the interleaving)
        list(pool.map(next_and_prev, (a, b)))
    after = b.lesson()
    assert after.version == before.version + 40 and after.step == before.step
    assert a.command("end", None, None, 0).name is None and b.lesson().name is None


def test_nothing_a_client_sends_becomes_a_key_or_field_unchecked(redis_server: RedisServer) -> None:
    s = store(redis_server)
    before = redis_server.command("DBSIZE")
    for bad in ("", "x" * 201, "a b", "browser*", "\u00e9t\u00e9-browser", "../../etc", "a\r\nFLUSHALL"):
        with pytest.raises(ValueError):
            s.acquire("vm:1:aaa", 1, bad)
        with pytest.raises(ValueError):
            s.answer(1, 0, bad, "A")
    for run, step in ((-1, 0), (1, -1), (True, 0), (1, "0")):
        with pytest.raises(ValueError):
            s.answer(run, step, "browser-0001", "A")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        s.release("ticket with spaces")
    with pytest.raises(ValueError):
        s.keep("public_url}:*", "x")
    assert redis_server.command("DBSIZE") == before  # nothing written


def test_a_password_and_what_the_server_says_at_start_about_redis(tmp_path: Path) -> None:
    with RedisServer(password="s3cret-pass", base=tmp_path) as server:
        s = RedisStore(server.url, "vm:8001", 3)
        assert s.acquire("vm:1:aaa", 1, "browser-0001") and s.count() == 1
        wrong = server.url.replace("s3cret-pass", "Wr0ngPa55")
        with pytest.raises(redis.AuthenticationError):
            RedisStore(wrong, "vm:8001", 3).count()
        why = wait_for_redis(wrong, 1.0)
        assert why is not None and why[1] is True and "password" in why[0]
        assert wait_for_redis(server.url, 1.0) is None
        # the server refuses to start with a wrong password: one line, exit 2, the password never shown
        out = subprocess.run([sys.executable, "-m", "app", "serve", "--port", "1"], cwd=REPO, capture_output=True,
                             text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "REDIS_URL": wrong,
                                                          "XDG_STATE_HOME": str(tmp_path)})
        assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
        assert "refused the password" in out.stderr and "Wr0ngPa55" not in out.stderr
    bad = subprocess.run([sys.executable, "-m", "app", "serve"], cwd=REPO, capture_output=True, text=True,
                         timeout=120, env={"PATH": "/usr/bin:/bin", "REDIS_URL": "redis://:hunter2@/0"})
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "REDIS_URL must be" in bad.stderr
    assert "hunter2" not in bad.stderr
    assert Settings(redis_url="rediss://:pw@redis.example:6380/1").redis_url.startswith("rediss://")


def test_the_server_s_handle_fails_fast_while_redis_is_away_and_answers_again_once_it_is_back(
        redis_server: RedisServer) -> None:
    handle = Store(RedisStore(redis_server.url, "vm:8001", 3), "vm:8001", 3, backoff=(0.2, 1.0))

    async def go() -> None:
        assert await handle.call("count") == 0 and handle.ok
        redis_server.kill()
        with pytest.raises(StoreDown):
            await handle.call("lesson")
        assert handle.ok is False and handle.since is not None and handle.since <= time.time()
        t0 = time.monotonic()
        for _ in range(200):  # while it waits to try again, calls fail at once, never touching the network
            with pytest.raises(StoreDown):
                await handle.call("lesson")
        assert handle.wait >= 0.2  # and the wait between tries grows
        print(f"200 calls while away: {time.monotonic() - t0:.3f} s")
        redis_server.start()

        async def back() -> bool:
            try:
                await handle.call("count")
            except StoreDown:
                return False
            return handle.ok and handle.since is None

        await await_for(back, 20, "the handle answering again")
        await handle.close()

    asyncio.run(go())


def test_rediss_with_a_password_talks_tls(tmp_path: Path) -> None:
    with RedisServer(password="tls-pass", base=tmp_path, tls=True) as server:
        assert server.url.startswith("rediss://:tls-pass@127.0.0.1:")
        Settings(redis_url=server.url)  # the setting's check takes it, query and all
        s = RedisStore(server.url, "vm:8001", 3)
        assert s.acquire("vm:1:aaa", 1, "browser-0001") and s.count() == 1
        assert wait_for_redis(server.url, 1.0) is None
        plain = f"redis://:tls-pass@127.0.0.1:{server.port}/0"  # the same port without TLS: no answer
        assert wait_for_redis(plain, 0.5) is not None


@pytest.mark.parametrize("url", ["http://redis:6379/0", "redis://", "redis://:secret-pw@/0", "redis://redis:port/0",
                                 "redis://redis:6379/db", "redis://red is:6379/0", "redis://redis:6379/0#frag"])
def test_a_bad_redis_url_is_one_sentence_that_never_shows_the_password(url: str) -> None:
    with pytest.raises(ValueError) as refused:
        Settings(redis_url=url)
    said = str(refused.value)
    assert said.startswith("REDIS_URL") and "\n" not in said and "secret-pw" not in said
