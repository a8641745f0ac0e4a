"""The stream side of the service: partition leases, one consumer and processor per owned partition,
and their periodic work (flushes, silence checks, site lookups).

Replicas share the partitions through leases (see leases.py); every replica serves the gRPC API
from the store whatever it owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from chargewatch.sla_engine.directory import SiteDirectory
from chargewatch.sla_engine.journal import Journal
from chargewatch.sla_engine.leases import Lease, PartitionLeases
from chargewatch.sla_engine.processor import FAMILIES, PartitionProcessor, ProcessorSettings
from chargewatch.sla_engine.profiles import ProfileCache
from chargewatch.sla_engine.store import FencedOut, SlaStore
from chargewatch.streams import ConsumerGroupWorker, EventPublisher

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    consumer_group: str = "sla-engine"
    partitions: int = 1
    instance: str = "sla-engine"
    lease_ttl_ms: int = 15_000
    batch_size: int = 500
    block_ms: int = 100
    claim_idle_ms: int = 30_000
    max_deliveries: int = 5
    flush_interval_s: float = 1.0
    silence_check_s: float = 5.0
    profile_reload_s: float = 30.0


@dataclass
class _Owned:
    lease: Lease
    processor: PartitionProcessor
    worker: ConsumerGroupWorker
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class Engine:
    def __init__(
        self,
        redis: aioredis.Redis,
        store: SlaStore,
        publisher: EventPublisher | None,
        profiles: ProfileCache,
        directory: SiteDirectory,
        processor_settings: ProcessorSettings,
        settings: EngineSettings,
        *,
        on_partition_sweep: Callable[[Engine], Awaitable[None]] | None = None,
    ) -> None:
        self.redis = redis
        self.store = store
        self.publisher = publisher
        self.profiles = profiles
        self.directory = directory
        self.processor_settings = processor_settings
        self.settings = settings
        self.leases = PartitionLeases(
            redis, partitions=settings.partitions, instance=settings.instance, ttl_ms=settings.lease_ttl_ms
        )
        self.owned: dict[int, _Owned] = {}
        self._stop = asyncio.Event()
        self._on_sweep = on_partition_sweep
        self._background: set[asyncio.Task[None]] = set()
        self.started = asyncio.Event()

    # -- lifecycle ------------------------------------------------------------------------------
    async def run(self) -> None:
        await self.reload_profiles()
        reload_task = asyncio.create_task(self._every(self.settings.profile_reload_s, self.reload_profiles))
        try:
            while not self._stop.is_set():
                try:
                    await self._balance()
                except Exception:
                    log.exception("partition balancing failed; retrying")
                self.started.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.settings.lease_ttl_ms / 3000)
        finally:
            reload_task.cancel()
            await asyncio.gather(reload_task, return_exceptions=True)
            for partition in list(self.owned):
                await self._give_back(partition)
            with contextlib.suppress(Exception):
                await self.leases.leave()

    def stop(self) -> None:
        self._stop.set()

    @property
    def processors(self) -> list[PartitionProcessor]:
        return [o.processor for o in self.owned.values()]

    async def reload_profiles(self) -> None:
        self.profiles.replace(await self.store.all_profiles())

    # -- leases ---------------------------------------------------------------------------------
    async def _balance(self) -> None:
        members = await self.leases.heartbeat()
        for partition, owned in list(self.owned.items()):
            if not await self.leases.renew(owned.lease):
                log.warning("lost the lease of a partition", extra={"partition": partition})
                await self._drop(partition)
        share = self.leases.fair_share(members)
        while len(self.owned) > share:
            await self._give_back(max(self.owned))
        for partition in self.leases.preferred_order():
            if len(self.owned) >= share or self._stop.is_set():
                break
            if partition in self.owned:
                continue
            lease = await self.leases.acquire(partition)
            if lease is not None:
                try:
                    await self._take(lease)
                except Exception:
                    log.exception("could not start a partition", extra={"partition": partition})
                    await self.leases.release(lease)

    async def _take(self, lease: Lease) -> None:
        processor = PartitionProcessor(
            lease.partition,
            lease.gen,
            self.store,
            self.publisher,
            self.profiles,
            self.processor_settings,
            journal=Journal(self.redis, lease.partition),
            site_of=self.directory.site_of,
        )
        await processor.load()
        # The loaded state is long-lived and acyclic: keep it out of the cyclic collector's full
        # passes, which otherwise pause the consumer for as long as they take to walk it.
        gc.freeze()
        worker = ConsumerGroupWorker(
            self.redis,
            group=self.settings.consumer_group,
            consumer=f"{self.settings.instance}:p{lease.partition}",
            families=FAMILIES,
            handler=processor.handle,
            partitions=[lease.partition],
            batch_size=self.settings.batch_size,
            block_ms=self.settings.block_ms,
            claim_idle_ms=self.settings.claim_idle_ms,
            max_deliveries=self.settings.max_deliveries,
        )
        owned = _Owned(lease, processor, worker)
        self.owned[lease.partition] = owned
        owned.tasks = [
            asyncio.create_task(self._consume(owned), name=f"sla-consume-{lease.partition}"),
            asyncio.create_task(self._flush_loop(owned), name=f"sla-flush-{lease.partition}"),
            asyncio.create_task(
                self._every(self.settings.silence_check_s, lambda: self._silence(owned)),
                name=f"sla-silence-{lease.partition}",
            ),
        ]
        log.info("partition taken", extra={"partition": lease.partition, "gen": lease.gen})

    async def _consume(self, owned: _Owned) -> None:
        try:
            await owned.worker.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            if self._stop.is_set():
                return
            log.exception(
                "partition consumer crashed; giving the partition back", extra={"partition": owned.lease.partition}
            )
            self._later(self._drop(owned.lease.partition))

    async def _give_back(self, partition: int) -> None:
        """Stop consuming, write everything, then release the lease (a clean hand-over)."""
        owned = self.owned.get(partition)
        if owned is None:
            return
        owned.worker.stop()
        consume = owned.tasks[0]
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(consume), 10.0)
        for task in owned.tasks:
            task.cancel()
        await asyncio.gather(*owned.tasks, return_exceptions=True)
        try:
            await owned.processor.flush()
        except Exception:
            log.exception("final flush failed; the next owner replays the journal", extra={"partition": partition})
        await self.leases.release(owned.lease)
        self.owned.pop(partition, None)
        log.info("partition given back", extra={"partition": partition})

    async def _drop(self, partition: int) -> None:
        """The lease is gone: stop at once and write nothing more (the new owner replays)."""
        owned = self.owned.pop(partition, None)
        if owned is None:
            return
        owned.worker.stop()
        for task in owned.tasks:
            task.cancel()
        await asyncio.gather(*owned.tasks, return_exceptions=True)

    # -- periodic work --------------------------------------------------------------------------
    async def _every(self, seconds: float, action: Callable[[], Awaitable[None]]) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), seconds)
            if self._stop.is_set():
                return
            try:
                await action()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic task failed", extra={"task": getattr(action, "__name__", "")})

    async def _flush_loop(self, owned: _Owned) -> None:
        """Flush every interval; under load, wait at least as long as the last flush took, so writing
        never takes more than half the time and changes to a station coalesce into one write."""
        pause = self.settings.flush_interval_s
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), pause)
            if self._stop.is_set():
                return
            started = asyncio.get_running_loop().time()
            try:
                await self._flush(owned)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("flush failed; retrying", extra={"partition": owned.lease.partition})
            pause = max(self.settings.flush_interval_s, asyncio.get_running_loop().time() - started)

    async def _flush(self, owned: _Owned) -> None:
        try:
            await owned.processor.flush()
        except FencedOut:
            log.warning("fenced out by a newer owner", extra={"partition": owned.lease.partition})
            self._later(self._drop(owned.lease.partition))

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` outside the task that asks for it (a task cannot cancel and await itself)."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _silence(self, owned: _Owned) -> None:
        processor = owned.processor
        processor.caught_up = await owned.worker.lag() == 0 and await owned.worker.pending_count() == 0
        processor.refresh_sites()
        alerts = processor.check_silence()
        if alerts and self.publisher is not None:
            await self.publisher.publish_many(alerts)
            processor.alerts_published += len(alerts)
        # Every replica checks the budgets of the ports it holds in memory (the sweeper runs at most
        # once per interval, whichever partition asks first); overdue incidents, read from the store,
        # are the owner of partition 0's alone.
        if self._on_sweep is not None:
            await self._on_sweep(self)
