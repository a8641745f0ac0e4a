"""The Authorize decision: a driver token at a station, from the cache, the policies and the sessions.

Order of checks, each with the reason published on the authorization stream:
malformed token -> unknown station -> station quarantined -> token blocked (BlockToken) ->
token state (cached; resolved from MongoDB and Keycloak on a miss) -> other tenant's station ->
access policies (blocklist, groups, time windows) -> concurrent sessions.

A cache hit costs two Redis round trips (the cached token, the session script); policies, blocks
and station identities are in memory. Decisions are published in the background in batches, so a
slow stream never slows an answer; `flush()` (and shutdown) waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chargewatch.authz.blocks import BlockStore
from chargewatch.authz.cache import INVALID, TokenCache, TokenView
from chargewatch.authz.credentials import StationCredentialStore
from chargewatch.authz.directory import DirectoryUnavailable, KeycloakDirectory, LinkState
from chargewatch.authz.policies import PolicyStore, evaluate
from chargewatch.authz.sessions import SessionTracker
from chargewatch.authz.tokens import (
    KEYCODE_TYPE,
    InvalidToken,
    TokenStatus,
    TokenStore,
    normalise,
    token_key,
    token_ref,
)
from chargewatch.streams import EventPublisher
from chargewatch.v1 import events_pb2

log = logging.getLogger(__name__)

S = events_pb2  # AuthorizationStatus values live in events.proto
ACCEPTED = S.AUTHORIZATION_STATUS_ACCEPTED
BLOCKED = S.AUTHORIZATION_STATUS_BLOCKED
EXPIRED = S.AUTHORIZATION_STATUS_EXPIRED
INVALID_STATUS = S.AUTHORIZATION_STATUS_INVALID
CONCURRENT_TX = S.AUTHORIZATION_STATUS_CONCURRENT_TX
NOT_AT_THIS_LOCATION = S.AUTHORIZATION_STATUS_NOT_AT_THIS_LOCATION
NOT_AT_THIS_TIME = S.AUTHORIZATION_STATUS_NOT_AT_THIS_TIME

_STATUS_OF_VIEW = {TokenStatus.BLOCKED.value: BLOCKED, TokenStatus.EXPIRED.value: EXPIRED, INVALID: INVALID_STATUS}
_STATUS_OF_REFUSAL = {
    "blocklisted": BLOCKED,
    "group_not_allowed": NOT_AT_THIS_LOCATION,
    "outside_time_window": NOT_AT_THIS_TIME,
}
# How long a station may keep an accepted token in its authorization cache when the token has no expiry.
STATION_CACHE_HOURS = 24
_STATION_TTL_SECONDS = 30.0
_MAX_QUEUED_DECISIONS = 50_000


@dataclass(frozen=True, slots=True)
class Decision:
    status: int
    reason: str
    group_id: str = ""
    expiry: datetime | None = None
    max_session_seconds: int = 0
    policy_id: str = ""


@dataclass(frozen=True, slots=True)
class StationInfo:
    tenant_id: str
    site_id: str


class StationDirectory:
    """Station tenant and site, from the credential records, kept in memory for a short while."""

    def __init__(self, credentials: StationCredentialStore, ttl_seconds: float = _STATION_TTL_SECONDS) -> None:
        self._credentials = credentials
        self._ttl = ttl_seconds
        self._known: dict[str, tuple[float, StationInfo | None]] = {}

    async def get(self, station_id: str) -> StationInfo | None:
        now = time.monotonic()
        hit = self._known.get(station_id)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        record = await self._credentials.get(station_id)
        info = StationInfo(record.get("tenant_id", ""), record.get("site_id", "")) if record else None
        if len(self._known) > 200_000:
            self._known.clear()
        self._known[station_id] = (now, info)
        return info

    def forget(self, station_id: str) -> None:
        self._known.pop(station_id, None)


class DecisionPublisher:
    """Every decision onto the authorization stream, batched off the request path."""

    def __init__(self, publisher: EventPublisher, *, batch: int = 200) -> None:
        self._publisher = publisher
        self._queue: asyncio.Queue[events_pb2.EventEnvelope] = asyncio.Queue(_MAX_QUEUED_DECISIONS)
        self._batch = batch
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, station_id: str, tenant_id: str, decision: events_pb2.AuthorizationDecision) -> None:
        envelope = self._publisher.envelope(station_id, decision, tenant_id=tenant_id)
        self._idle.clear()
        try:
            self._queue.put_nowait(envelope)
        except asyncio.QueueFull:
            log.error("authorization decision queue full; decision not published", extra={"station_id": station_id})
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="authz-decisions")

    async def _drain(self) -> None:
        while not self._queue.empty():
            envelopes = [self._queue.get_nowait() for _ in range(min(self._batch, self._queue.qsize()))]
            for attempt in range(5):
                try:
                    await self._publisher.publish_many(envelopes)
                    break
                except Exception:  # Redis away: retry briefly, then give the batch up loudly
                    if attempt == 4:
                        log.exception("authorization decisions lost", extra={"count": len(envelopes)})
                    else:
                        await asyncio.sleep(0.1 * 2**attempt)
        self._idle.set()

    async def flush(self) -> None:
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        await self._idle.wait()


class Authorizer:
    def __init__(
        self,
        *,
        tokens: TokenStore,
        cache: TokenCache,
        directory: KeycloakDirectory,
        stations: StationDirectory,
        policies: PolicyStore,
        blocks: BlockStore,
        sessions: SessionTracker,
        decisions: DecisionPublisher | None,
        refresh_seconds: float,
        default_max_concurrent: int,
        default_max_session_seconds: int,
    ) -> None:
        self.tokens = tokens
        self.cache = cache
        self.directory = directory
        self.stations = stations
        self.policies = policies
        self.blocks = blocks
        self.sessions = sessions
        self.decisions = decisions
        self.refresh_seconds = refresh_seconds
        self.default_max_concurrent = default_max_concurrent
        self.default_max_session_seconds = default_max_session_seconds
        self._refreshing: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()

    # -- resolving a token's state --------------------------------------------------------------
    async def resolve(self, key: str) -> TokenView:
        """The token's state from its record and its Keycloak link.

        Raises DirectoryUnavailable when the token is linked and Keycloak cannot be asked.
        """
        now = datetime.now(UTC)
        token = await self.tokens.get(key)
        if token is None:
            return TokenView(INVALID, "unknown_token", resolved_at=time.time())
        expires = token.expires_at.timestamp() if token.expires_at else None

        def view(status: str, reason: str) -> TokenView:
            return TokenView(status, reason, token.tenant_id, token.group_id, expires, time.time())

        status = token.effective_status(now)
        if status is not TokenStatus.ACTIVE:
            return view(status.value, token.reason or f"token_{status.value}")
        link = LinkState.OK
        if token.user_id:
            link = await self.directory.user_link(token.user_id, key, token.tenant_id)
        elif token.fleet:
            link = await self.directory.fleet_link(token.fleet, token.tenant_id)
        if link is LinkState.DISABLED:
            return view(TokenStatus.BLOCKED.value, "user_disabled")
        if link is LinkState.GONE:
            return view(INVALID, "link_gone")
        if link is LinkState.TENANT_MISMATCH:
            return view(INVALID, "link_tenant_mismatch")
        return view(TokenStatus.ACTIVE.value, "token_active")

    async def refresh(self, key: str) -> TokenView:
        """Resolve and cache: after a change, and when a cached entry is older than refresh_seconds."""
        fresh = await self.resolve(key)
        await self.cache.put(key, fresh)
        return fresh

    def _refresh_in_background(self, key: str) -> None:
        if key in self._refreshing:
            return
        self._refreshing.add(key)

        async def run() -> None:
            try:
                await self.refresh(key)
            except DirectoryUnavailable:
                pass  # keep answering the cached state; the next hit tries again
            except Exception:
                log.exception("token refresh failed", extra={"token_ref": token_ref(key)})
            finally:
                self._refreshing.discard(key)

        task = asyncio.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def view_of(self, key: str) -> TokenView:
        cached = await self.cache.get(key)
        if cached is None:
            try:
                return await self.refresh(key)
            except DirectoryUnavailable:
                return TokenView(INVALID, "identity_provider_unavailable")
        if time.time() - cached.resolved_at > self.refresh_seconds:
            self._refresh_in_background(key)
        return cached

    # -- the decision -----------------------------------------------------------------------------
    async def authorize(
        self, station_id: str, id_token: str, id_token_type: str, *, evse_id: int = 0, transaction_id: str = ""
    ) -> Decision:
        tenant_id = ""
        try:
            uid, token_type = normalise(id_token, id_token_type)
        except InvalidToken:
            decision = Decision(INVALID_STATUS, "malformed_token")
            uid, token_type = id_token[:36], id_token_type[:16]
        else:
            station = await self.stations.get(station_id)
            tenant_id = station.tenant_id if station else ""
            decision = await self._decide(station_id, station, uid, token_type, transaction_id)
        self._publish(station_id, tenant_id, uid, token_type, decision, evse_id, transaction_id)
        return decision

    async def _decide(
        self, station_id: str, station: StationInfo | None, uid: str, token_type: str, transaction_id: str
    ) -> Decision:
        if station is None:
            return Decision(INVALID_STATUS, "unknown_station")
        quarantine = self.blocks.active_for("station", station_id)
        if quarantine is not None:
            return Decision(NOT_AT_THIS_LOCATION, "station_quarantined", policy_id=quarantine.block_id)
        block = self.blocks.active_for("token", uid)
        if block is not None:
            return Decision(BLOCKED, "token_blocked", expiry=block.expires_at, policy_id=block.block_id)
        key = token_key(uid, token_type)
        view = await self.view_of(key)
        expiry = view.expiry()
        if view.status != TokenStatus.ACTIVE.value:
            return Decision(_STATUS_OF_VIEW.get(view.status, INVALID_STATUS), view.reason, view.group_id, expiry)
        if view.tenant_id != station.tenant_id:
            return Decision(NOT_AT_THIS_LOCATION, "other_tenant", view.group_id, expiry)
        now = datetime.now(UTC)
        verdict = evaluate(
            self.policies.applicable(station.tenant_id, station_id, station.site_id),
            id_token=uid,
            group_id=view.group_id,
            moment=now,
            default_max_concurrent=self.default_max_concurrent,
        )
        if verdict.refusal is not None:
            return Decision(
                _STATUS_OF_REFUSAL[verdict.refusal], verdict.refusal, view.group_id, expiry, policy_id=verdict.policy_id
            )
        station_expiry = now + timedelta(hours=STATION_CACHE_HOURS)
        expiry = min(expiry, station_expiry) if expiry else station_expiry
        max_seconds = verdict.max_session_seconds
        if transaction_id:
            reserved = await self.sessions.reserve(
                key,
                station_id,
                transaction_id,
                limit=verdict.max_concurrent_sessions,
                max_seconds=max_seconds or self.default_max_session_seconds,
            )
            if not reserved:
                return Decision(CONCURRENT_TX, "concurrent_session_limit", view.group_id, expiry, 0, verdict.policy_id)
        elif await self.sessions.others_active(key, station_id) >= verdict.max_concurrent_sessions:
            return Decision(CONCURRENT_TX, "concurrent_session_limit", view.group_id, expiry, 0, verdict.policy_id)
        return Decision(ACCEPTED, "token_active", view.group_id, expiry, max_seconds, verdict.policy_id)

    def _publish(
        self,
        station_id: str,
        tenant_id: str,
        uid: str,
        token_type: str,
        decision: Decision,
        evse_id: int,
        transaction_id: str,
    ) -> None:
        if self.decisions is None:
            return
        event = events_pb2.AuthorizationDecision(
            # A KeyCode is a PIN: the stream names it by digest, never in clear.
            id_token=token_ref(uid) if token_type == KEYCODE_TYPE else uid,
            id_token_type=token_type,
            status=decision.status,  # type: ignore[arg-type]
            reason=decision.reason,
            group_id=decision.group_id,
            transaction_id=transaction_id,
            evse_id=evse_id,
            policy_id=decision.policy_id,
        )
        if decision.expiry is not None:
            event.expiry.FromDatetime(decision.expiry)
        self.decisions.submit(station_id, tenant_id, event)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self.decisions is not None:
            await self.decisions.flush()


Reloader = Callable[[], Awaitable[None]]


async def reload_periodically(reloaders: list[Reloader], every_seconds: float, stop: asyncio.Event) -> None:
    """Policies and blocks changed by other replicas are picked up within `every_seconds`."""
    while not stop.is_set():
        for reload in reloaders:
            try:
                await reload()
            except Exception:
                log.warning("reload failed; keeping the previous snapshot", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_seconds)
