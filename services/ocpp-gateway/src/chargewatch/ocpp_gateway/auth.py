"""Who is connecting: the station id from the path, HTTP Basic credentials, and authz's verdict.

The parsing helpers do no I/O. `StationAuthenticator` asks authz with a deadline and turns each
outcome into the HTTP answer and the security event type of a refusal. Passwords never leave
this module except in the request to authz, and are never logged.

A station that reconnects soon after authz accepted it (a network blip, a load balancer restart:
a reconnect storm) is recognised without asking authz again: `AuthenticationCache` remembers,
for a short time, that this station was accepted with these credentials over this kind of
connection. It keeps no password, only an HMAC of it under a key drawn at random by this process
(useless outside it), and only acceptances of stations the registry accepts: a wrong password, an
unknown, quarantined, pending or rejected station always goes to authz (so a registration change
applies at the next connection), and any refusal from authz drops what was remembered. An entry
lives `auth_cache_seconds` from the acceptance and again from the end of the station's session; a
Disconnect through GatewayCommands (how a quarantine takes a station off) forgets it at once, and
a rotated password misses (its HMAC differs) and replaces the entry once authz accepts it.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import logging
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final
from urllib.parse import unquote, urlsplit

import grpc

from chargewatch.ocpp_gateway.events import SecurityEventType
from chargewatch.ocpp_gateway.sessions import StationIdentity
from chargewatch.v1 import authz_pb2, authz_pb2_grpc, common_pb2

log = logging.getLogger(__name__)

# The rule authz applies too: OCPP identities are short and printable.
STATION_ID: Final = re.compile(r"[A-Za-z0-9._:\-]{1,48}")
AUTHENTICATE_STATION: Final = "chargewatch.v1.Authz/AuthenticateStation"

_OUTCOME = authz_pb2.AuthenticateStationResponse


def station_id_from_path(path: str, prefix: str) -> str | None:
    """The station id of `{prefix}/{station_id}` (URL-decoded, query ignored), or None for any other path."""
    head = prefix + "/"
    if path.startswith(head) and STATION_ID.fullmatch(path, len(head)):
        # A plain id (no escape, query or further segment), as stations send it: what the parse below
        # would give, without its cost (a reconnect storm makes thousands of handshakes a second).
        return path[len(head) :]
    raw = urlsplit(path).path
    if not raw.startswith(prefix + "/"):
        return None
    segment = raw[len(prefix) + 1 :]
    if not segment or "/" in segment:
        return None
    try:
        station_id = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        return None
    return station_id if STATION_ID.fullmatch(station_id) else None


def basic_password(authorization: str | None, station_id: str) -> str | None:
    """The password of `Authorization: Basic ...` when its user is `station_id`; else None.

    The user is compared as a prefix of the decoded `user:password` because a station id may
    itself contain ':' (RFC 7617 would split such a user in the wrong place).
    """
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user_prefix = station_id + ":"
    if not decoded.startswith(user_prefix):
        return None
    return decoded[len(user_prefix) :]


def offered_subprotocols(headers: Iterable[str]) -> list[str]:
    """Subprotocols in `Sec-WebSocket-Protocol` header values, in the order offered."""
    return [token.strip() for value in headers for token in value.split(",") if token.strip()]


def choose_subprotocol(offered: Sequence[str], supported: Sequence[str]) -> str | None:
    """Our most preferred subprotocol among those offered (as websockets negotiates it)."""
    offered_set = set(offered)
    return next((p for p in supported if p in offered_set), None)


class Verdict(enum.Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    http_status: HTTPStatus = HTTPStatus.OK
    reason: str = ""
    security_type: str | None = None
    identity: StationIdentity | None = None

    @property
    def accepted(self) -> bool:
        return self.verdict is Verdict.ACCEPTED


def refusal(http_status: HTTPStatus, reason: str, security_type: str | None) -> Decision:
    return Decision(Verdict.REFUSED, http_status, reason, security_type)


# authz outcome -> how the handshake is refused. Unknown station and wrong password get the
# same 401 so the answer does not tell an attacker which station ids exist.
_REFUSALS: Final = {
    _OUTCOME.OUTCOME_UNKNOWN_STATION: refusal(
        HTTPStatus.UNAUTHORIZED, "unknown station", SecurityEventType.UNKNOWN_STATION
    ),
    _OUTCOME.OUTCOME_BAD_CREDENTIALS: refusal(
        HTTPStatus.UNAUTHORIZED, "wrong credentials", SecurityEventType.INVALID_CREDENTIALS
    ),
    _OUTCOME.OUTCOME_PROFILE_TOO_LOW: refusal(
        HTTPStatus.FORBIDDEN, "connection below the station's security profile", SecurityEventType.PROFILE_TOO_LOW
    ),
    _OUTCOME.OUTCOME_QUARANTINED: refusal(
        HTTPStatus.FORBIDDEN, "station is quarantined", SecurityEventType.QUARANTINED_STATION
    ),
}


# Registration statuses whose acceptance is remembered (unspecified means Accepted).
_CACHED_REGISTRATIONS: Final = frozenset(
    {common_pb2.REGISTRATION_STATUS_UNSPECIFIED, common_pb2.REGISTRATION_STATUS_ACCEPTED}
)


def authentication_cache(ttl_seconds: float) -> AuthenticationCache | None:
    """The cache the settings ask for (`auth_cache_seconds`; 0 turns it off)."""
    return AuthenticationCache(ttl_seconds) if ttl_seconds > 0 else None


class AuthenticationCache:
    """Acceptances authz gave recently, to recognise a reconnecting station without asking again.

    Keyed by station: (HMAC-SHA256 of the credentials and connection, identity, expiry). The HMAC
    covers the password, the connection's security profile and its client certificate, so a
    hit needs the very same credentials over the same kind of transport.
    """

    __slots__ = ("_entries", "_key", "max_entries", "ttl_seconds")

    def __init__(self, ttl_seconds: float, *, max_entries: int = 200_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        # Drawn per process: the digests mean nothing outside it (and a restart forgets them all).
        self._key = os.urandom(32)
        self._entries: dict[str, tuple[bytes, StationIdentity, float]] = {}

    def _digest(self, station_id: str, password: str, profile: int, certificate_sha256: str) -> bytes:
        material = "\x00".join((station_id, password, str(profile), certificate_sha256)).encode()
        return hmac.new(self._key, material, hashlib.sha256).digest()

    def get(self, station_id: str, password: str, profile: int, certificate_sha256: str) -> StationIdentity | None:
        entry = self._entries.get(station_id)
        if entry is None:
            return None
        digest, identity, expires = entry
        if time.monotonic() >= expires:
            del self._entries[station_id]
            return None
        if not hmac.compare_digest(digest, self._digest(station_id, password, profile, certificate_sha256)):
            return None
        return identity

    def put(self, identity: StationIdentity, password: str, profile: int, certificate_sha256: str) -> None:
        station_id = identity.station_id
        entries = self._entries
        entries.pop(station_id, None)
        if identity.registration_status not in _CACHED_REGISTRATIONS:
            return  # Pending / Rejected: asked again each time, so an operator's decision applies at once
        if len(entries) >= self.max_entries:
            self._sweep()
        entries[station_id] = (
            self._digest(station_id, password, profile, certificate_sha256),
            identity,
            time.monotonic() + self.ttl_seconds,
        )

    def session_ended(self, station_id: str) -> None:
        """The station's session ended: it may reconnect without authz for another TTL."""
        entry = self._entries.get(station_id)
        if entry is not None:
            self._entries[station_id] = (entry[0], entry[1], time.monotonic() + self.ttl_seconds)

    def forget(self, station_id: str) -> None:
        self._entries.pop(station_id, None)

    def _sweep(self) -> None:
        """Drop expired entries; if that is not enough, the oldest half (insertion order)."""
        now = time.monotonic()
        live = {k: v for k, v in self._entries.items() if v[2] > now}
        if len(live) >= self.max_entries:
            live = dict(list(live.items())[len(live) // 2 :])
        self._entries = live

    def __len__(self) -> int:
        return len(self._entries)


class StationAuthenticator:
    def __init__(
        self,
        authz: authz_pb2_grpc.AuthzAsyncStub,
        deadline_seconds: float,
        cache: AuthenticationCache | None = None,
    ) -> None:
        self.authz = authz
        self.deadline_seconds = deadline_seconds
        self.cache = cache

    async def authenticate(
        self,
        station_id: str,
        password: str,
        *,
        connection_profile: common_pb2.SecurityProfile,
        remote_address: str,
        client_certificate_sha256: str = "",
    ) -> Decision:
        cache = self.cache
        if cache is not None:
            known = cache.get(station_id, password, connection_profile, client_certificate_sha256)
            if known is not None:
                return Decision(Verdict.ACCEPTED, identity=known)
        request = authz_pb2.AuthenticateStationRequest(
            station_id=station_id,
            password=password,
            connection_profile=connection_profile,
            client_certificate_sha256=client_certificate_sha256,
            remote_address=remote_address,
        )
        try:
            reply = await self.authz.AuthenticateStation(request, timeout=self.deadline_seconds)
        except grpc.aio.AioRpcError as error:
            log.warning(
                "authz did not answer the handshake",
                extra={"station_id": station_id, "grpc_code": error.code().name},
            )
            return Decision(Verdict.UNAVAILABLE, HTTPStatus.SERVICE_UNAVAILABLE, "authentication unavailable")
        if reply.outcome == _OUTCOME.OUTCOME_ACCEPTED:
            identity = StationIdentity(
                station_id=station_id,
                # Interned: many stations share a tenant and a site, one copy of each serves them all.
                tenant_id=sys.intern(reply.tenant_id),
                site_id=sys.intern(reply.site_id),
                # The profile this connection runs at (authz refuses one below the registered profile).
                security_profile=connection_profile,
                registration_status=reply.registration_status,
            )
            if cache is not None:
                cache.put(identity, password, connection_profile, client_certificate_sha256)
            return Decision(Verdict.ACCEPTED, identity=identity)
        if cache is not None:
            cache.forget(station_id)
        return _REFUSALS.get(
            reply.outcome,
            refusal(HTTPStatus.UNAUTHORIZED, "authentication refused", SecurityEventType.INVALID_CREDENTIALS),
        )
