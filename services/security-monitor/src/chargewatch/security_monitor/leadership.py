"""The active monitor's term: lease, engine, stream consumer, responses, directory, certificates, checkpoints.

Every replica runs `LeaderRole.run`; the one holding the lease runs a term, the others retry every
third of the lease period. A term ends when the lease cannot be renewed (another replica took over
after a pause of ours), when a part of it crashes, or when the service stops; its end checkpoints the
profiles and releases the lease so a standby takes over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable
from typing import Final

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from chargewatch.security_monitor.alerts import AlertBook
from chargewatch.security_monitor.catalogue import Parameters
from chargewatch.security_monitor.certificates import CertificateInventory
from chargewatch.security_monitor.directory import StationDirectory
from chargewatch.security_monitor.engine import DetectionEngine, MaintenanceWindows
from chargewatch.security_monitor.leader import LeaderLease
from chargewatch.security_monitor.monitor import FAMILIES, Checkpoints, Monitor, periodic, replan_unanswered
from chargewatch.security_monitor.responses import ResponseEngine
from chargewatch.streams import ConsumerGroupWorker

log = logging.getLogger(__name__)

# The consumer name every leader uses, so a new leader resumes its predecessor's pending entries.
LEADER_CONSUMER: Final = "leader"


class LeaderRole:
    def __init__(
        self,
        *,
        redis: aioredis.Redis,
        lease: LeaderLease,
        alerts: AlertBook,
        responses: ResponseEngine,
        directory: StationDirectory,
        inventory: Callable[[DetectionEngine], CertificateInventory],
        parameters: Parameters,
        disabled_rules: frozenset[str],
        maintenance: MaintenanceWindows,
        consumer_group: str,
        partitions: int,
        batch_size: int,
        claim_idle_ms: int,
        max_deliveries: int,
        checkpoint_seconds: float,
        block_ms: int = 1000,
    ) -> None:
        self.redis = redis
        self.lease = lease
        self.alerts = alerts
        self.responses = responses
        self.directory = directory
        self.inventory = inventory
        self.parameters = parameters
        self.disabled_rules = disabled_rules
        self.maintenance = maintenance
        self.consumer_group = consumer_group
        self.partitions = partitions
        self.batch_size = batch_size
        self.claim_idle_ms = claim_idle_ms
        self.max_deliveries = max_deliveries
        self.checkpoint_seconds = checkpoint_seconds
        self.block_ms = block_ms
        self.checkpoints = Checkpoints(alerts.c)
        self.monitor: Monitor | None = None
        self.terms = 0
        self._stop = asyncio.Event()
        self._term_stop = asyncio.Event()

    def engine(self) -> DetectionEngine | None:
        return self.monitor.engine if self.monitor is not None else None

    @property
    def leading(self) -> bool:
        return self.monitor is not None

    def stop(self) -> None:
        self._stop.set()
        self._term_stop.set()

    async def run(self) -> None:
        retry = self.lease.ttl_ms / 3000.0
        while not self._stop.is_set():
            try:
                if await self.lease.acquire():
                    await self._term()
            except RedisError as exc:
                log.warning("leader lease unavailable", extra={"error": str(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), retry)

    def new_engine(self) -> DetectionEngine:
        return DetectionEngine(
            self.parameters,
            disabled=self.disabled_rules,
            maintenance=self.maintenance,
            locations=self.directory.location,
            tenants=self.directory.tenant,
        )

    async def _term(self) -> None:
        self.terms += 1
        self._term_stop = asyncio.Event()
        if self._stop.is_set():
            self._term_stop.set()
        engine = self.new_engine()
        loaded = await self.checkpoints.load(engine)
        await self.alerts.load_open()
        # The loaded profiles and alerts are long-lived: keep them out of the collector's passes.
        gc.freeze()
        monitor = Monitor(engine, self.alerts, self.responses, directory=self.directory)
        log.info("leading the security monitor", extra={"profiles": loaded, "open_alerts": len(self.alerts.open)})
        await replan_unanswered(monitor)
        await self.responses.resume_pending()
        consumer = ConsumerGroupWorker(
            self.redis,
            group=self.consumer_group,
            consumer=LEADER_CONSUMER,
            families=FAMILIES,
            handler=monitor,
            partitions=self.partitions,
            batch_size=self.batch_size,
            block_ms=self.block_ms,
            claim_idle_ms=self.claim_idle_ms,
            max_deliveries=self.max_deliveries,
        )
        inventory = self.inventory(engine)
        self.monitor = monitor

        async def checkpoint() -> None:
            await self.checkpoints.save(engine)

        tasks = {
            asyncio.create_task(consumer.run(), name="stream-consumer"),
            asyncio.create_task(self.responses.run(), name="responses"),
            asyncio.create_task(self.directory.run(), name="station-directory"),
            asyncio.create_task(inventory.run(monitor.on_detections), name="certificates"),
            asyncio.create_task(periodic(self.checkpoint_seconds, self._term_stop, checkpoint, "checkpoint")),
            asyncio.create_task(self._keep_lease(), name="lease"),
        }
        try:
            ended = asyncio.create_task(self._term_stop.wait())
            done, _ = await asyncio.wait({*tasks, ended}, return_when=asyncio.FIRST_COMPLETED)
            for task in done - {ended}:
                if not task.cancelled() and task.exception() is not None:
                    log.error("a part of the leader's term failed", exc_info=task.exception())
            ended.cancel()
        finally:
            self._term_stop.set()
            consumer.stop()
            self.responses.stop()
            self.directory.stop()
            inventory.stop()
            _, pending = await asyncio.wait(tasks, timeout=15.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:
                await self.checkpoints.save(engine)
            except Exception:
                log.exception("final checkpoint failed")
            self.monitor = None
            with contextlib.suppress(RedisError):
                await self.lease.release()
            log.info("no longer leading the security monitor")

    async def _keep_lease(self) -> None:
        """Renew every third of the lease; end the term when the lease is lost (or Redis away too long)."""
        interval = self.lease.ttl_ms / 3000.0
        failures = 0
        while not self._term_stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._term_stop.wait(), interval)
            if self._term_stop.is_set():
                return
            try:
                if not await self.lease.renew():
                    log.warning("leader lease lost")
                    self._term_stop.set()
                    return
                failures = 0
            except RedisError:
                failures += 1
                if failures >= 2:  # the lease has (nearly) expired: someone else may lead now
                    self._term_stop.set()
                    return
