"""Webhooks: subscriptions (MongoDB), signed deliveries with retries and back-off (Redis queue).

Flow, and why each step is where it is:

* `WebhookFanout` is the handler of the API's consumer group on the event streams. For each event
  it finds the subscriptions of the event's tenant (and operator-wide ones) and enqueues one job
  per subscription, then returns, so the entry is acknowledged only once its jobs are durable in
  Redis. A job's id is `<subscription>:<event id>` and enqueueing is idempotent (a job already
  queued, or delivered within a day, is not queued again), so a redelivered entry sends nothing twice.
* `DeliveryWorker` (in every replica) claims due jobs with a lease, so a replica dying mid-delivery
  leaves the job to be claimed again when the lease runs out, and posts them. A 2xx answer completes
  a job; anything else schedules the next attempt with exponential back-off and jitter, until
  `max_attempts`, when it is dropped and the failure recorded on the subscription.
* Every delivery is signed as Standard Webhooks prescribes: `webhook-id` (the event id, the same on
  every retry, for the receiver's de-duplication), `webhook-timestamp` (unix seconds, refused by the
  receiver when too old: no replay) and `webhook-signature: v1,<base64 HMAC-SHA256 of
  "<id>.<timestamp>.<body>">` with the subscription's secret.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import random
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import orjson
import redis.asyncio as aioredis
from pymongo.asynchronous.database import AsyncDatabase
from redis.exceptions import RedisError

from chargewatch.mongo import Document, IndexSpec
from chargewatch.partner_api.events import PublicEvent, render_envelope
from chargewatch.streams import Event

log = logging.getLogger(__name__)

COLLECTION: Final = "webhooks"
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the secrets' prefix, not a secret
SIGNATURE_TOLERANCE_SECONDS: Final = 300
_DONE_TTL_SECONDS: Final = 86_400


def indexes() -> list[IndexSpec]:
    # Not ("tenant_id", "_id"): nx-27017 fails inserts into a collection with an index naming _id.
    return [IndexSpec(COLLECTION, [("tenant_id", 1)], name="tenant")]


# -- signatures ---------------------------------------------------------------------------------
def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def signature_headers(secret: str, message_id: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
        "content-type": "application/json",
        "user-agent": "ChargeWatch-Webhooks/1",
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent (no replay)."""
    try:
        message_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
        offered = headers["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


class InvalidTarget(ValueError):
    """The webhook URL may not be delivered to."""


HTTPS_PORT: Final = 443
# The ports the Helm chart's NetworkPolicy opens to public addresses (networkPolicy.publicEgress.ports).
DEFAULT_WEBHOOK_PORTS: Final = frozenset({HTTPS_PORT})


def check_target(
    url: str,
    *,
    allow_insecure: bool,
    allowed_hosts: frozenset[str] = frozenset(),
    allowed_ports: frozenset[int] = DEFAULT_WEBHOOK_PORTS,
) -> str:
    """The URL, if deliveries may go there: https to a public host on one of `allowed_ports` (443, the
    https default, unless configured otherwise), and one of `allowed_hosts` when that list is set.
    `allow_insecure` (development and tests) also admits http, loopback and private hosts, on any port."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidTarget("url must be an absolute https:// URL")
    try:
        port = parts.port
    except ValueError as exc:  # not a number, or out of range
        raise InvalidTarget("url has an invalid port") from exc
    if allowed_hosts and parts.hostname.lower() not in allowed_hosts:
        raise InvalidTarget(f"url must name one of the allowed hosts: {', '.join(sorted(allowed_hosts))}")
    if parts.username or parts.password:
        raise InvalidTarget("url must not carry credentials; authenticate deliveries by their signature")
    if parts.fragment:
        raise InvalidTarget("url must not have a fragment")
    if allow_insecure:
        return url
    if parts.scheme != "https":
        raise InvalidTarget("url must use https")
    # Deliveries leave the cluster only to the ports the NetworkPolicy opens: a URL on another port would
    # be accepted and then never delivered, so it is refused here instead.
    port = HTTPS_PORT if port is None else port
    if port not in allowed_ports:
        ports = ", ".join(str(p) for p in sorted(allowed_ports))
        which = f"port {ports}" if len(allowed_ports) == 1 else f"one of the ports {ports}"
        raise InvalidTarget(
            f"url must use {which} (an https URL without a port uses 443): deliveries cannot reach port {port}"
        )
    host = parts.hostname.lower()
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".internal"):
        raise InvalidTarget("url must name a public host")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return url  # a host name (InvalidTarget is a ValueError too: checked outside this try)
    if not address.is_global:
        raise InvalidTarget("url must name a public host, not a private or loopback address")
    return url


# -- subscriptions --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    url: str
    events: frozenset[str]
    tenant_id: str | None
    secret: str

    def admits(self, event: PublicEvent) -> bool:
        return event.type in self.events and (self.tenant_id is None or self.tenant_id == event.tenant_id)


def _subscription(document: Document) -> Subscription:
    return Subscription(
        id=document["_id"],
        url=document["url"],
        events=frozenset(document.get("events", [])),
        tenant_id=document.get("tenant_id"),
        secret=document["secret"],
    )


class WebhookStore:
    def __init__(self, db: AsyncDatabase[Document], *, refresh_seconds: float = 5.0) -> None:
        self._collection = db[COLLECTION]
        self.refresh_seconds = refresh_seconds
        self._cached: dict[str, Subscription] = {}
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def create(
        self, *, url: str, events: Sequence[str], tenant_id: str | None, description: str | None, owner: str
    ) -> Document:
        document: Document = {
            "_id": "wh_" + secrets.token_hex(10),
            "url": url,
            "events": sorted(set(events)),
            "tenant_id": tenant_id,
            "description": description,
            "owner": owner,
            "secret": new_secret(),
            "created_at": datetime.now(UTC),
        }
        await self._collection.insert_one(document)
        self._loaded_at = float("-inf")  # the next event sees it
        return document

    async def get(self, webhook_id: str, scope: str | None) -> Document | None:
        document = await self._collection.find_one({"_id": webhook_id})
        if document is None or (scope is not None and document.get("tenant_id") != scope):
            return None  # another tenant's webhook is answered like a missing one
        return document

    async def page(self, scope: str | None, after: str | None, limit: int) -> tuple[list[Document], int]:
        query: Document = {} if scope is None else {"tenant_id": scope}
        total = await self._collection.count_documents(query)
        if after:
            query = {**query, "_id": {"$gt": after}}
        cursor = self._collection.find(query).sort("_id", 1).limit(limit + 1)
        return [d async for d in cursor], total

    async def delete(self, webhook_id: str, scope: str | None) -> bool:
        document = await self.get(webhook_id, scope)
        if document is None:
            return False
        await self._collection.delete_one({"_id": webhook_id})
        self._cached.pop(webhook_id, None)
        return True

    async def record_attempt(self, webhook_id: str, status: int, error: str | None) -> None:
        await self._collection.update_one(
            {"_id": webhook_id},
            {"$set": {"last_attempt_at": datetime.now(UTC), "last_status": status, "last_error": error}},
        )

    async def subscriptions(self) -> dict[str, Subscription]:
        """Every subscription, from a copy refreshed every few seconds (one query, not one per event)."""
        async with self._lock:
            if time.monotonic() - self._loaded_at >= self.refresh_seconds:
                self._cached = {d["_id"]: _subscription(d) async for d in self._collection.find({})}
                self._loaded_at = time.monotonic()
            return self._cached

    async def subscription(self, webhook_id: str) -> Subscription | None:
        document = await self._collection.find_one({"_id": webhook_id})
        return _subscription(document) if document is not None else None


# -- the delivery queue ---------------------------------------------------------------------------
_ENQUEUE = """
local queued = 0
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('EXISTS', KEYS[3] .. id) == 0 and redis.call('HSETNX', KEYS[2], id, ARGV[i + 1]) == 1 then
    redis.call('ZADD', KEYS[1], 'NX', ARGV[1], id)
    queued = queued + 1
  end
end
return queued
"""
# Due jobs get a lease: claimed again by anyone after `lease` ms unless completed or rescheduled.
_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
end
return out
"""


@dataclass(slots=True)
class Job:
    id: str
    subscription_id: str
    event_id: str
    body: bytes
    attempts: int = 0

    def encode(self) -> bytes:
        return orjson.dumps(
            {"sub": self.subscription_id, "event_id": self.event_id, "body": self.body.decode(), "n": self.attempts}
        )

    @classmethod
    def decode(cls, job_id: str, raw: bytes) -> Job:
        data = orjson.loads(raw)
        return cls(job_id, data["sub"], data["event_id"], data["body"].encode(), int(data["n"]))


def job_for(subscription_id: str, event: PublicEvent) -> Job:
    return Job(f"{subscription_id}:{event.event_id}", subscription_id, event.event_id, event.body)


class DeliveryQueue:
    def __init__(self, redis: aioredis.Redis, *, prefix: str = "cw:webhooks:") -> None:
        self._redis = redis
        self.due_key = prefix + "due"
        self.jobs_key = prefix + "jobs"
        self.done_prefix = prefix + "done:"
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)
        self.wake = asyncio.Event()

    async def enqueue(self, jobs: Sequence[Job]) -> int:
        if not jobs:
            return 0
        args: list[Any] = [int(time.time() * 1000)]
        for job in jobs:
            args += [job.id, job.encode()]
        queued = int(await self._enqueue(keys=[self.due_key, self.jobs_key, self.done_prefix], args=args))
        if queued:
            self.wake.set()
        return queued

    async def claim(self, *, lease_ms: int, count: int) -> list[Job]:
        now_ms = int(time.time() * 1000)
        reply = await self._claim(keys=[self.due_key, self.jobs_key], args=[now_ms, lease_ms, count])
        jobs = []
        for index in range(0, len(reply), 2):
            job_id = reply[index].decode() if isinstance(reply[index], bytes) else str(reply[index])
            raw = reply[index + 1]
            if not raw:  # its data is gone: nothing to deliver
                await self.finish(job_id)
                continue
            jobs.append(Job.decode(job_id, raw))
        return jobs

    async def finish(self, job_id: str) -> None:
        """Delivered or given up: forget the job, and refuse it for a day should its event come again."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.zrem(self.due_key, job_id)
        pipe.hdel(self.jobs_key, job_id)
        pipe.set(self.done_prefix + job_id, b"1", ex=_DONE_TTL_SECONDS)
        await pipe.execute()

    async def reschedule(self, job: Job, due_at: float) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(self.jobs_key, job.id, job.encode())
        pipe.zadd(self.due_key, {job.id: int(due_at * 1000)}, xx=True)
        await pipe.execute()

    async def pending(self) -> int:
        return int(await self._redis.zcard(self.due_key))


# -- fan-out and delivery -------------------------------------------------------------------------
class WebhookFanout:
    """Consumer-group handler: one job per (matching subscription, event); acked once enqueued."""

    def __init__(self, store: WebhookStore, queue: DeliveryQueue) -> None:
        self.store = store
        self.queue = queue

    async def __call__(self, events: Sequence[Event]) -> None:
        subscriptions = await self.store.subscriptions()
        if not subscriptions:
            return
        jobs: list[Job] = []
        for event in events:
            public = render_envelope(event.entry_id, event.envelope)
            if public is None:
                continue
            jobs.extend(job_for(s.id, public) for s in subscriptions.values() if s.admits(public))
        await self.queue.enqueue(jobs)


class DeliveryWorker:
    def __init__(
        self,
        queue: DeliveryQueue,
        store: WebhookStore,
        http: httpx.AsyncClient,
        *,
        max_attempts: int,
        backoff_seconds: float,
        backoff_max_seconds: float,
        timeout_seconds: float,
        concurrency: int = 16,
        batch: int = 64,
    ) -> None:
        self.queue = queue
        self.store = store
        self.http = http
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.timeout_seconds = timeout_seconds
        self.lease_ms = int((timeout_seconds + 10) * 1000)
        self.concurrency = concurrency
        self.batch = batch
        self._stopping = False

    def delay(self, attempts: int) -> float:
        """Back-off before attempt `attempts + 1`: doubling from the base, capped, with ±20 % jitter."""
        base = min(self.backoff_seconds * 2 ** (attempts - 1), self.backoff_max_seconds)
        return float(base * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not a secret

    async def run(self) -> None:
        semaphore = asyncio.Semaphore(self.concurrency)
        while not self._stopping:
            try:
                jobs = await self.queue.claim(lease_ms=self.lease_ms, count=self.batch)
            except (RedisError, OSError) as exc:
                log.warning("webhook queue unreachable; retrying", extra={"error": str(exc)})
                await asyncio.sleep(1.0)
                continue
            if not jobs:
                self.queue.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.queue.wake.wait(), 0.5)
                continue

            async def deliver(job: Job) -> None:
                async with semaphore:
                    await self.deliver(job)

            await asyncio.gather(*(deliver(job) for job in jobs))

    def stop(self) -> None:
        self._stopping = True
        self.queue.wake.set()

    async def deliver(self, job: Job) -> bool:
        """One attempt; True when the receiver took it."""
        subscription = await self.store.subscription(job.subscription_id)
        if subscription is None:
            await self.queue.finish(job.id)  # the webhook was deleted meanwhile
            return False
        headers = signature_headers(subscription.secret, job.event_id, job.body)
        status, error = 0, None
        try:
            answer = await self.http.post(
                subscription.url, content=job.body, headers=headers, timeout=self.timeout_seconds
            )
            status = answer.status_code
            if not 200 <= status < 300:
                error = f"answered {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        job.attempts += 1
        with contextlib.suppress(Exception):  # bookkeeping only: never blocks a delivery
            await self.store.record_attempt(subscription.id, status, error)
        if error is None:
            await self.queue.finish(job.id)
            return True
        if job.attempts >= self.max_attempts:
            log.warning(
                "webhook delivery given up",
                extra={"webhook": subscription.id, "event_id": job.event_id, "attempts": job.attempts, "error": error},
            )
            await self.queue.finish(job.id)
        else:
            await self.queue.reschedule(job, time.time() + self.delay(job.attempts))
        return False
