"""Flow control of one connection's frames (docs/protocol.md, "Flow control"), and the room's byte budget.

A WebSocket send returns once the bytes are in the kernel's buffer, not once they have arrived, so
without the page's word frames would queue there for seconds behind a slow link. The page acknowledges
each frame it receives (`{"type": "ack", "frame": N}`, cumulative); the server keeps at most WINDOW
frames unacknowledged and builds the next one only when the window opens, from the newest state. A
client that never acknowledges still gets a frame every FLOOR_PERIOD seconds.

With ROOM_MBPS set, `Pacer` gives each playing session of the worker an even share of the room's
budget: the worker's part of it (its share of the server's open sessions) split among the sessions
that were sent frames lately, each with a token bucket.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from .store import Store, StoreDown

WINDOW = 2  # frames sent and not yet acknowledged, at most
FLOOR_PERIOD = 1.0  # seconds: a client that does not acknowledge still gets a frame this often
RTT_SAMPLES = 16  # acknowledgement round trips kept per connection
BAD_ACK_EVERY = 1.0  # seconds: at most one error message a second about bad acknowledgements
ACTIVE_FOR = 2.0  # seconds: a session sent a frame this recently counts as active for the budget
log = logging.getLogger(__name__)


class AckError(ValueError):
    """An acknowledgement that names no frame in flight: str() says why, in a user's words."""


class FlowControl:
    """One connection: frames in flight, acknowledgements, their round trips, and the budget's bucket."""

    def __init__(self) -> None:
        self.last_sent = 0  # number of the last frame handed to the socket
        self.last_acked = 0  # the highest frame number acknowledged
        self.sent_at: deque[tuple[int, float, int]] = deque(maxlen=64)  # (frame, time, bytes) not yet acknowledged
        self.last_send_time = -1e9
        self.rtts: deque[float] = deque(maxlen=RTT_SAMPLES)
        self.acked_frames = 0  # frames acknowledged so far (the room's "received")
        self.sent_frames = 0
        self.sent_bytes = 0
        self.bad_acks = 0  # refused acknowledgements since the last error message about them
        self.bad_ack_said = -1e9
        self.tokens = 0.0  # the budget's bucket, in bytes (may go below 0 by one frame)
        self.rate = 0.0  # bytes per second this connection may send (0: no budget)
        self.refilled = 0.0

    @property
    def in_flight(self) -> int:
        return self.last_sent - self.last_acked

    def may_send(self, now: float) -> bool:
        """A frame may be built now: the window has room (or the floor period has passed) and the budget allows."""
        if self.rate > 0:
            self.tokens = min(self.tokens + (now - self.refilled) * self.rate, self.burst())
            self.refilled = now
            if self.tokens < 0:
                return False
        return self.in_flight < WINDOW or now - self.last_send_time >= FLOOR_PERIOD

    def burst(self) -> float:
        """The bucket's depth: two frames' worth (of the last frames sent), at least 8 KB."""
        recent = [size for _, _, size in list(self.sent_at)[-2:]]
        return max(8_192.0, 2.0 * max(recent, default=0))

    def sent(self, frame: int, now: float, size: int) -> None:
        """Frame number `frame` of `size` bytes was handed to the socket at `now`."""
        self.last_sent = frame
        self.last_send_time = now
        self.sent_at.append((frame, now, size))
        self.sent_frames += 1
        self.sent_bytes += size
        if self.rate > 0:
            self.tokens -= size

    def ack(self, frame: int, now: float) -> float | None:
        """The client has every frame up to `frame`. Returns the round trip of that frame (seconds) when
        known; raises AckError for a frame not sent yet or acknowledged already."""
        if frame > self.last_sent:
            raise AckError(f"acknowledgement of frame {frame}, which has not been sent"
                           f" (the last frame sent is {self.last_sent})")
        if frame <= self.last_acked:
            raise AckError(f"acknowledgement of frame {frame}, which was acknowledged already"
                           f" (acknowledge each frame once, in order)")
        self.acked_frames += frame - self.last_acked
        self.last_acked = frame
        rtt = None
        while self.sent_at and self.sent_at[0][0] <= frame:
            number, at, _ = self.sent_at.popleft()
            if number == frame:
                rtt = now - at
        if rtt is not None:
            self.rtts.append(rtt)
        return rtt

    def refused(self, now: float) -> bool:
        """Count a refused acknowledgement; True when an error message about it may go out now."""
        self.bad_acks += 1
        if now - self.bad_ack_said < BAD_ACK_EVERY:
            return False
        self.bad_ack_said = now
        return True

    def active(self, now: float) -> bool:
        return now - self.last_send_time < ACTIVE_FOR


class Pacer:
    """The room's budget (ROOM_MBPS) shared evenly: called once a second with the server's open sessions."""

    def __init__(self, room_mbps: float) -> None:
        self.bytes_per_s = room_mbps * 1e6 / 8.0

    def share(self, flows: list[FlowControl], open_sessions: int, now: float) -> float:
        """Set each active flow's rate to an even share of this worker's part of the budget; returns it."""
        if self.bytes_per_s <= 0 or not flows:
            return 0.0
        worker = self.bytes_per_s * len(flows) / max(open_sessions, len(flows))
        active = [f for f in flows if f.active(now)] or flows
        each = worker / len(active)
        for f in flows:
            if f.rate == 0:
                f.refilled = now
            f.rate = each
        return each


async def pace_every_second(connections: set[Any], store: Store, room_mbps: float) -> None:
    """The worker's pacer (started by the app's lifespan when ROOM_MBPS is set): once a second, each connection's
    share of the room's budget, from the server's open sessions (the room store's count)."""
    pacer = Pacer(room_mbps)
    while True:
        try:
            try:
                open_sessions = int(await store.call("count"))
            except StoreDown:
                open_sessions = len(connections)
            pacer.share([c.flow for c in list(connections)], open_sessions, time.monotonic())
        except Exception:  # a bug here must not take the sessions down: say so, keep pacing
            log.exception("sharing the room's budget failed")
        await asyncio.sleep(1.0)
