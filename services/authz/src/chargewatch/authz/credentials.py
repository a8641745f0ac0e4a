"""Station credentials for the OCPP security profiles.

Passwords (profiles 1 and 2) are generated here, returned once, and stored only as argon2id
hashes. A rotation keeps the previous hash valid until the station is confirmed to have the
new password, so a station is never locked out between the two steps.

argon2id costs tens of milliseconds of CPU per check by design, and every reconnect of every
station is a check: a gateway restart with 10,000 stations would be minutes of hashing.
`VerifiedPasswords` remembers, in this process's memory only, which password matched which stored
hash, as an HMAC under a key drawn when the process starts: a station reconnecting with the same
password is recognised in microseconds, nothing it holds outlives the process or helps an
offline guess, and a changed hash (a rotation) is never matched from it. Wrong passwords always
pay the full argon2 price.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from chargewatch.mongo import Document, IndexSpec

COLLECTION = "station_credentials"
CERTIFICATES = "client_certificates"
INDEXES = [
    IndexSpec(COLLECTION, [("tenant_id", 1)], name="by_tenant"),
    IndexSpec(COLLECTION, [("site_id", 1)], name="by_site"),
    IndexSpec(CERTIFICATES, [("station_id", 1)], name="by_station"),
]
REGISTRATION_STATUSES = ("Accepted", "Pending", "Rejected")

# OCPP 1.6 (AuthorizationKey) and 2.0.1 (BasicAuthPassword) allow 16-40 characters.
PASSWORD_BYTES = 24  # token_urlsafe(24) is 32 characters

# argon2id at OWASP's first recommended setting (19 MiB, 2 passes, 1 lane): about 40 ms of one
# core per check here, against about 260 ms (4 lanes of 64 MiB) for the library's defaults. The
# passwords are 192-bit random strings, so what the slow hash defends (a leaked database) stays
# out of reach either way, while every station login pays the cost. Hashes made with other
# parameters carry them and still verify.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
P = ParamSpec("P")
R = TypeVar("R")


def default_hash_threads() -> int:
    """Half the cores this process may use (at least one): hashing must leave the event loop a core."""
    return max(1, len(os.sched_getaffinity(0)) // 2)


class HashingBusy(Exception):
    """The checks queued ahead would take longer than the queue may hold: refused at once."""


# Seconds of checks the hashing queue may hold. A station refused with 503 comes back after the
# gateway's Retry-After (1-5 s): a check that ends within that time answers its retry from memory.
DEFAULT_QUEUE_SECONDS = 5.0


def _positive(queue_seconds: float) -> float:
    if queue_seconds <= 0:
        raise ValueError("queue_seconds must be positive")
    return queue_seconds


class PasswordHashing:
    """The threads that run argon2, first come first served, and admission to their queue.

    More threads than cores only slow every check down together, so checks queue. A check is
    worth finishing even after its caller gave up: a password that matched is remembered
    (`VerifiedPasswords`), so the station's retry a few seconds later is let in without a hash.
    Refusing a check because this caller's deadline is near (most of it may have gone in transit
    on a busy machine) would leave the hashing threads idle while every attempt of every station
    fails the same way. So what admission bounds is the queue: a check is refused at once
    (`HashingBusy`) when the checks ahead would take longer than `queue_seconds`, and one that
    waited `queue_seconds` past its caller's deadline (the estimate was wrong; the retry came and
    went) is skipped unstarted (`DeadlinePassed`). Its time per check is a moving average.
    """

    def __init__(self, threads: int | None = None, *, queue_seconds: float = DEFAULT_QUEUE_SECONDS) -> None:
        self.threads = threads or default_hash_threads()
        self.queue_seconds = _positive(queue_seconds)
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="argon2")
        self._pending = 0
        self.seconds_per_check = 0.05

    def configure(self, threads: int | None, *, queue_seconds: float | None = None) -> None:
        """Use `threads` hashing threads (None or 0: half the cores) and, if given, hold at most
        `queue_seconds` of checks, from now on."""
        if queue_seconds is not None:
            self.queue_seconds = _positive(queue_seconds)
        wanted = threads or default_hash_threads()
        if wanted != self.threads:
            previous, self._pool = self._pool, ThreadPoolExecutor(max_workers=wanted, thread_name_prefix="argon2")
            self.threads = wanted
            previous.shutdown(wait=False)

    def expected_wait(self) -> float:
        return self._pending / self.threads * self.seconds_per_check

    def _timed(self, deadline: float | None, function: Callable[[], R]) -> R:
        if deadline is not None and time.monotonic() >= deadline + self.queue_seconds:
            raise DeadlinePassed
        started = time.perf_counter()
        try:
            return function()
        finally:
            # A float assignment is atomic under the GIL; an approximate average is all it needs.
            self.seconds_per_check = 0.8 * self.seconds_per_check + 0.2 * (time.perf_counter() - started)

    async def run(self, deadline: float | None, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run `function` on a hashing thread; with a monotonic `deadline` (a caller's), refused at
        once when the queue is full and skipped when it waited too long past the deadline."""
        if deadline is not None and self.expected_wait() + self.seconds_per_check > self.queue_seconds:
            raise HashingBusy
        call = functools.partial(function, *args, **kwargs)
        future = asyncio.get_running_loop().run_in_executor(self._pool, self._timed, deadline, call)
        self._pending += 1
        future.add_done_callback(self._finished)
        # Shielded: a caller that gives up (its RPC cancelled at the deadline) leaves the check to
        # finish, so that a password that matched is remembered for the station's retry.
        return await asyncio.shield(future)

    def _finished(self, future: asyncio.Future[Any]) -> None:
        self._pending -= 1
        if not future.cancelled():
            future.exception()  # retrieved: nobody may be awaiting a check whose caller gave up


