"""The stream handler and the leader's term: events in, detections, alerts and responses out.

Per batch: events already processed are skipped (idempotent by event id), stations the rules need a
location or tenant for are looked up, every event goes through the engine, and the detections are
written as alerts (and the responses policies ask for are planned) before the handler returns, so the
worker acknowledges only entries whose effect is durable. Detections that could not be written stay in
an outbox that is written first on the redelivery; the engine's state is not rolled back because the
redelivered events are recognised and skipped.

A leader's term (`LeaderTerm`) loads the checkpointed profiles and the open alerts, consumes until it
loses the lease or the service stops, checkpoints the profiles every `checkpoint_seconds` and at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from opentelemetry import metrics
from pymongo import ReplaceOne

from chargewatch.mongo import Document
from chargewatch.security_monitor.alerts import AlertBook
from chargewatch.security_monitor.anomaly import SESSION_FEATURES, WINDOW_FEATURES
from chargewatch.security_monitor.directory import StationDirectory
from chargewatch.security_monitor.engine import DetectionEngine
from chargewatch.security_monitor.model import Detection
from chargewatch.security_monitor.profiles import PrincipalProfile, StationProfile
from chargewatch.security_monitor.responses import ResponseEngine
from chargewatch.security_monitor.store import OPEN_STATES, Collections
from chargewatch.streams import Event, StreamFamily

log = logging.getLogger(__name__)

FAMILIES: Final = (
    StreamFamily.CONNECTION,
    StreamFamily.BOOT,
    StreamFamily.STATUS,
    StreamFamily.METER,
    StreamFamily.TRANSACTION,
    StreamFamily.SECURITY,
    StreamFamily.AUTHORIZATION,
    StreamFamily.NOTIFICATION,
    StreamFamily.AUDIT,
)
FLEET_DOCUMENT: Final = "fleet"
_SEEN_GENERATION: Final = 250_000

_meter = metrics.get_meter("chargewatch.security_monitor")
events_processed = _meter.create_counter(
    "chargewatch.security.events", unit="{event}", description="Events the detection engine processed."
)
detections_made = _meter.create_counter(
    "chargewatch.security.detections", unit="{detection}", description="Rule detections, by rule."
)
alerts_raised = _meter.create_counter(
    "chargewatch.security.alerts", unit="{alert}", description="Alerts raised or escalated, by rule and severity."
)
detection_delay = _meter.create_histogram(
    "chargewatch.security.detection.delay",
    unit="s",
    description="From the newest triggering event's receipt to the alert being stored.",
)


def tune_gc() -> None:
    """Fewer, larger young-generation collections for the consumer's process.

    A batch allocates thousands of short-lived objects (entries, envelopes, evidence) while the
    engine holds a profile per station; with the default threshold (700) the collector runs several
    times per batch and walks the profiles each time it reaches an older generation, which cost
    about a third of the CPU per event here. Called by `__main__` and by the benchmark.
    """
    gc.set_threshold(50_000, 20, 20)


class SeenEvents:
    """Event ids processed recently: two generations, so memory stays bounded and recent ids are kept."""

    def __init__(self, generation: int = _SEEN_GENERATION) -> None:
        self.generation = generation
        self.current: set[str] = set()
        self.previous: set[str] = set()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self.current or event_id in self.previous

    def add(self, event_id: str) -> None:
        self.current.add(event_id)
        self.roll()

    def roll(self) -> None:
        """Start a new generation once the current one is full (after a batch of `current.add`s)."""
        if len(self.current) >= self.generation:
            self.previous, self.current = self.current, set()


def _needs_station_info(event: Event) -> bool:
    kind = event.payload_kind
    if kind == "authorization":
        return True
    if kind == "transaction":
        return bool(event.envelope.transaction.id_token)
    if kind == "security":
        return not event.envelope.tenant_id
    return False


class Monitor:
    def __init__(
        self,
        engine: DetectionEngine,
        alerts: AlertBook,
        responses: ResponseEngine | None,
        *,
        directory: StationDirectory | None = None,
        on_alert: Callable[[Document, str], Any] | None = None,
    ) -> None:
        self.engine = engine
        self.alerts = alerts
        self.responses = responses
        self.directory = directory
        self.on_alert = on_alert
        self.seen = SeenEvents()
        self.outbox: list[Detection] = []
        self.processed = 0
        # The stream handler and the certificate scan both write alerts; one at a time.
        self.lock = asyncio.Lock()

    async def __call__(self, events: Sequence[Event]) -> None:
        async with self.lock:
            await self._handle(events)

    async def _handle(self, events: Sequence[Event]) -> None:
        if self.directory is not None:
            wanted = [e.envelope.station_id for e in events if _needs_station_info(e)]
            if wanted:
                await self.directory.prefetch(wanted)
        engine = self.engine
        process = engine.process
        seen = self.seen
        current, previous = seen.current, seen.previous
        count = 0
        try:
            for event in events:
                envelope = event.envelope
                event_id = envelope.event_id
                if event_id in current or event_id in previous:
                    continue
                process(envelope, event.kind)
                # Only once processed: an event that raised is processed again when redelivered.
                current.add(event_id)
                count += 1
        finally:
            seen.roll()
        if engine.out:
            self.outbox.extend(engine.take())
        if self.outbox:
            await self.flush()
        if count:
            self.processed += count
            events_processed.add(count)

    async def flush(self) -> None:
        """Write the outbox as alerts, plan responses; the outbox empties only when all of it is durable."""
        detections = list(self.outbox)
        for detection in detections:
            detections_made.add(1, {"rule": detection.rule})
        changes = await self.alerts.apply(detections)
        self.outbox = []
        now = time.time()
        acted = [c.doc for c in changes if c.change in ("raised", "escalated")]
        for change in changes:
            if change.change == "updated":
                continue
            doc = change.doc
            alerts_raised.add(1, {"rule": doc["rule"], "severity": str(doc["severity"])})
            last = doc.get("last_seen_at")
            if last is not None:
                detection_delay.record(max(now - last.timestamp(), 0.0), {"rule": doc["rule"]})
            if self.on_alert is not None:
                self.on_alert(doc, change.change)
        if acted and self.responses is not None:
            await self.plan_responses(acted)

    async def plan_responses(self, alerts: Sequence[Document]) -> None:
        assert self.responses is not None
        await self.responses.on_alerts(alerts)
        for doc in alerts:
            # An integer field: safe with $set on every store (see alerts.py); the cached copy follows.
            doc["responded"] = doc["severity"]
            await self.alerts.c.alerts.update_one({"_id": doc["_id"]}, {"$set": {"responded": doc["severity"]}})

    async def on_detections(self, detections: list[Detection]) -> None:
        """Detections from outside the streams (the certificate scan)."""
        async with self.lock:
            self.outbox.extend(detections)
            await self.flush()


class Checkpoints:
    """Profiles and the fleet's baselines to MongoDB, and back for the next leader."""

    def __init__(self, collections: Collections) -> None:
        self.c = collections

    async def save(self, engine: DetectionEngine) -> int:
        dirty = engine.dirty_profiles()
        operations = [ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in (p.document() for p in dirty)]
        operations.append(
            ReplaceOne(
                {"_id": FLEET_DOCUMENT},
                {
                    "_id": FLEET_DOCUMENT,
                    "kind": "fleet",
                    "windows": engine.fleet_windows.state(),
                    "sessions": engine.fleet_sessions.state(),
                    "commands": engine.fleet_commands,
                },
                upsert=True,
            )
        )
        await self.c.profiles.bulk_write(operations, ordered=False)
        for profile in dirty:
            profile.dirty = False
        return len(dirty)

    async def load(self, engine: DetectionEngine) -> int:
        alpha = engine.p["anomaly_alpha"]
        count = 0
        async for doc in self.c.profiles.find({}):
            kind = doc.get("kind")
            if kind == "station":
                profile = StationProfile.from_document(doc, alpha)
                engine.stations[profile.station_id] = profile
            elif kind == "principal":
                principal = PrincipalProfile.from_document(doc)
                engine.principals[principal.principal] = principal
            elif kind == "fleet":
                engine.fleet_windows.restore(
                    {k: v for k, v in (doc.get("windows") or {}).items() if k in WINDOW_FEATURES}
                )
                engine.fleet_sessions.restore(
                    {k: v for k, v in (doc.get("sessions") or {}).items() if k in SESSION_FEATURES}
                )
                engine.fleet_commands = int(doc.get("commands") or 0)
            count += 1
        return count


async def replan_unanswered(monitor: Monitor) -> None:
    """Alerts raised (or escalated) by a previous leader whose responses were never planned."""
    if monitor.responses is None:
        return
    pending = [
        doc
        async for doc in monitor.alerts.c.alerts.find({"state": {"$in": list(OPEN_STATES)}})
        if int(doc.get("responded", 0)) < int(doc.get("severity", 0))
    ]
    if pending:
        await monitor.plan_responses(pending)


async def periodic(every_seconds: float, stop: asyncio.Event, body: Callable[[], Any], what: str) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_seconds)
        try:
            await body()
        except Exception:
            log.exception("%s failed", what)
