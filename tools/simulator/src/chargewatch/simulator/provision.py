"""Registering made-up stations on a local development platform, so `chargewatch-sim --stations N`
runs against `make run` without a fleet file.

Each station is registered the way an operator does it (`POST /v1/stations` on the partner API
with an operator's access token from the identity provider), and its password, returned once,
stays in this process's memory. Station ids carry a tag drawn for the run, so a second run never
collides with stations an earlier one registered (their passwords are gone). Only loopback
addresses are accepted: this is for the development platform, never a real deployment.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Final

from chargewatch.simulator.fleet import StationConfig

DEFAULT_API: Final = "http://127.0.0.1:8080"
DEFAULT_IDP: Final = "http://127.0.0.1:8180/realms/chargewatch"
# The development platform's operator; its password is its name (development only).
DEV_OPERATOR: Final = "operator"
CLI_CLIENT: Final = "chargewatch-cli"
TENANTS: Final = ("partner-a", "partner-b")
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_TIMEOUT_SECONDS: Final = 30.0


class ProvisioningError(ValueError):
    """The development platform did not register the stations (not running, refused, ...)."""


def run_tag() -> str:
    return secrets.token_hex(2).upper()


def _loopback(url: str, what: str) -> None:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host not in _LOOPBACK:
        raise ProvisioningError(
            f"{what} {url} is not a loopback address: stations are registered on a local platform only"
        )


def _post(url: str, data: bytes, headers: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 - checked loopback
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:  # noqa: S310
            body: dict[str, Any] = json.loads(response.read())
            return body
    except urllib.error.HTTPError as error:
        detail = error.read()[:300].decode(errors="replace")
        raise ProvisioningError(f"POST {url}: HTTP {error.code} {detail}") from None
    except (urllib.error.URLError, OSError) as error:
        raise ProvisioningError(f"POST {url}: {error}; is the platform running (make run)?") from None


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
    _loopback(api, "the partner API")
    _loopback(idp, "the identity provider")
    headers = {"Authorization": f"Bearer {operator_token(idp, user, password)}", "Content-Type": "application/json"}

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
