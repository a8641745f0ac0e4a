"""Where stations are and whose they are, from telemetry's registry, kept in memory.

The token-clone rule needs station locations and alerts need the tenant of stations whose refused
connections carry none. The whole registry is listed every `refresh_seconds`; a station first seen in
between is fetched before its batch is processed (`prefetch`), with a short negative cache so a flood
of unknown ids costs one lookup per id per minute. Telemetry being down never stops detection: the
lookups answer "unknown" and the rules that need a location skip the pair.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import grpc

from chargewatch.v1 import common_pb2, telemetry_pb2, telemetry_pb2_grpc

log = logging.getLogger(__name__)

SERVICE_PRINCIPAL: Final = common_pb2.Principal(subject="security-monitor", roles=["security-analyst"])
NEGATIVE_SECONDS: Final = 60.0
PAGE: Final = 500
MAX_PREFETCH: Final = 50


@dataclass(frozen=True, slots=True)
class StationInfo:
    tenant_id: str
    site_id: str
    location: tuple[float, float] | None


class StationDirectory:
    def __init__(
        self,
        stub: telemetry_pb2_grpc.TelemetryAsyncStub | None,
        *,
        refresh_seconds: float = 600.0,
        deadline_seconds: float = 2.0,
    ) -> None:
        self.stub = stub
        self.refresh_seconds = refresh_seconds
        self.deadline = deadline_seconds
        self.stations: dict[str, StationInfo] = {}
        self._missing: dict[str, float] = {}
        self._stop = asyncio.Event()

    # -- lookups (hot path) -----------------------------------------------------------------------------
    def location(self, station_id: str) -> tuple[float, float] | None:
        info = self.stations.get(station_id)
        return info.location if info is not None else None

    def tenant(self, station_id: str) -> str:
        info = self.stations.get(station_id)
        return info.tenant_id if info is not None else ""

    def put(self, station_id: str, info: StationInfo) -> None:
        self.stations[station_id] = info
        self._missing.pop(station_id, None)

    # -- filling ----------------------------------------------------------------------------------------
    @staticmethod
    def _info(station: telemetry_pb2.Station) -> StationInfo:
        location = None
        if station.HasField("location") and (station.location.latitude or station.location.longitude):
            location = (station.location.latitude, station.location.longitude)
        return StationInfo(station.tenant_id, station.site_id, location)

    async def refresh(self) -> int:
        """List the whole registry; returns how many stations it holds."""
        if self.stub is None:
            return 0
        token = ""
        seen: dict[str, StationInfo] = {}
        while True:
            reply = await self.stub.ListStations(
                telemetry_pb2.ListStationsRequest(
                    principal=SERVICE_PRINCIPAL, page=common_pb2.PageRequest(page_size=PAGE, page_token=token)
                ),
                timeout=self.deadline * 5,
            )
            for station in reply.stations:
                seen[station.station_id] = self._info(station)
            token = reply.page.next_page_token
            if not token or not reply.stations:
                break
        self.stations.update(seen)
        return len(seen)

    async def prefetch(self, station_ids: Iterable[str]) -> None:
        """Fetch stations not known yet (at most a few per batch, concurrently, with a short deadline)."""
        if self.stub is None:
            return
        now = time.monotonic()
        wanted = [
            s
            for s in dict.fromkeys(station_ids)
            if s and s not in self.stations and now - self._missing.get(s, -NEGATIVE_SECONDS) >= NEGATIVE_SECONDS
        ][:MAX_PREFETCH]
        if not wanted:
            return
        await asyncio.gather(*(self._fetch(s, now) for s in wanted))

    async def _fetch(self, station_id: str, now: float) -> None:
        assert self.stub is not None
        try:
            station = await self.stub.GetStation(
                telemetry_pb2.GetStationRequest(principal=SERVICE_PRINCIPAL, station_id=station_id),
                timeout=self.deadline,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                log.debug("station lookup failed", extra={"station_id": station_id, "code": exc.code().name})
            self._missing[station_id] = now
            if len(self._missing) > 100_000:
                self._missing.clear()
            return
        self.put(station_id, self._info(station))

    async def run(self) -> None:
        """Refresh periodically until `stop` (failures are logged; the last listing stays in use)."""
        self._stop.clear()
        while not self._stop.is_set():
            try:
                count = await self.refresh()
                log.debug("station directory refreshed", extra={"stations": count})
            except grpc.aio.AioRpcError as exc:
                log.warning("could not list stations from telemetry", extra={"code": exc.code().name})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.refresh_seconds)

    def stop(self) -> None:
        self._stop.set()
