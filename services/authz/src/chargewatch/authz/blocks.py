"""Blocks of driver tokens and quarantines of stations: who, why, when, until when, and lifting them.

Every change is written to the `audit` collection (who did what to which subject, and why) and to
one log line; neither ever holds a password or an access token. Active blocks are kept in memory
(reloaded every `policy_refresh_seconds` and at once after this replica's own changes) so the hot
paths never wait for MongoDB.
"""

from __future__ import annotations

import enum
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from chargewatch.mongo import Document, IndexSpec

COLLECTION = "blocks"
AUDIT_COLLECTION = "audit"
INDEXES = [
    IndexSpec(COLLECTION, [("subject_kind", 1), ("subject_id", 1)], name="by_subject"),
    IndexSpec(AUDIT_COLLECTION, [("subject_id", 1), ("at", -1)], name="by_subject_time"),
]

log = logging.getLogger(__name__)


class QuarantineMode(enum.StrEnum):
    REFUSE_CONNECTIONS = "refuse_connections"
    SET_UNAVAILABLE = "set_unavailable"


class BlockNotFound(Exception):
    pass


class BlockAlreadyLifted(Exception):
    pass


@dataclass(frozen=True)
class Block:
    block_id: str
    subject_kind: str  # "token" or "station"
    subject_id: str
    reason: str
    requested_by: str
    created_at: datetime
    expires_at: datetime | None = None
    lifted_at: datetime | None = None
    mode: str = ""

    def active(self, now: datetime) -> bool:
        return self.lifted_at is None and (self.expires_at is None or self.expires_at > now)

    def document(self) -> Document:
        return {
            "_id": self.block_id,
            "subject_kind": self.subject_kind,
            "subject_id": self.subject_id,
            "reason": self.reason,
            "requested_by": self.requested_by,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "lifted_at": self.lifted_at,
            "mode": self.mode,
        }

    @classmethod
    def from_document(cls, doc: Document) -> Block:
        return cls(
            block_id=doc["_id"],
            subject_kind=doc["subject_kind"],
            subject_id=doc["subject_id"],
            reason=doc.get("reason", ""),
            requested_by=doc.get("requested_by", ""),
            created_at=doc["created_at"],
            expires_at=doc.get("expires_at"),
            lifted_at=doc.get("lifted_at"),
            mode=doc.get("mode", ""),
        )


class AuditLog:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def record(self, action: str, subject_kind: str, subject_id: str, actor: str, **details: Any) -> None:
        """One audit entry and one log line. Callers pass identifiers and reasons, never secrets."""
        entry: Document = {
            "_id": uuid.uuid4().hex,
            "action": action,
            "subject_kind": subject_kind,
            "subject_id": subject_id,
            "actor": actor,
            "at": datetime.now(UTC),
            "details": details,
        }
        await self.collection.insert_one(entry)
        log.info("audit: %s", action, extra={"subject_kind": subject_kind, "subject_id": subject_id, "actor": actor})

    async def entries(self, subject_id: str, limit: int = 100) -> list[Document]:
        cursor = self.collection.find({"subject_id": subject_id}).sort("at", DESCENDING).limit(limit)
        return [d async for d in cursor]


class BlockStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[COLLECTION]
        self.audit = AuditLog(db[AUDIT_COLLECTION])
        self._active: dict[tuple[str, str], Block] = {}

    async def reload(self) -> None:
        now = datetime.now(UTC)
        blocks = [Block.from_document(d) async for d in self.collection.find({"lifted_at": None})]
        self._active = {(b.subject_kind, b.subject_id): b for b in blocks if b.active(now)}

    def active_for(self, subject_kind: str, subject_id: str) -> Block | None:
        block = self._active.get((subject_kind, subject_id))
        return block if block is not None and block.active(datetime.now(UTC)) else None

    async def create(
        self,
        subject_kind: str,
        subject_id: str,
        *,
        reason: str,
        actor: str,
        expires_at: datetime | None,
        mode: str = "",
    ) -> Block:
        block = Block(
            block_id=uuid.uuid4().hex,
            subject_kind=subject_kind,
            subject_id=subject_id,
            reason=reason,
            requested_by=actor,
            created_at=datetime.now(UTC),
            expires_at=expires_at,
            mode=mode,
        )
        await self.collection.insert_one(block.document())
        await self.audit.record(
            f"{subject_kind}.blocked" if subject_kind == "token" else "station.quarantined",
            subject_kind,
            subject_id,
            actor,
            block_id=block.block_id,
            reason=reason,
            expires_at=expires_at,
            mode=mode,
        )
        await self.reload()
        return block

    async def get(self, block_id: str) -> Block:
        doc = await self.collection.find_one({"_id": block_id})
        if doc is None:
            raise BlockNotFound(block_id)
        return Block.from_document(doc)

    async def lift(self, block_id: str, *, actor: str, reason: str) -> Block:
        block = await self.get(block_id)
        if block.lifted_at is not None:
            raise BlockAlreadyLifted(block_id)
        lifted = replace(block, lifted_at=datetime.now(UTC))
        await self.collection.replace_one({"_id": block_id, "lifted_at": None}, lifted.document())
        await self.audit.record(
            "block.lifted", block.subject_kind, block.subject_id, actor, block_id=block_id, reason=reason
        )
        await self.reload()
        return lifted

    async def page(
        self, *, subject_kind: str | None, include_lifted: bool, after: str | None, limit: int
    ) -> tuple[list[Block], int]:
        query: Document = {}
        if subject_kind:
            query["subject_kind"] = subject_kind
        if not include_lifted:
            query["lifted_at"] = None
        total = await self.collection.count_documents(query)
        if after:
            query["_id"] = {"$gt": after}
        cursor = self.collection.find(query).sort("_id", 1).limit(limit)
        return [Block.from_document(d) async for d in cursor], total