HASHING = PasswordHashing()


async def off_loop(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a password hash on the hashing threads, off the event loop, however long the queue."""
    return await HASHING.run(None, function, *args, **kwargs)


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


class InvalidCertificate(ValueError):
    pass


class CertificateNotFound(Exception):
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


class VerifiedPasswords:
    """(stored hash, password) pairs that verified recently, as keyed digests; bounded and expiring.

    Thread-safe: checks run in worker threads (argon2 must stay off the event loop).
    """

    def __init__(self, capacity: int = 200_000, ttl_seconds: float = 3600.0) -> None:
        if capacity < 1 or ttl_seconds <= 0:
            raise ValueError("capacity and ttl_seconds must be positive")
        self.capacity = capacity
        self.ttl_seconds = ttl_seconds
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, float] = OrderedDict()  # digest -> monotonic expiry
        self._lock = threading.Lock()

    def _digest(self, password_hash: str, password: str) -> bytes:
        return hmac.new(self._key, f"{password_hash}\x00{password}".encode(), hashlib.sha256).digest()

    def known(self, password_hash: str, password: str) -> bool:
        digest = self._digest(password_hash, password)
        with self._lock:
            expiry = self._entries.get(digest)
            if expiry is None:
                return False
            if expiry < time.monotonic():
                del self._entries[digest]
                return False
            return True

    def remember(self, password_hash: str, password: str) -> None:
        digest = self._digest(password_hash, password)
        with self._lock:
            self._entries.pop(digest, None)
            self._entries[digest] = time.monotonic() + self.ttl_seconds
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def verify_password(password_hash: str | None, password: str, verified: VerifiedPasswords | None = None) -> bool:
    if not password_hash or not password:
        return False
    if verified is not None and verified.known(password_hash, password):
        return True
    try:
        matches = _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if matches and verified is not None:
        verified.remember(password_hash, password)
    return matches


@dataclass(frozen=True)
class ConnectionCheck:
    outcome: Outcome
    # The station used its new password while the previous one was still valid: the rotation is done.
    completes_rotation: bool = False


def check_connection(
    record: Document | None,
    *,
    password: str,
    connection_profile: Profile,
    certificate_sha256: str,
    certificate: Document | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Decide a connection attempt; pure, so the rules are tested without a database."""
    return check_connection_detail(
        record,
        password=password,
        connection_profile=connection_profile,
        certificate_sha256=certificate_sha256,
        certificate=certificate,
        now=now,
    ).outcome


def check_connection_detail(
    record: Document | None,
    *,
    password: str,
    connection_profile: Profile,
    certificate_sha256: str,
    certificate: Document | None = None,
    now: datetime | None = None,
    verified: VerifiedPasswords | None = None,
) -> ConnectionCheck:
    if record is None:
        return ConnectionCheck(Outcome.UNKNOWN_STATION)
    registered = Profile(record["security_profile"])
    # A station can never connect below the profile it is registered for.
    if connection_profile < registered:
        return ConnectionCheck(Outcome.PROFILE_TOO_LOW)
    if registered.uses_password and connection_profile is not Profile.MUTUAL_TLS:
        if verify_password(record.get("password_hash"), password, verified):
            return ConnectionCheck(Outcome.ACCEPTED, completes_rotation=bool(record.get("previous_password_hash")))
        if verify_password(record.get("previous_password_hash"), password, verified):
            return ConnectionCheck(Outcome.ACCEPTED)
        return ConnectionCheck(Outcome.BAD_CREDENTIALS)
    fingerprints = record.get("certificate_sha256", [])
    if not certificate_sha256 or certificate_sha256.lower() not in fingerprints:
        return ConnectionCheck(Outcome.BAD_CREDENTIALS)
    if certificate is not None and not certificate_valid(certificate, now or datetime.now(UTC)):
        return ConnectionCheck(Outcome.BAD_CREDENTIALS)
    return ConnectionCheck(Outcome.ACCEPTED)


def remembered_connection_check(
    record: Document | None,
    *,
    password: str,
    connection_profile: Profile,
    verified: VerifiedPasswords,
) -> ConnectionCheck | None:
    """The decision when it needs no argon2 (unknown station, profile too low, a remembered
    password); None when the password must be checked the slow way (`check_connection_detail`)."""
    if record is None:
        return ConnectionCheck(Outcome.UNKNOWN_STATION)
    registered = Profile(record["security_profile"])
    if connection_profile < registered:
        return ConnectionCheck(Outcome.PROFILE_TOO_LOW)
    if not registered.uses_password or connection_profile is Profile.MUTUAL_TLS or not password:
        return None
    current, previous = record.get("password_hash"), record.get("previous_password_hash")
    if current and verified.known(current, password):
        return ConnectionCheck(Outcome.ACCEPTED, completes_rotation=bool(previous))
    if previous and verified.known(previous, password):
        return ConnectionCheck(Outcome.ACCEPTED)
    return None


class DeadlinePassed(Exception):
    """The check waited for a hashing thread until its caller's retry was due too: it was not run."""


def certificate_valid(certificate: Document, now: datetime) -> bool:
    if certificate.get("revoked_at") is not None:
        return False
    return bool(certificate["not_before"] <= now < certificate["not_after"])


def parse_certificate(pem: str) -> Document:
    """Fingerprint, subject and validity of a PEM certificate (the registry's record of it)."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise InvalidCertificate("certificate_pem is not a PEM X.509 certificate") from exc
    return {
        "_id": cert.fingerprint(hashes.SHA256()).hex(),
        "subject": cert.subject.rfc4514_string(),
        "not_before": cert.not_valid_before_utc,
        "not_after": cert.not_valid_after_utc,
        "revoked_at": None,
        "revocation_reason": "",
    }


class StationCredentialStore:
    def __init__(
        self,
        collection: AsyncCollection[Document],
        certificates: AsyncCollection[Document] | None = None,
        *,
        initial_registration: str = "Accepted",
    ) -> None:
        self.collection = collection
        self.certificates = certificates if certificates is not None else collection.database[CERTIFICATES]
        self.initial_registration = initial_registration
        # Passwords that matched their stored hash lately, as keyed digests. A password made here
        # is remembered with its hash at once: the station's first login then costs an HMAC, not a
        # second argon2id run (a fleet's first logins would otherwise queue on the hashing threads).
        self.verified = VerifiedPasswords()

    async def register(self, station_id: str, tenant_id: str, site_id: str, profile: Profile) -> str | None:
        """Create the station's credentials; returns its password (None for profile 3)."""
        password = generate_password() if profile.uses_password else None
        # argon2 is deliberately slow: keep it off the event loop.
        password_hash = await off_loop(hash_password, password) if password else None
        now = datetime.now(UTC)
        document: Document = {
            "_id": station_id,
            "tenant_id": tenant_id,
            "site_id": site_id,
            "security_profile": int(profile),
            "password_hash": password_hash,
            "previous_password_hash": None,
            "certificate_sha256": [],
            "registration_status": self.initial_registration,
            "created_at": now,
            "updated_at": now,
        }
        try:
            await self.collection.insert_one(document)
        except DuplicateKeyError as exc:
            raise StationAlreadyRegistered(station_id) from exc
        if password and password_hash:
            self.verified.remember(password_hash, password)
        return password

    async def get(self, station_id: str) -> Document | None:
        return await self.collection.find_one({"_id": station_id})

    async def rotate_password(self, station_id: str) -> str:
        password, _ = await self.begin_rotation(station_id)
        return password

    async def begin_rotation(self, station_id: str) -> tuple[str, Document]:
        """A new current password; the old one stays valid as the previous. Returns it and the old record."""
        record = await self.get(station_id)
        if record is None:
            raise StationNotFound(station_id)
        password = generate_password()
        password_hash = await off_loop(hash_password, password)
        update: dict[str, Any] = {
            "password_hash": password_hash,
            "previous_password_hash": record.get("password_hash"),
            "updated_at": datetime.now(UTC),
        }
        await self.collection.update_one({"_id": station_id}, {"$set": update})
        # Remembered with its hash: an aborted rotation puts the old hash back, and then this
        # entry matches nothing (it is keyed by the hash as well as the password).
        self.verified.remember(password_hash, password)
        return password, record

    async def abort_rotation(self, station_id: str, before: Document) -> None:
        """The station did not take the new password: put the record's hashes back as they were."""
        await self.collection.update_one(
            {"_id": station_id},
            {
                "$set": {
                    "password_hash": before.get("password_hash"),
                    "previous_password_hash": before.get("previous_password_hash"),
                    "updated_at": datetime.now(UTC),
                }
            },
        )

    async def set_registration(self, station_id: str, status: str) -> None:
        if status not in REGISTRATION_STATUSES:
            raise ValueError(status)
        result = await self.collection.update_one(
            {"_id": station_id}, {"$set": {"registration_status": status, "updated_at": datetime.now(UTC)}}
        )
        if result.matched_count == 0:
            raise StationNotFound(station_id)

    async def at_site(self, site_id: str) -> list[Document]:
        return [d async for d in self.collection.find({"site_id": site_id})]

    # -- client certificates (profile 3) -------------------------------------------------------
    async def register_certificate(self, station_id: str, pem: str) -> Document:
        record = await self.get(station_id)
        if record is None:
            raise StationNotFound(station_id)
        certificate = parse_certificate(pem) | {"station_id": station_id, "registered_at": datetime.now(UTC)}
        await self.certificates.replace_one({"_id": certificate["_id"]}, certificate, upsert=True)
        fingerprints = [f for f in record.get("certificate_sha256", []) if f != certificate["_id"]]
        await self.collection.update_one(
            {"_id": station_id}, {"$set": {"certificate_sha256": [*fingerprints, certificate["_id"]]}}
        )
        return certificate

    async def revoke_certificate(self, fingerprint: str, reason: str) -> Document:
        certificate = await self.certificates.find_one({"_id": fingerprint.lower()})
        if certificate is None:
            raise CertificateNotFound(fingerprint)
        certificate["revoked_at"] = datetime.now(UTC)
        certificate["revocation_reason"] = reason
        await self.certificates.replace_one({"_id": certificate["_id"]}, certificate)
        record = await self.get(certificate["station_id"])
        if record is not None:
            kept = [f for f in record.get("certificate_sha256", []) if f != certificate["_id"]]
            await self.collection.update_one({"_id": record["_id"]}, {"$set": {"certificate_sha256": kept}})
        return certificate

    async def certificate(self, fingerprint: str) -> Document | None:
        return await self.certificates.find_one({"_id": fingerprint.lower()})

    async def certificates_of(self, station_id: str) -> list[Document]:
        return [d async for d in self.certificates.find({"station_id": station_id})]

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
