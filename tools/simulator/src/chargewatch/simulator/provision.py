"""Registering made-up stations on a local development platform, so `chargewatch-sim --stations N`
runs against `make run` without a fleet file.

Each station is registered the way an operator does it (`POST /v1/stations` on the partner API
with an operator's access token from the identity provider), and its password, returned once,
stays in this process's memory. The drivers' cards are registered too (`POST /v1/tokens`), dealt
to the tenants in turn; a card registered by an earlier run is already there and is left as it is.
Station ids carry a tag drawn for the run, so a second run never collides with stations an earlier
one registered (their passwords are gone). Only loopback addresses are accepted: this is for the
development platform, never a real deployment.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Final

from chargewatch.simulator.fleet import StationConfig
from chargewatch.simulator.tokens import assign_tenants

DEFAULT_API: Final = "http://127.0.0.1:8080"
DEFAULT_IDP: Final = "http://127.0.0.1:8180/realms/chargewatch"
# The development platform's operator; its password is its name (development only).
DEV_OPERATOR: Final = "operator"
CLI_CLIENT: Final = "chargewatch-cli"
TENANTS: Final = ("partner-a", "partner-b")
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_TIMEOUT_SECONDS: Final = 30.0
# The partner API limits each caller's requests; provisioning a large fleet waits its turn.
_RATE_LIMITED_ATTEMPTS: Final = 5
_MAX_RETRY_AFTER_SECONDS: Final = 60.0


class ProvisioningError(ValueError):
    """The development platform did not register the stations (not running, refused, ...)."""


class Refused(ProvisioningError):
    """The platform answered with an HTTP error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def run_tag() -> str:
    return secrets.token_hex(2).upper()


def _loopback(url: str, what: str) -> None:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host not in _LOOPBACK:
        raise ProvisioningError(
            f"{what} {url} is not a loopback address: stations are registered on a local platform only"
        )


def _post(url: str, data: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """POST and return the JSON answer; a 429 is waited out as its Retry-After says, a few times."""
    for attempt in range(_RATE_LIMITED_ATTEMPTS):
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 - loopback
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:  # noqa: S310
                body: dict[str, Any] = json.loads(response.read())
                return body
        except urllib.error.HTTPError as error:
            detail = error.read()[:300].decode(errors="replace")
            if error.code == 429 and attempt + 1 < _RATE_LIMITED_ATTEMPTS:
                time.sleep(_retry_after(error.headers.get("Retry-After")))
                continue
            raise Refused(f"POST {url}: HTTP {error.code} {detail}", error.code) from None
        except (urllib.error.URLError, OSError) as error:
            raise ProvisioningError(f"POST {url}: {error}; is the platform running (make run)?") from None
    raise AssertionError("unreachable: the last attempt returns or raises")


def _retry_after(header: str | None) -> float:
    """Seconds to wait before asking again: the server's Retry-After, within bounds."""
    try:
        seconds = float(header) if header else 1.0
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.1), _MAX_RETRY_AFTER_SECONDS)


def operator_token(idp: str, user: str, password: str) -> str:
    form = urllib.parse.urlencode(
        {"grant_type": "password", "client_id": CLI_CLIENT, "username": user, "password": password}
    ).encode()
    answer = _post(
        f"{idp.rstrip('/')}/protocol/openid-connect/token",
        form,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    token = answer.get("access_token")
    if not isinstance(token, str):
        raise ProvisioningError("the identity provider returned no access token")
    return token


def _operator_headers(api: str, idp: str, user: str, password: str) -> dict[str, str]:
    _loopback(api, "the partner API")
    _loopback(idp, "the identity provider")
    return {"Authorization": f"Bearer {operator_token(idp, user, password)}", "Content-Type": "application/json"}


def provision(
    stations: Sequence[StationConfig],
    *,
    api: str = DEFAULT_API,
    idp: str = DEFAULT_IDP,
    user: str = DEV_OPERATOR,
    password: str = DEV_OPERATOR,
    concurrency: int = 8,
) -> list[StationConfig]:
    """Register every station (profile 1, tenants alternating) and return them with their passwords."""
    headers = _operator_headers(api, idp, user, password)

    def register(indexed: tuple[int, StationConfig]) -> StationConfig:
        index, station = indexed
        tenant = station.tenant_id or TENANTS[index % len(TENANTS)]
        site = station.site_id or f"sim-{tenant}"
        body = {"id": station.station_id, "tenant_id": tenant, "site_id": site, "security_profile": 1}
        created = _post(f"{api.rstrip('/')}/v1/stations", json.dumps(body).encode(), headers)
        secret = created.get("password")
        if not isinstance(secret, str) or not secret:
            raise ProvisioningError(f"{station.station_id}: the platform returned no password")
        return replace(station, password=secret, tenant_id=tenant, site_id=site)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(register, enumerate(stations)))


def provision_tokens(
    tokens: Sequence[str],
    *,
    api: str = DEFAULT_API,
    idp: str = DEFAULT_IDP,
    user: str = DEV_OPERATOR,
    password: str = DEV_OPERATOR,
    tenants: Sequence[str] = TENANTS,
    concurrency: int = 8,
) -> dict[str, str]:
    """Register the drivers' cards (RFID, active), dealt to `tenants` in turn; returns each card's tenant.

    A card already registered (HTTP 409: an earlier run's, dealt the same way) is left as it is.
    """
    headers = _operator_headers(api, idp, user, password)
    dealt = assign_tenants(tokens, tenants)

    def register(uid: str) -> None:
        body = {"id_token": uid, "id_token_type": "ISO14443", "tenant_id": dealt[uid]}
        try:
            _post(f"{api.rstrip('/')}/v1/tokens", json.dumps(body).encode(), headers)
        except Refused as refused:
            if refused.status != 409:
                raise

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(register, tokens))
    return dealt
