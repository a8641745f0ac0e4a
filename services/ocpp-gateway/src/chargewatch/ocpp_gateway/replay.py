"""The recent CALLs of a session, to tell an identical retry from a replayed message id.

OCPP-J requires a CALL's message id to differ from every other CALL's on the connection. A
station that did not get our answer resends the same CALL with the same id: it gets the same
answer again, without the work being done twice. A *different* CALL reusing an id is a
protocol violation or a replay, and is refused. Entries are few (a fixed capacity, oldest
dropped first) and expire after a window, so memory per session stays bounded.
"""

from __future__ import annotations

import enum
from typing import Any

import orjson


def call_fingerprint(action: str, payload: dict[str, Any]) -> int:
    """Identity of a CALL's content: its action and its payload as parsed (whitespace does not matter).

    `hash` is keyed per process (SipHash), so a station cannot craft a colliding payload.
    """
    return hash((action, orjson.dumps(payload)))


class Seen(enum.Enum):
    NEW = "new"  # the id was not used in the window
    RETRY = "retry"  # same id, same CALL, and its answer is at hand
    RETRY_UNCACHED = "retry_uncached"  # same id, same CALL, answer too large to keep: handle again
    CONFLICT = "conflict"  # same id, a different CALL


class RecentCalls:
    __slots__ = ("_calls",)

    def __init__(self) -> None:
        # message id -> (fingerprint, answer frame or None, monotonic time); insertion-ordered.
        self._calls: dict[str, tuple[int, bytes | None, float]] = {}

    def check(self, message_id: str, fingerprint: int, now: float, window: float) -> tuple[Seen, bytes | None]:
        entry = self._calls.get(message_id)
        if entry is None:
            return Seen.NEW, None
        if now - entry[2] > window:
            del self._calls[message_id]
            return Seen.NEW, None
        if entry[0] != fingerprint:
            return Seen.CONFLICT, None
        if entry[1] is None:
            return Seen.RETRY_UNCACHED, None
        return Seen.RETRY, entry[1]

    def remember(
        self, message_id: str, fingerprint: int, answer: bytes | None, now: float, *, capacity: int, max_answer: int
    ) -> None:
        calls = self._calls
        calls.pop(message_id, None)
        calls[message_id] = (fingerprint, answer if answer is not None and len(answer) <= max_answer else None, now)
        while len(calls) > capacity:
            del calls[next(iter(calls))]

    def __len__(self) -> int:
        return len(self._calls)
