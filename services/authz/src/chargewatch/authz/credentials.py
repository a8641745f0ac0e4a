"""Station credentials for the OCPP security profiles.

Passwords (profiles 1 and 2) are generated here, returned once, and stored only as argon2id
hashes. A rotation keeps the previous hash valid until the station is confirmed to have the
new password, so a station is never locked out between the two steps.
"""

from __future__ import annotations

import asyncio
import enum
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from chargewatch.mongo import Document, IndexSpec

COLLECTION = "station_credentials"
INDEXES = [IndexSpec(COLLECTION, [("tenant_id", 1)], name="by_tenant")]

# OCPP 1.6 (AuthorizationKey) and 2.0.1 (BasicAuthPassword) allow 16-40 characters.
PASSWORD_BYTES = 24  # token_urlsafe(24) is 32 characters

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class Profile(enum.IntEnum):
    BASIC = 1
    TLS_BASIC = 2
    MUTUAL_TLS = 3

    @property
    def uses_password(self) -> bool:
        return self is not Profile.MUTUAL_TLS


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    UNKNOWN_STATION = "unknown_station"
    BAD_CREDENTIALS = "bad_credentials"
    PROFILE_TOO_LOW = "profile_too_low"


class StationAlreadyRegistered(Exception):
    pass


class StationNotFound(Exception):
    pass


@dataclass(frozen=True)
class StationIdentity:
    station_id: str
    tenant_id: str
    site_id: str
    profile: Profile


def generate_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash or not password:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_connection(
    record: Document | None, *, password: str, connection_profile: Profile, certificate_sha256: str
) -> Outcome:
    """Decide a connection attempt; pure, so the rules are tested without a database."""
    if record is None:
        return Outcome.UNKNOWN_STATION
    registered = Profile(record["security_profile"])
    # A station can never connect below the profile it is registered for.
    if connection_profile < registered:
        return Outcome.PROFILE_TOO_LOW
    if registered.uses_password and connection_profile is not Profile.MUTUAL_TLS:
        current_ok = verify_password(record.get("password_hash"), password)
        if not current_ok and not verify_password(record.get("previous_password_hash"), password):
            return Outcome.BAD_CREDENTIALS
        return Outcome.ACCEPTED
    fingerprints = record.get("certificate_sha256", [])
    if not certificate_sha256 or certificate_sha256.lower() not in fingerprints:
        return Outcome.BAD_CREDENTIALS
    return Outcome.ACCEPTED


class StationCredentialStore:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def register(self, station_id: str, tenant_id: str, site_id: str, profile: Profile) -> str | None:
        """Create the station's credentials; returns its password (None for profile 3)."""
        password = generate_password() if profile.uses_password else None
        # argon2 is deliberately slow: keep it off the event loop.
        password_hash = await asyncio.to_thread(hash_password, password) if password else None
        now = datetime.now(UTC)
        document: Document = {
            "_id": station_id,
            "tenant_id": tenant_id,
            "site_id": site_id,
            "security_profile": int(profile),
            "password_hash": password_hash,
            "previous_password_hash": None,
            "certificate_sha256": [],
            "created_at": now,
            "updated_at": now,
        }
        try:
            await self.collection.insert_one(document)
        except DuplicateKeyError as exc:
            raise StationAlreadyRegistered(station_id) from exc
        return password

    async def get(self, station_id: str) -> Document | None:
        return await self.collection.find_one({"_id": station_id})

    async def rotate_password(self, station_id: str) -> str:
        record = await self.get(station_id)
        if record is None:
            raise StationNotFound(station_id)
        password = generate_password()
        update: dict[str, Any] = {
            "password_hash": await asyncio.to_thread(hash_password, password),
            "previous_password_hash": record.get("password_hash"),
            "updated_at": datetime.now(UTC),
        }
        await self.collection.update_one({"_id": station_id}, {"$set": update})
        return password

    async def confirm_password(self, station_id: str) -> None:
        """The station now uses the new password: the previous one stops working."""
        result = await self.collection.update_one(
            {"_id": station_id}, {"$set": {"previous_password_hash": None, "updated_at": datetime.now(UTC)}}
        )
        if result.matched_count == 0:
            raise StationNotFound(station_id)

    @staticmethod
    def identity(record: Document) -> StationIdentity:
        return StationIdentity(
            record["_id"], record.get("tenant_id", ""), record.get("site_id", ""), Profile(record["security_profile"])
        )
