"""Driver tokens: RFID uids, app tokens and eMAIDs, and where their records live.

Where the records live (the decision issue 4 asked for): authz's own MongoDB collection
`driver_tokens` holds each token's type, tenant, status, expiry and OCPP group; Keycloak holds who
the token belongs to. A token is linked either to a Keycloak user, whose multivalued `id_tokens`
attribute lists it as "<type>:<uid>" (so Keycloak's console shows a driver's cards and a protocol
mapper can put them in the driver's app token), or to a fleet, a Keycloak group whose `tenant_id`
attribute must match the token's. Keycloak stays the source of truth for the link and the
user's state: a disabled user's tokens are Blocked, a token whose user or fleet is gone or whose
link was removed in Keycloak is Invalid. Redis only caches the resolved result (`cache.py`).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from chargewatch.mongo import Document, IndexSpec

COLLECTION = "driver_tokens"
INDEXES = [
    IndexSpec(COLLECTION, [("tenant_id", 1)], name="by_tenant"),
    IndexSpec(COLLECTION, [("fleet", 1)], name="by_fleet"),
]

# OCPP 2.0.1 IdTokenEnumType values a driver token can have (NoAuthorization/Local/MacAddress are
# not driver tokens), and the lengths OCPP allows: idToken is at most 36 characters (20 in 1.6).
RFID_TYPES = ("ISO14443", "ISO15693")
EMAID_TYPE = "eMAID"
KEYCODE_TYPE = "KeyCode"  # a PIN: never logged or published in clear
TOKEN_TYPES = frozenset({*RFID_TYPES, "Central", KEYCODE_TYPE, EMAID_TYPE})
_UID = re.compile(r"^[0-9A-Fa-f]{8,20}$")  # ISO14443/15693: 4, 7 or 10 byte uids (15693: 8 bytes)
_EMAID = re.compile(r"^[A-Za-z]{2}-?[A-Za-z0-9]{3}-?[A-Za-z0-9]{9}-?[A-Za-z0-9]?$")  # ISO 15118 eMAID
_APP = re.compile(r"^[A-Za-z0-9._\-]{1,36}$")
GROUP_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,36}$")
FLEET = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class TokenStatus(enum.StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    EXPIRED = "expired"


class InvalidToken(ValueError):
    """The token's fields are not acceptable; the message says which, without echoing secrets."""


class TokenExists(Exception):
    pass


class TokenNotFound(Exception):
    pass


def normalise(id_token: str, id_token_type: str) -> tuple[str, str]:
    """Check a token's syntax and return its canonical (uid, type); 1.6 tokens come as ISO14443."""
    token_type = id_token_type or "ISO14443"
    if token_type not in TOKEN_TYPES:
        raise InvalidToken(f"id_token_type must be one of {', '.join(sorted(TOKEN_TYPES))}")
    if token_type in RFID_TYPES:
        if not _UID.match(id_token):
            raise InvalidToken("an RFID uid is 8-20 hexadecimal characters")
        return id_token.upper(), token_type
    if token_type == EMAID_TYPE:
        if not _EMAID.match(id_token):
            raise InvalidToken("an eMAID looks like NL-TNM-000122045-X (ISO 15118)")
        return id_token.upper().replace("-", ""), token_type
    if not _APP.match(id_token):
        raise InvalidToken("an app token is 1-36 of [A-Za-z0-9._-]")
    return id_token, token_type


def token_key(id_token: str, id_token_type: str) -> str:
    """The record's id and cache key: "<type>:<uid>" of the normalised token."""
    return f"{id_token_type}:{id_token}"


def token_ref(id_token: str) -> str:
    """A short digest naming a token in logs: app tokens (KeyCode) are secrets and are never logged."""
    return base64.b32encode(hashlib.sha256(id_token.encode()).digest()[:10]).decode().lower()


@dataclass(frozen=True)
class DriverToken:
    id_token: str
    id_token_type: str
    tenant_id: str
    status: TokenStatus = TokenStatus.ACTIVE
    expires_at: datetime | None = None
    group_id: str = ""
    user_id: str = ""
    fleet: str = ""
    reason: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def key(self) -> str:
        return token_key(self.id_token, self.id_token_type)

    def effective_status(self, now: datetime) -> TokenStatus:
        if self.status is TokenStatus.ACTIVE and self.expires_at is not None and self.expires_at <= now:
            return TokenStatus.EXPIRED
        return self.status

    def document(self) -> Document:
        return {
            "_id": self.key,
            "id_token": self.id_token,
            "id_token_type": self.id_token_type,
            "tenant_id": self.tenant_id,
            "status": self.status.value,
            "expires_at": self.expires_at,
            "group_id": self.group_id,
            "user_id": self.user_id,
            "fleet": self.fleet,
            "reason": self.reason,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_document(cls, doc: Document) -> DriverToken:
        return cls(
            id_token=doc["id_token"],
            id_token_type=doc["id_token_type"],
            tenant_id=doc["tenant_id"],
            status=TokenStatus(doc.get("status", "active")),
            expires_at=doc.get("expires_at"),
            group_id=doc.get("group_id") or "",
            user_id=doc.get("user_id") or "",
            fleet=doc.get("fleet") or "",
            reason=doc.get("reason") or "",
            created_at=doc.get("created_at") or datetime.now(UTC),
            updated_at=doc.get("updated_at") or datetime.now(UTC),
        )


class TokenStore:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create(self, token: DriverToken) -> DriverToken:
        try:
            await self.collection.insert_one(token.document())
        except DuplicateKeyError as exc:
            raise TokenExists(token.key) from exc
        return token

    async def get(self, key: str) -> DriverToken | None:
        doc = await self.collection.find_one({"_id": key})
        return DriverToken.from_document(doc) if doc else None

    async def require(self, key: str) -> DriverToken:
        token = await self.get(key)
        if token is None:
            raise TokenNotFound(key)
        return token

    async def update(self, token: DriverToken, **changes: Any) -> DriverToken:
        updated = replace(token, **changes, updated_at=datetime.now(UTC))
        # A whole-document replace: nx-27017 stores datetimes given to $set as strings.
        result = await self.collection.replace_one({"_id": token.key}, updated.document())
        if result.matched_count == 0:
            raise TokenNotFound(token.key)
        return updated

    async def page(
        self, *, tenant_id: str | None, status: str | None, fleet: str | None, after: str | None, limit: int
    ) -> tuple[list[DriverToken], int]:
        """One page ordered by key, starting after the cursor key; and the total matching."""
        query: Document = {}
        if tenant_id:
            query["tenant_id"] = tenant_id
        if status:
            query["status"] = status
        if fleet:
            query["fleet"] = fleet
        total = await self.collection.count_documents(query)
        if after:
            query["_id"] = {"$gt": after}
        cursor = self.collection.find(query).sort("_id", ASCENDING).limit(limit)
        return [DriverToken.from_document(d) async for d in cursor], total

    async def active_for_tenant(self, tenant_id: str) -> list[DriverToken]:
        cursor = self.collection.find({"tenant_id": tenant_id, "status": TokenStatus.ACTIVE.value})
        return [DriverToken.from_document(d) async for d in cursor]
