"""Helpers shared by the stream integration tests: payloads, a recording handler, a running worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import redis.asyncio as aioredis

from chargewatch.streams import ConsumerGroupWorker, Event, EventPublisher, Handler, StreamFamily
from chargewatch.v1 import common_pb2, events_pb2

FAST: dict[str, Any] = {"block_ms": 100, "claim_idle_ms": 100, "claim_interval_s": 0.05}


def status(connector: int = 1) -> events_pb2.ConnectorStatusChange:
    return events_pb2.ConnectorStatusChange(
        evse_id=1, connector_id=connector, status=common_pb2.CONNECTOR_STATUS_AVAILABLE, error_code="NoError"
    )


def status_envelopes(publisher: EventPublisher, count: int, station: str = "CP-1") -> list[events_pb2.EventEnvelope]:
    return [publisher.envelope(station, status(i + 1), event_id=f"{station}-{i:04d}") for i in range(count)]


class Recorder:
    """A handler that counts each event's completed effect once per successful call.

    A call that raises leaves no effect, like a handler whose writes are one transaction; `poison`
    event ids make it raise, `gate` (when set) makes the first call wait for it.
    """

    def __init__(self, poison: Sequence[str] = (), delay_s: float = 0.0) -> None:
        self.done: Counter[str] = Counter()
        self.calls: list[list[str]] = []
        self.deliveries: dict[str, list[int]] = {}
        self.poison = set(poison)
        self.delay_s = delay_s
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def __call__(self, events: Sequence[Event]) -> None:
        ids = [e.envelope.event_id for e in events]
        self.calls.append(ids)
        for event in events:
            self.deliveries.setdefault(event.envelope.event_id, []).append(event.delivery_count)
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        bad = self.poison.intersection(ids)
        if bad:
            raise ValueError(f"poison {sorted(bad)[0]}")
        self.done.update(ids)


def worker(
    redis: aioredis.Redis,
    handler: Handler,
    *,
    consumer: str = "c1",
    group: str = "g",
    families: Sequence[StreamFamily] = (StreamFamily.STATUS,),
    **options: Any,
) -> ConsumerGroupWorker:
    settings = {**FAST, **options}
    return ConsumerGroupWorker(redis, group=group, consumer=consumer, families=families, handler=handler, **settings)


@contextlib.asynccontextmanager
async def running(*workers: ConsumerGroupWorker) -> AsyncIterator[list[asyncio.Task[None]]]:
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        yield tasks
    finally:
        for w in workers:
            w.stop()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]


async def wait_until(predicate: Callable[[], Any], within_s: float = 5.0, what: str = "condition") -> None:
    """Poll a sync or async predicate until it is true."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def pending(redis: aioredis.Redis, stream: str, group: str = "g") -> int:
    return int((await redis.xpending(stream, group))["pending"])


def drained(redis: aioredis.Redis, stream: str, group: str = "g") -> Callable[[], Awaitable[bool]]:
    """A `wait_until` predicate: nothing pending in the group."""

    async def check() -> bool:
        return await pending(redis, stream, group) == 0

    return check
