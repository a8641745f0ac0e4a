"""The Authorize decision: a driver token at a station, from the cache, the policies and the sessions.

Order of checks, each with the reason published on the authorization stream:
malformed token -> unknown station -> station quarantined -> token blocked (BlockToken) ->
token state (cached; resolved from MongoDB and Keycloak on a miss) -> other tenant's station ->
access policies (blocklist, groups, time windows) -> concurrent sessions.

Redis round trips of a cached decision, on one pipelined connection shared by concurrent calls
(`pipelined_redis.py`): a plain Authorize reads the token's view and sessions together, or
nothing when this process read them in the last `local_seconds`; a transaction start reads the
view and reserves the session in one script (the reservation needs Redis: it is what holds the
limit across replicas). Policies, blocks and station identities are in memory.

Every decision is appended to the authorization stream before it is answered: a decision Redis
did not take is not answered (`DecisionNotRecorded`, UNAVAILABLE over gRPC), and the gateway's
offline policy decides and publishes instead. Nothing is answered that the stream will not show.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from redis.exceptions import ResponseError

from chargewatch.authz.blocks import BlockStore
from chargewatch.authz.cache import INVALID, TokenCache, TokenView
from chargewatch.authz.credentials import StationCredentialStore
from chargewatch.authz.directory import DirectoryUnavailable, KeycloakDirectory, LinkState
from chargewatch.authz.pipelined_redis import PipelinedRedis, RedisUnavailable
from chargewatch.authz.policies import AccessPolicy, PolicyStore, evaluate, gate
from chargewatch.authz.sessions import Lookup, Sessions, SessionTracker, others, session_field
from chargewatch.authz.tokens import (
    KEYCODE_TYPE,
    InvalidToken,
    TokenStatus,
    TokenStore,
    normalise,
    token_key,
    token_ref,
)
from chargewatch.observability import attributes as attrs
from chargewatch.streams import EventPublisher, StreamFamily, partition_for, stream_name
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
_STATION_CACHE_SECONDS = STATION_CACHE_HOURS * 3600
_STATION_TTL_SECONDS = 30.0
_ACTIVE = TokenStatus.ACTIVE.value
# The published-events counter is added to at most this often (not once per decision).
_METRIC_INTERVAL_SECONDS = 1.0

tracer = trace.get_tracer("chargewatch.authz")


@dataclass(frozen=True, slots=True)
class Decision:
    status: int
    reason: str
    group_id: str = ""
    expires_at: float | None = None  # epoch seconds
    max_session_seconds: int = 0
    policy_id: str = ""
    # Accepted only: the concurrent sessions the policies allow (for the reservation).
    session_limit: int = 0

    @property
    def expiry(self) -> datetime | None:
        return datetime.fromtimestamp(self.expires_at, UTC) if self.expires_at is not None else None


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


class DecisionNotRecorded(ConnectionError):
    """Redis did not take the decision (or may not have): it must not be answered."""


class DecisionPublisher:
    """Every decision onto the authorization stream, before it is answered.

    One XADD per decision on the pipelined connection: the XADDs of concurrent calls go out in one
    write and share a round trip, as the gateway's PublishBatcher shares pipelines, without one
    call waiting for another's batch; the connection keeps them in call order. A PRODUCER span is
    opened only under a recording (sampled) Authorize span, and the published-events counter is
    added to once a second, not per decision.
    """

    def __init__(self, publisher: EventPublisher, redis: PipelinedRedis) -> None:
        self._publisher = publisher
        self._redis = redis
        self._unreported = 0
        self._report_at = 0.0

    async def publish(self, station_id: str, tenant_id: str, decision: events_pb2.AuthorizationDecision) -> None:
        """Append the decision; raises DecisionNotRecorded when Redis did not (surely) take it."""
        if trace.get_current_span().is_recording():
            stream = stream_name(StreamFamily.AUTHORIZATION, partition_for(station_id, self._publisher.partitions))
            with tracer.start_as_current_span(
                f"{stream} publish",
                kind=SpanKind.PRODUCER,
                attributes={
                    attrs.MESSAGING_SYSTEM: "redis",
                    attrs.MESSAGING_DESTINATION: stream,
                    attrs.MESSAGING_OPERATION: "publish",
                    attrs.STATION_ID: station_id,
                },
            ):
                await self._append(station_id, tenant_id, decision)
        else:
            await self._append(station_id, tenant_id, decision)
        self._unreported += 1
        now = time.monotonic()
        if now >= self._report_at:
            self._report_at = now + _METRIC_INTERVAL_SECONDS
            self.report()

    async def _append(self, station_id: str, tenant_id: str, decision: events_pb2.AuthorizationDecision) -> None:
        # Built here, so the entry carries the context of the PRODUCER span when there is one;
        # written straight to its XADD (EventPublisher.prepare), as the gateway's events are.
        command = self._publisher.prepare(station_id, decision, tenant_id=tenant_id).command
        try:
            await self._redis.execute_packed(command)
        except (RedisUnavailable, ResponseError) as exc:
            raise DecisionNotRecorded(f"the decision was not recorded: {exc}") from exc

    def report(self) -> None:
        """Add the decisions appended since the last report to the published-events counter."""
        if self._unreported:
            EventPublisher.count_published(StreamFamily.AUTHORIZATION.value, self._unreported)
            self._unreported = 0

    async def flush(self) -> None:
        """Nothing waits to be published (each decision is, before its answer); reports the counter."""
        self.report()


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

    async def _resolve_missing(self, key: str) -> TokenView:
        """A token not in the cache: resolved now (MongoDB, Keycloak) and cached."""
        try:
            return await self.refresh(key)
        except DirectoryUnavailable:
            return TokenView(INVALID, "identity_provider_unavailable")

    def _view_from(self, key: str, raw: bytes | None, keep_seconds: float | None = None) -> TokenView | None:
        if raw is None:
            return None
        view = TokenView.decode(raw)
        self.cache.remember(key, view, keep_seconds)
        return view

    async def _state(self, key: str) -> tuple[TokenView | None, Sessions]:
        """A plain Authorize's view and sessions: from this process's memory, else one round trip."""
        view = self.cache.remembered(key)
        if view is not None:
            sessions = self.sessions.remembered(key)
            if sessions is not None:
                return view, sessions
        found = await self.sessions.lookup(key)
        return self._view_from(key, found.view, found.keep_seconds), found.sessions

    # -- the decision -----------------------------------------------------------------------------
    async def authorize(
        self, station_id: str, id_token: str, id_token_type: str, *, evse_id: int = 0, transaction_id: str = ""
    ) -> Decision:
        """Decide, publish, return. Raises DecisionNotRecorded (not answerable) or RedisUnavailable."""
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
        await self._publish(station_id, tenant_id, uid, token_type, decision, evse_id, transaction_id)
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
            expires = block.expires_at.timestamp() if block.expires_at else None
            return Decision(BLOCKED, "token_blocked", expires_at=expires, policy_id=block.block_id)
        key = token_key(uid, token_type)
        now = time.time()
        moment = datetime.fromtimestamp(now, UTC)
        policies = self.policies.applicable(station.tenant_id, station_id, station.site_id)
        found: Lookup | None = None
        sessions: Sessions = ()
        if transaction_id:
            limits = gate(policies, id_token=uid, moment=moment, default_max_concurrent=self.default_max_concurrent)
            if limits.refused:  # refused whatever the token's state: nothing to reserve
                view, sessions = await self._state(key)
            else:
                found = await self.sessions.lookup_and_reserve(
                    key,
                    station_id,
                    transaction_id,
                    tenant_id=station.tenant_id,
                    groups=limits.groups,
                    limit=limits.max_concurrent_sessions,
                    max_seconds=limits.max_session_seconds or self.default_max_session_seconds,
                )
                view, sessions = self._view_from(key, found.view), found.sessions
        else:
            view, sessions = await self._state(key)
        if view is None:
            view = await self._resolve_missing(key)
        elif now - view.resolved_at > self.refresh_seconds:
            self._refresh_in_background(key)
        decision = self._judge(view, station, policies, station_id, uid, moment, now, sessions, transaction_id)
        reserved = found.reserved if found is not None else None
        if not transaction_id or decision.status != ACCEPTED:
            if reserved:  # only if the script and `_judge` ever disagreed: give the place back
                await self.sessions.end(station_id, transaction_id, key)
            return decision
        if reserved is None:  # not tried in the lookup (the token was not cached yet): reserve now
            reserved = await self.sessions.reserve(
                key,
                station_id,
                transaction_id,
                limit=decision.session_limit,
                max_seconds=decision.max_session_seconds or self.default_max_session_seconds,
            )
        if not reserved:
            return Decision(
                CONCURRENT_TX, "concurrent_session_limit", decision.group_id, decision.expires_at, 0, decision.policy_id
            )
        return decision

    def _judge(
        self,
        view: TokenView,
        station: StationInfo,
        policies: list[AccessPolicy],
        station_id: str,
        uid: str,
        moment: datetime,
        now: float,
        sessions: Sessions,
        transaction_id: str,
    ) -> Decision:
        """The decision from the token's view, the policies and (plain Authorize) the sessions seen.

        For a transaction start, Accepted here means "accepted if the session can be reserved".
        """
        expiry = view.expires_at
        if view.status != _ACTIVE:
            return Decision(_STATUS_OF_VIEW.get(view.status, INVALID_STATUS), view.reason, view.group_id, expiry)
        if view.tenant_id != station.tenant_id:
            return Decision(NOT_AT_THIS_LOCATION, "other_tenant", view.group_id, expiry)
        verdict = evaluate(
            policies,
            id_token=uid,
            group_id=view.group_id,
            moment=moment,
            default_max_concurrent=self.default_max_concurrent,
        )
        if verdict.refusal is not None:
            return Decision(
                _STATUS_OF_REFUSAL[verdict.refusal], verdict.refusal, view.group_id, expiry, policy_id=verdict.policy_id
            )
        station_expiry = now + _STATION_CACHE_SECONDS
        expiry = min(expiry, station_expiry) if expiry else station_expiry
        if (
            not transaction_id
            and others(sessions, session_field(station_id, ""), now) >= verdict.max_concurrent_sessions
        ):
            return Decision(CONCURRENT_TX, "concurrent_session_limit", view.group_id, expiry, 0, verdict.policy_id)
        return Decision(
            ACCEPTED,
            "token_active",
            view.group_id,
            expiry,
            verdict.max_session_seconds,
            verdict.policy_id,
            verdict.max_concurrent_sessions,
        )

    async def _publish(
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
        if decision.expires_at is not None:
            seconds = int(decision.expires_at)
            event.expiry.seconds = seconds
            event.expiry.nanos = int((decision.expires_at - seconds) * 1e9)
        await self.decisions.publish(station_id, tenant_id, event)

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
