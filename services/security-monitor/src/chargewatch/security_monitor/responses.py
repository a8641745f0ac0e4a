"""Automated and manual responses: quarantine a station or block a token through authz, disconnect a
station through the gateway; always audited, reversible where there is something to reverse, and
with a dry run that only records what would be done.

* Policies (`response_policies`) say which rules and severities get which actions. A new or escalated
  alert is matched against them; each (alert, policy, action) gets ONE action document whose `_id` is
  derived from the three, so a redelivered event or a second evaluation never acts twice.
* The action is written PENDING before the stream entry is acknowledged, then carried out by a worker
  off the hot path; a new leader resumes PENDING actions. Outcomes (APPLIED with the authz block id,
  FAILED with the reason, DRY_RUN with the description) are written back.
* Undo lifts the authz block or quarantine and marks the action UNDONE; marking an alert a false
  positive undoes its actions. Every step is also written to the audit collection.
* Service-to-service calls carry a client-credentials access token (the `chargewatch-services` client),
  which authz checks like any caller's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import grpc
from pymongo.errors import DuplicateKeyError

from chargewatch.auth import ClientCredentialsToken
from chargewatch.mongo import Document
from chargewatch.security_monitor.catalogue import RULES_BY_ID
from chargewatch.security_monitor.model import STATION, TOKEN
from chargewatch.security_monitor.store import Collections, new_id
from chargewatch.v1 import authz_pb2, authz_pb2_grpc, common_pb2, gateway_pb2, gateway_pb2_grpc, security_pb2

log = logging.getLogger(__name__)

S = security_pb2
QUARANTINE: Final = S.RESPONSE_ACTION_KIND_QUARANTINE_STATION
BLOCK: Final = S.RESPONSE_ACTION_KIND_BLOCK_TOKEN
DISCONNECT: Final = S.RESPONSE_ACTION_KIND_DISCONNECT_STATION
PENDING: Final = S.RESPONSE_ACTION_STATE_PENDING
APPLIED: Final = S.RESPONSE_ACTION_STATE_APPLIED
DRY_RUN: Final = S.RESPONSE_ACTION_STATE_DRY_RUN
FAILED: Final = S.RESPONSE_ACTION_STATE_FAILED
UNDONE: Final = S.RESPONSE_ACTION_STATE_UNDONE
SKIPPED: Final = S.RESPONSE_ACTION_STATE_SKIPPED

# Which subject each action acts on.
ACTION_SUBJECT: Final[dict[int, str]] = {QUARANTINE: STATION, DISCONNECT: STATION, BLOCK: TOKEN}
REVERSIBLE: Final = frozenset({QUARANTINE, BLOCK})
QUARANTINE_MODES: Final = ("refuse_connections", "set_unavailable")
RESPONSE_MODES: Final = ("enforce", "dry_run", "off")
MAX_POLICIES: Final = 200
SERVICE_PRINCIPAL: Final = common_pb2.Principal(subject="security-monitor", roles=["security-analyst"])


class ActionNotFound(Exception):
    pass


class PolicyNotFound(Exception):
    pass


class CannotUndo(Exception):
    """The action has nothing (left) to reverse; the message is safe to return."""


class ResponseFailed(Exception):
    """authz or the gateway did not carry the action out; the message is safe to return."""


def kind_label(kind: int) -> str:
    return S.ResponseActionKind.Name(kind).removeprefix("RESPONSE_ACTION_KIND_").lower()


def action_id_for(alert_id: str, policy_id: str, kind: int) -> str:
    """Deterministic: the same policy never acts twice on one alert."""
    return hashlib.sha256(f"{alert_id}|{policy_id}|{kind}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Policy:
    policy_id: str
    name: str
    enabled: bool
    rules: frozenset[str]
    min_severity: int
    actions: tuple[int, ...]
    quarantine_mode: str
    duration_seconds: int
    dry_run: bool
    version: int
    updated_at: datetime | None
    updated_by: str

    def matches(self, rule: str, severity: int) -> bool:
        return self.enabled and (not self.rules or rule in self.rules) and severity >= self.min_severity

    @classmethod
    def from_document(cls, doc: Document) -> Policy:
        return cls(
            policy_id=doc["_id"],
            name=doc.get("name", ""),
            enabled=bool(doc.get("enabled", True)),
            rules=frozenset(doc.get("rules", [])),
            min_severity=int(doc.get("min_severity", 0)),
            actions=tuple(int(a) for a in doc.get("actions", [])),
            quarantine_mode=doc.get("quarantine_mode") or "refuse_connections",
            duration_seconds=int(doc.get("duration_seconds", 0)),
            dry_run=bool(doc.get("dry_run", False)),
            version=int(doc.get("version", 1)),
            updated_at=doc.get("updated_at"),
            updated_by=doc.get("updated_by", ""),
        )

    def message(self) -> S.ResponsePolicy:
        policy = S.ResponsePolicy(
            policy_id=self.policy_id,
            name=self.name,
            enabled=self.enabled,
            rules=sorted(self.rules),
            min_severity=self.min_severity,  # type: ignore[arg-type]
            actions=list(self.actions),  # type: ignore[arg-type]
            quarantine_mode=self.quarantine_mode,
            duration_seconds=self.duration_seconds,
            dry_run=self.dry_run,
            version=self.version,
            updated_by=self.updated_by,
        )
        if self.updated_at is not None:
            policy.updated_at.FromDatetime(self.updated_at)
        return policy


def validate_policy(message: S.ResponsePolicy) -> None:
    """Raises ValueError naming what is wrong (answered INVALID_ARGUMENT)."""
    if not message.name or len(message.name) > 100:
        raise ValueError("name is 1-100 characters")
    unknown = sorted(set(message.rules) - set(RULES_BY_ID))
    if unknown:
        raise ValueError(f"unknown rules: {', '.join(unknown)}")
    if not message.actions:
        raise ValueError("a policy needs at least one action")
    for action in message.actions:
        if action not in ACTION_SUBJECT:
            raise ValueError(f"unknown action {action}")
    if message.min_severity not in common_pb2.Severity.values():
        raise ValueError("min_severity is not a severity")
    if message.quarantine_mode and message.quarantine_mode not in QUARANTINE_MODES:
        raise ValueError(f"quarantine_mode must be one of {', '.join(QUARANTINE_MODES)}")
    if message.duration_seconds > 366 * 86_400:
        raise ValueError("duration_seconds is at most a year")


class PolicyStore:
    """Policies in MongoDB, cached; `reload` picks up changes other replicas made."""

    def __init__(self, collections: Collections) -> None:
        self.c = collections
        self.policies: list[Policy] = []

    async def reload(self) -> None:
        self.policies = [Policy.from_document(d) async for d in self.c.policies.find({}).limit(MAX_POLICIES)]

    def matching(self, rule: str, severity: int) -> list[Policy]:
        return [p for p in self.policies if p.matches(rule, severity)]

    async def put(self, message: S.ResponsePolicy, actor: str) -> Policy:
        validate_policy(message)
        now = datetime.now(UTC)
        fields: Document = {
            "name": message.name,
            "enabled": message.enabled,
            "rules": sorted(set(message.rules)),
            "min_severity": int(message.min_severity),
            "actions": list(dict.fromkeys(int(a) for a in message.actions)),
            "quarantine_mode": message.quarantine_mode or "refuse_connections",
            "duration_seconds": int(message.duration_seconds),
            "dry_run": message.dry_run,
            "updated_at": now,
            "updated_by": actor,
        }
        if message.policy_id:
            existing = await self.c.policies.find_one({"_id": message.policy_id})
            if existing is None:
                raise PolicyNotFound(message.policy_id)
            if message.version and message.version != existing.get("version", 1):
                raise ValueError("the policy changed meanwhile (version mismatch); read it again")
            fields["version"] = int(existing.get("version", 1)) + 1
            doc = {**existing, **fields}
            # Whole documents: the local MongoDB-wire store turns a date written with $set into a string.
            await self.c.policies.replace_one({"_id": message.policy_id}, doc)
        else:
            if await self.c.policies.count_documents({}) >= MAX_POLICIES:
                raise ValueError(f"at most {MAX_POLICIES} policies")
            doc = {"_id": new_id(), **fields, "version": 1}
            await self.c.policies.insert_one(doc)
        await self.c.record_audit("policy.put", doc["_id"], actor, name=doc["name"], version=doc["version"])
        await self.reload()
        return Policy.from_document(doc)

    async def delete(self, policy_id: str, actor: str) -> None:
        result = await self.c.policies.delete_one({"_id": policy_id})
        if result.deleted_count == 0:
            raise PolicyNotFound(policy_id)
        await self.c.record_audit("policy.deleted", policy_id, actor)
        await self.reload()


class ResponseClients:
    """authz and the gateway, called with the monitor's client-credentials token and a deadline."""

    def __init__(
        self,
        authz: authz_pb2_grpc.AuthzAsyncStub,
        gateway: gateway_pb2_grpc.GatewayCommandsAsyncStub,
        token: ClientCredentialsToken | None,
        *,
        deadline_seconds: float = 5.0,
    ) -> None:
        self.authz = authz
        self.gateway = gateway
        self.token = token
        self.deadline = deadline_seconds

    async def metadata(self) -> tuple[tuple[str, str], ...]:
        if self.token is None:
            return ()
        return ((("authorization", f"Bearer {await self.token.get()}")),)

    async def _call(self, what: str, call: Callable[..., Awaitable[Any]], request: Any) -> Any:
        try:
            metadata = await self.metadata()
        except Exception as exc:  # the identity provider: no token, no call
            raise ResponseFailed(f"no service access token: {type(exc).__name__}") from exc
        try:
            return await call(request, timeout=self.deadline, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            raise ResponseFailed(f"{what} failed: {exc.code().name} {exc.details() or ''}".strip()) from exc

    async def quarantine(self, station_id: str, reason: str, mode: str, expires_at: datetime | None) -> str:
        request = authz_pb2.QuarantineStationRequest(
            station_id=station_id, reason=reason, requested_by=SERVICE_PRINCIPAL, mode=mode
        )
        if expires_at is not None:
            request.expires_at.FromDatetime(expires_at)
        block = await self._call("authz QuarantineStation", self.authz.QuarantineStation, request)
        return str(block.block_id)

    async def block_token(self, id_token: str, reason: str, expires_at: datetime | None) -> str:
        request = authz_pb2.BlockTokenRequest(id_token=id_token, reason=reason, requested_by=SERVICE_PRINCIPAL)
        if expires_at is not None:
            request.expires_at.FromDatetime(expires_at)
        block = await self._call("authz BlockToken", self.authz.BlockToken, request)
        return str(block.block_id)

    async def lift(self, block_id: str, reason: str) -> None:
        request = authz_pb2.LiftBlockRequest(block_id=block_id, reason=reason, requested_by=SERVICE_PRINCIPAL)
        try:
            await self._call("authz LiftBlock", self.authz.LiftBlock, request)
        except ResponseFailed as exc:
            # Already lifted (by an operator in authz, or it expired): the undo's goal holds.
            if "FAILED_PRECONDITION" not in str(exc):
                raise

    async def disconnect(self, station_id: str, reason: str) -> bool:
        request = gateway_pb2.DisconnectRequest(station_id=station_id, reason=reason, requested_by=SERVICE_PRINCIPAL)
        reply = await self._call("gateway Disconnect", self.gateway.Disconnect, request)
        return bool(reply.was_connected)


def describe(kind: int, subject_id: str, mode: str, duration_seconds: int) -> str:
    until = f" for {timedelta(seconds=duration_seconds)}" if duration_seconds else " until undone"
    if kind == QUARANTINE:
        how = "refuse its connections" if mode == "refuse_connections" else "set it unavailable"
        return f"quarantine station {subject_id} in authz ({how}){until}"
    if kind == BLOCK:
        return f"block token {subject_id} in authz (every Authorize answers Blocked){until}"
    return f"disconnect station {subject_id} through the gateway (it may reconnect unless quarantined)"


class ResponseEngine:
    def __init__(
        self,
        collections: Collections,
        policies: PolicyStore,
        clients: ResponseClients | None,
        *,
        mode: str = "enforce",
    ) -> None:
        if mode not in RESPONSE_MODES:
            raise ValueError(f"response mode must be one of {', '.join(RESPONSE_MODES)}")
        self.c = collections
        self.policies = policies
        self.clients = clients
        self.mode = mode
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._stop = asyncio.Event()

    # -- planning ---------------------------------------------------------------------------------------
    async def on_alerts(self, alerts: Sequence[Document]) -> list[Document]:
        """Plan the actions policies ask for on new or escalated alerts (written PENDING, queued)."""
        if self.mode == "off":
            return []
        planned = []
        for alert in alerts:
            for policy in self.policies.matching(alert["rule"], int(alert["severity"])):
                for kind in policy.actions:
                    if ACTION_SUBJECT[kind] != alert.get("subject_kind"):
                        continue  # e.g. a token block asked for by a policy, on a station alert
                    doc = await self._plan(
                        alert,
                        kind,
                        policy_id=policy.policy_id,
                        requested_by=f"policy:{policy.policy_id}",
                        dry_run=policy.dry_run or self.mode == "dry_run",
                        mode=policy.quarantine_mode,
                        duration_seconds=policy.duration_seconds,
                        reason=f"{alert['rule']} ({policy.name})",
                    )
                    if doc is not None:
                        planned.append(doc)
        return planned

    async def respond(
        self,
        alert: Document,
        kinds: Sequence[int],
        *,
        actor: str,
        dry_run: bool,
        mode: str,
        duration_seconds: int,
        reason: str,
    ) -> list[Document]:
        """A response an analyst asks for; carried out before returning."""
        if not kinds:
            raise ValueError("name at least one action")
        if mode and mode not in QUARANTINE_MODES:
            raise ValueError(f"quarantine_mode must be one of {', '.join(QUARANTINE_MODES)}")
        for kind in kinds:
            if kind not in ACTION_SUBJECT:
                raise ValueError(f"unknown action {kind}")
            if ACTION_SUBJECT[kind] != alert.get("subject_kind"):
                raise ValueError(f"{kind_label(kind)} acts on a {ACTION_SUBJECT[kind]}, this alert is about a "
                                 f"{alert.get('subject_kind')}")  # fmt: skip
        out = []
        for kind in kinds:
            doc = await self._plan(
                alert,
                kind,
                policy_id="",
                requested_by=actor,
                dry_run=dry_run,
                mode=mode or "refuse_connections",
                duration_seconds=duration_seconds,
                reason=reason or f"{alert['rule']} (manual response)",
                manual_id=new_id(),
            )
            if doc is not None:
                out.append(await self.execute(doc["_id"]))
        return out

    async def _plan(
        self,
        alert: Document,
        kind: int,
        *,
        policy_id: str,
        requested_by: str,
        dry_run: bool,
        mode: str,
        duration_seconds: int,
        reason: str,
        manual_id: str = "",
    ) -> Document | None:
        subject_id = alert["subject_id"]
        now = datetime.now(UTC)
        doc: Document = {
            "_id": manual_id or action_id_for(alert["_id"], policy_id, kind),
            "alert_id": alert["_id"],
            "incident_id": alert.get("incident_id", ""),
            "policy_id": policy_id,
            "kind": kind,
            "subject_kind": ACTION_SUBJECT[kind],
            "subject_id": subject_id,
            "tenant_id": alert.get("tenant_id", ""),
            "state": PENDING,
            "dry_run": dry_run,
            "description": ("dry run: would " if dry_run else "") + describe(kind, subject_id, mode, duration_seconds),
            "detail": "",
            "reason": f"security monitor: {reason}"[:200],
            "mode": mode,
            "duration_seconds": duration_seconds,
            "requested_by": requested_by,
            "reversible": kind in REVERSIBLE and not dry_run,
            "created_at": now,
        }
        if duration_seconds:
            doc["expires_at"] = now + timedelta(seconds=duration_seconds)
        if ACTION_SUBJECT[kind] == TOKEN and alert.get("attributes", {}).get("id_token_type") == "KeyCode":
            doc.update(state=SKIPPED, detail="a KeyCode is named by digest only; it cannot be blocked by value")
        try:
            await self.c.actions.insert_one(doc)
        except DuplicateKeyError:
            return None  # planned before (a redelivery, or the alert escalated again)
        await self.c.record_audit(
            "response.planned", f"{doc['subject_kind']}:{subject_id}", requested_by,
            action_id=doc["_id"], kind=kind_label(kind), dry_run=dry_run, alert_id=alert["_id"],
        )  # fmt: skip
        if doc["state"] == PENDING and not manual_id:
            self._queue.put_nowait(doc["_id"])  # the worker carries it out; a manual one runs at once
        return doc

    # -- carrying out -----------------------------------------------------------------------------------
    async def resume_pending(self) -> int:
        """Queue actions a previous leader planned but did not finish."""
        count = 0
        # A claim left by a leader that died mid-action is dropped: carrying it out again is safe
        # (authz answers an existing block) and better than leaving it pending forever.
        await self.c.actions.update_many({"state": PENDING}, {"$unset": {"claim": ""}})
        async for doc in self.c.actions.find({"state": PENDING}, {"_id": 1}):
            self._queue.put_nowait(doc["_id"])
            count += 1
        return count

    async def run(self) -> None:
        """The worker: carries out queued actions one at a time until `stop`."""
        self._stop.clear()
        while not self._stop.is_set():
            getter = asyncio.ensure_future(self._queue.get())
            stopper = asyncio.ensure_future(self._stop.wait())
            done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if getter not in done:
                getter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getter
                return
            try:
                await self.execute(getter.result())
            except Exception:
                log.exception("response action failed unexpectedly", extra={"action_id": getter.result()})

    def stop(self) -> None:
        self._stop.set()

    async def execute(self, action_id: str) -> Document:
        doc = await self.c.actions.find_one({"_id": action_id})
        if doc is None:
            raise ActionNotFound(action_id)
        if doc["state"] != PENDING:
            return doc
        # Claim it: the worker and a manual response (or two leaders) must not both carry it out.
        claim = new_id()
        claimed = await self.c.actions.update_one(
            {"_id": action_id, "state": PENDING, "claim": {"$exists": False}}, {"$set": {"claim": claim}}
        )
        if claimed.modified_count != 1:
            return await self._settled(action_id)
        doc["claim"] = claim
        kind, subject = doc["kind"], doc["subject_id"]
        changes: Document = {"completed_at": datetime.now(UTC)}
        if doc.get("dry_run"):
            changes.update(state=DRY_RUN, detail="dry run: nothing was done")
        elif self.clients is None:
            changes.update(state=FAILED, detail="responses are not configured (no authz/gateway clients)")
        else:
            active = await self.c.actions.find_one(
                {"subject_id": subject, "kind": kind, "state": APPLIED, "_id": {"$ne": action_id}}
            )
            if active is not None and kind in REVERSIBLE:
                changes.update(state=SKIPPED, detail=f"already in effect through action {active['_id']}")
            else:
                try:
                    changes.update(await self._carry_out(doc))
                except ResponseFailed as exc:
                    changes.update(state=FAILED, detail=str(exc)[:500])
        doc.update(changes)
        await self.c.actions.replace_one({"_id": action_id, "state": PENDING}, doc)
        level = logging.WARNING if doc["state"] == FAILED else logging.INFO
        log.log(
            level,
            "response action %s",
            S.ResponseActionState.Name(doc["state"]).removeprefix("RESPONSE_ACTION_STATE_").lower(),
            extra={"action_id": action_id, "kind": kind_label(kind), "subject": subject, "detail": doc["detail"]},
        )
        await self.c.record_audit(
            f"response.{S.ResponseActionState.Name(doc['state']).removeprefix('RESPONSE_ACTION_STATE_').lower()}",
            f"{doc['subject_kind']}:{subject}", doc["requested_by"], action_id=action_id, detail=doc["detail"],
        )  # fmt: skip
        return doc

    async def _settled(self, action_id: str, wait_seconds: float = 10.0) -> Document:
        """The outcome of an action another task is carrying out (waits for it, briefly)."""
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while True:
            doc = await self.c.actions.find_one({"_id": action_id})
            if doc is None:
                raise ActionNotFound(action_id)
            if doc["state"] != PENDING or asyncio.get_running_loop().time() >= deadline:
                return doc
            await asyncio.sleep(0.1)

    async def _carry_out(self, doc: Document) -> Document:
        assert self.clients is not None
        kind, subject, reason = doc["kind"], doc["subject_id"], doc["reason"]
        expires = doc.get("expires_at")
        if kind == QUARANTINE:
            block_id = await self.clients.quarantine(subject, reason, doc.get("mode") or "refuse_connections", expires)
            return {"state": APPLIED, "block_id": block_id, "detail": f"authz quarantine {block_id}"}
        if kind == BLOCK:
            block_id = await self.clients.block_token(subject, reason, expires)
            return {"state": APPLIED, "block_id": block_id, "detail": f"authz block {block_id}"}
        was_connected = await self.clients.disconnect(subject, reason)
        return {"state": APPLIED, "detail": "disconnected" if was_connected else "the station was not connected"}

    # -- undo -------------------------------------------------------------------------------------------
    async def undo(self, action_id: str, *, actor: str, reason: str) -> Document:
        doc = await self.c.actions.find_one({"_id": action_id})
        if doc is None:
            raise ActionNotFound(action_id)
        if doc["state"] == UNDONE:
            return doc
        if doc["state"] != APPLIED or not doc.get("block_id"):
            state = S.ResponseActionState.Name(doc["state"]).removeprefix("RESPONSE_ACTION_STATE_").lower()
            raise CannotUndo(f"the action is {state}; only an applied block or quarantine can be undone")
        if self.clients is None:
            raise ResponseFailed("responses are not configured (no authz client)")
        await self.clients.lift(doc["block_id"], f"undone: {reason or 'no reason given'}"[:200])
        changes = {"state": UNDONE, "undone_at": datetime.now(UTC), "undone_by": actor, "undo_reason": reason}
        doc.update(changes)
        await self.c.actions.replace_one({"_id": action_id, "state": APPLIED}, doc)
        await self.c.record_audit(
            "response.undone", f"{doc['subject_kind']}:{doc['subject_id']}", actor, action_id=action_id, reason=reason
        )
        log.info("response action undone", extra={"action_id": action_id, "by": actor})
        return doc

    async def undo_for_alert(self, alert_id: str, *, actor: str, reason: str) -> list[Document]:
        """Undo every applied, reversible action an alert caused (it was a false positive)."""
        undone = []
        async for doc in self.c.actions.find({"alert_id": alert_id, "state": APPLIED}):
            if doc.get("block_id"):
                try:
                    undone.append(await self.undo(doc["_id"], actor=actor, reason=reason))
                except (ResponseFailed, CannotUndo) as exc:
                    log.warning("could not undo an action", extra={"action_id": doc["_id"], "error": str(exc)})
        return undone
