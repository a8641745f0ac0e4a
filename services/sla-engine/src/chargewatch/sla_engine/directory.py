"""Which site a station belongs to: asked of the telemetry service's registry, cached.

The station registry (tenant, site, location, connectors) is telemetry's; the SLA engine asks
`Telemetry.GetStation` with a deadline, in the background, and never on the path from an event to
its alert. Until the answer comes a station's ports have no site (they still count for the port,
the station, the tenant and the operator). The tenant comes with every event (its envelope).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Final

import grpc

from chargewatch.v1 import common_pb2, telemetry_pb2, telemetry_pb2_grpc

log = logging.getLogger(__name__)

# How this service identifies itself to telemetry: an operator-wide read-only role (telemetry
# scopes by the Principal it is given; inside the cluster the network policy admits only us).
SERVICE_PRINCIPAL: Final = common_pb2.Principal(subject="service:sla-engine", client_id="sla-engine", roles=["sre"])


@dataclass(slots=True)
class _Known:
    site_id: str
    fetched: float


class SiteDirectory:
    def __init__(
        self,
        stub: telemetry_pb2_grpc.TelemetryAsyncStub | None,
        *,
        ttl_s: float = 300.0,
        deadline_s: float = 2.0,
        retry_s: float = 10.0,
        concurrency: int = 8,
    ) -> None:
        self.stub = stub
        self.ttl_s = ttl_s
        self.deadline_s = deadline_s
        self.retry_s = retry_s
        self.concurrency = concurrency
        self._known: dict[str, _Known] = {}
        self._wanted: set[str] = set()
        self._failed: dict[str, float] = {}
        self._stop = asyncio.Event()
        self.lookups = 0
        self.failures = 0

    def site_of(self, station_id: str) -> str | None:
        """The station's site as last fetched (None until then); asks again once the entry is stale."""
        known = self._known.get(station_id)
        if known is None or time.monotonic() - known.fetched > self.ttl_s:
            self._wanted.add(station_id)
        return known.site_id if known else None

    def put(self, station_id: str, site_id: str) -> None:
        self._known[station_id] = _Known(site_id, time.monotonic())

    async def run(self) -> None:
        while not self._stop.is_set():
            await self.fetch_wanted()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 1.0)

    def stop(self) -> None:
        self._stop.set()

    async def fetch_wanted(self) -> None:
        if self.stub is None or not self._wanted:
            return
        now = time.monotonic()
        due = [s for s in self._wanted if now - self._failed.get(s, -1e9) > self.retry_s]
        self._wanted.difference_update(due)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(station_id: str) -> None:
            async with gate:
                await self._fetch(station_id)

        await asyncio.gather(*(one(s) for s in due))

    async def _fetch(self, station_id: str) -> None:
        assert self.stub is not None
        self.lookups += 1
        try:
            station = await self.stub.GetStation(
                telemetry_pb2.GetStationRequest(principal=SERVICE_PRINCIPAL, station_id=station_id),
                timeout=self.deadline_s,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                self.put(station_id, "")  # not registered (yet): ask again after the ttl
                return
            self.failures += 1
            self._failed[station_id] = time.monotonic()
            self._wanted.add(station_id)
            log.debug("site lookup failed", extra={"station_id": station_id, "code": str(error.code())})
            return
        self._failed.pop(station_id, None)
        self.put(station_id, station.site_id)
