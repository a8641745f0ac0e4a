"""Every gRPC server authenticates its caller (docs/architecture.md, "Who calls whom").

The development platform runs with the checks on and the development identity provider: telemetry,
sla-engine, security-monitor and the gateway's GatewayCommands each refuse a call without a token or
with a forged or expired one, confine an end user to what the token grants whatever the request
claims, and serve the `chargewatch-services` account, which may act on behalf of a named end user.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import redis.asyncio as aioredis
from grpc_health.v1 import health_pb2, health_pb2_grpc

from chargewatch.auth import AccessTokenValidator, CallerAuthenticator
from chargewatch.devstack.platform import SERVICES_CLIENT_SECRET, Platform, PlatformConfig, Ports
from chargewatch.rpc import CallerAuthentication, GrpcServer
from chargewatch.v1 import (
    authz_pb2_grpc,
    common_pb2,
    gateway_pb2,
    gateway_pb2_grpc,
    security_pb2,
    security_pb2_grpc,
    sla_pb2,
    sla_pb2_grpc,
    telemetry_pb2,
    telemetry_pb2_grpc,
)
from tests.conftest import stop_platform
from tests.integration.ocpp_gateway.conftest import FakeAuthz, Station, gateway_settings, running_gateway
from tests.integration.ocpp_gateway.test_ownership import station_on

pytestmark = pytest.mark.integration

SERVICES_SECRET = SERVICES_CLIENT_SECRET
# What a partner-a user may claim in a request to widen its rights.
OPERATOR_CLAIM = common_pb2.Principal(subject="someone-else", roles=["operator"])
PARTNER_B_CLAIM = common_pb2.Principal(subject="partner-b", roles=["partner"], tenant_id="partner-b")
STATION_A, STATION_B = "CW-A-0001", "CW-B-0001"


class Tokens:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._cache: dict[str, str] = {}

    def user(self, name: str) -> str:
        if name not in self._cache:
            self._cache[name] = self.platform.token(name)
        return self._cache[name]

    def services(self) -> str:
        if "services" not in self._cache:
            self._cache["services"] = self.platform.services_token()
        return self._cache["services"]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    run_dir: Path = tmp_path_factory.mktemp("caller-tokens")
    # Two stations (one per tenant) connected through the simulator, so the gateway has sessions.
    running = Platform(PlatformConfig(run_dir=run_dir, ports=Ports.free(), stations=2, status_change_every=5.0))
    running.start()
    try:
        yield running
    finally:
        stop_platform(running)


@pytest.fixture(scope="module")
def tokens(platform: Platform) -> Tokens:
    return Tokens(platform)


@pytest.fixture(scope="module")
def short_lived(platform: Platform) -> tuple[str, float]:
    """A partner-a token of the development realm's 3-second client, and when it expires (taken with the
    first channels, so the module's other tests run while it expires)."""
    reply = httpx.post(
        platform.token_url,
        data={
            "grant_type": "password",
            "client_id": "chargewatch-short-lived",
            "username": "partner-a",
            "password": "partner-a",
        },
        timeout=10,
    )
    reply.raise_for_status()
    token = str(reply.json()["access_token"])
    return token, float(_claims(token)["exp"])


@pytest.fixture(scope="module")
def channels(platform: Platform, short_lived: tuple[str, float]) -> Iterator[dict[str, grpc.Channel]]:
    ports = platform.config.ports
    opened = {
        "telemetry": grpc.insecure_channel(f"127.0.0.1:{ports.telemetry_grpc}"),
        "sla-engine": grpc.insecure_channel(f"127.0.0.1:{ports.sla_grpc}"),
        "security-monitor": grpc.insecure_channel(f"127.0.0.1:{ports.security_grpc}"),
        "ocpp-gateway": grpc.insecure_channel(f"127.0.0.1:{ports.gateway_grpc}"),
    }
    yield opened
    for channel in opened.values():
        channel.close()


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _tampered(token: str) -> str:
    """The token with its claims rewritten (operator, partner-b) and its original signature."""
    header, _, signature = token.split(".")
    claims = _claims(token) | {"tenant_id": "partner-b", "realm_access": {"roles": ["operator"]}}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


def _bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


# One representative call per server, with the principal the request names (None: the field left empty).
Call = Callable[[dict[str, grpc.Channel], common_pb2.Principal | None, Any], Any]


def _telemetry_list(channels: dict[str, grpc.Channel], principal: common_pb2.Principal | None, metadata: Any) -> Any:
    stub = telemetry_pb2_grpc.TelemetryStub(channels["telemetry"])
    return stub.ListStations(telemetry_pb2.ListStationsRequest(principal=principal), metadata=metadata, timeout=10)


def _sla_ports(channels: dict[str, grpc.Channel], principal: common_pb2.Principal | None, metadata: Any) -> Any:
    stub = sla_pb2_grpc.SlaStub(channels["sla-engine"])
    return stub.ListPortStates(sla_pb2.ListPortStatesRequest(principal=principal), metadata=metadata, timeout=10)


def _security_policies(channels: dict[str, grpc.Channel], principal: common_pb2.Principal | None, metadata: Any) -> Any:
    stub = security_pb2_grpc.SecurityStub(channels["security-monitor"])
    request = security_pb2.ListResponsePoliciesRequest(principal=principal)
    return stub.ListResponsePolicies(request, metadata=metadata, timeout=10)


def _gateway_connection(
    channels: dict[str, grpc.Channel], principal: common_pb2.Principal | None, metadata: Any
) -> Any:
    stub = gateway_pb2_grpc.GatewayCommandsStub(channels["ocpp-gateway"])
    return stub.GetConnection(gateway_pb2.GetConnectionRequest(station_id=STATION_A), metadata=metadata, timeout=10)


CALLS: dict[str, Call] = {
    "telemetry": _telemetry_list,
    "sla-engine": _sla_ports,
    "security-monitor": _security_policies,
    "ocpp-gateway": _gateway_connection,
}


def _code(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    error: Any = raised.value
    return error.code(), error.details() or ""


def _eventually(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.5)


@pytest.mark.parametrize("server", list(CALLS))
def test_a_call_without_a_token_is_unauthenticated(channels: dict[str, grpc.Channel], server: str) -> None:
    code, details = _code(lambda: CALLS[server](channels, OPERATOR_CLAIM, ()))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "bearer access token is required" in details
    # Not a bearer token either.
    code, _ = _code(lambda: CALLS[server](channels, OPERATOR_CLAIM, (("authorization", "Basic b3A6b3A="),)))
    assert code == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("server", list(CALLS))
def test_a_forged_token_is_unauthenticated(channels: dict[str, grpc.Channel], tokens: Tokens, server: str) -> None:
    forged = _tampered(tokens.user("partner-a"))
    code, details = _code(lambda: CALLS[server](channels, OPERATOR_CLAIM, _bearer(forged)))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "signature invalid" in details
    code, details = _code(lambda: CALLS[server](channels, OPERATOR_CLAIM, _bearer("not.a.jwt")))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "malformed" in details


@pytest.mark.parametrize("server", list(CALLS))
def test_health_stays_open(channels: dict[str, grpc.Channel], server: str) -> None:
    reply = health_pb2_grpc.HealthStub(channels[server]).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_telemetry_confines_a_partner_to_its_token(channels: dict[str, grpc.Channel], tokens: Tokens) -> None:
    services = _bearer(tokens.services())
    everything = _telemetry_list(channels, None, services)
    assert {s.tenant_id for s in everything.stations} == {"partner-a", "partner-b"}

    partner_a = _bearer(tokens.user("partner-a"))
    for claim in (OPERATOR_CLAIM, PARTNER_B_CLAIM, None):
        seen = _telemetry_list(channels, claim, partner_a)
        assert seen.stations and {s.tenant_id for s in seen.stations} == {"partner-a"}, claim
    stub = telemetry_pb2_grpc.TelemetryStub(channels["telemetry"])
    code, _ = _code(
        lambda: stub.GetStation(
            telemetry_pb2.GetStationRequest(principal=PARTNER_B_CLAIM, station_id=STATION_B),
            metadata=partner_a,
            timeout=10,
        )
    )
    assert code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED)
    # The service account acts on behalf of the end user it names: that user's scope, not its own.
    on_behalf = _telemetry_list(channels, PARTNER_B_CLAIM, services)
    assert on_behalf.stations and {s.tenant_id for s in on_behalf.stations} == {"partner-b"}


def test_sla_engine_confines_a_partner_to_its_token(channels: dict[str, grpc.Channel], tokens: Tokens) -> None:
    services = _bearer(tokens.services())
    # The engine learns the ports from the stations' status reports.
    _eventually(lambda: {p.tenant_id for p in _sla_ports(channels, None, services).ports} >= {"partner-a", "partner-b"})
    # Their sites come from telemetry, which the engine calls with its own client-credentials token.
    # (a port takes its site at its next status change after the lookup).
    _eventually(lambda: all(p.site_id for p in _sla_ports(channels, None, services).ports))
    partner_a = _bearer(tokens.user("partner-a"))
    for claim in (OPERATOR_CLAIM, PARTNER_B_CLAIM):
        seen = _sla_ports(channels, claim, partner_a)
        assert seen.ports and {p.tenant_id for p in seen.ports} == {"partner-a"}, claim
    stub = sla_pb2_grpc.SlaStub(channels["sla-engine"])
    asked_for_b = stub.ListPortStates(
        sla_pb2.ListPortStatesRequest(principal=OPERATOR_CLAIM, tenant_id="partner-b"), metadata=partner_a, timeout=10
    )
    assert not asked_for_b.ports
    # An operator action claimed by a partner.
    profile = sla_pb2.UpsertSiteProfileRequest(principal=OPERATOR_CLAIM)
    profile.profile.site_id = "ams-centraal"
    code, _ = _code(lambda: stub.UpsertSiteProfile(profile, metadata=partner_a, timeout=10))
    assert code == grpc.StatusCode.PERMISSION_DENIED


def test_security_monitor_confines_a_partner_to_its_token(
    platform: Platform, channels: dict[str, grpc.Channel], tokens: Tokens
) -> None:
    # The monitor lists the stations from telemetry as soon as it leads (long before this test), with its
    # own client-credentials token; a refused listing would be logged as a warning.
    assert "could not list stations from telemetry" not in (platform.log_dir / "security-monitor.log").read_text()
    partner_a = _bearer(tokens.user("partner-a"))
    code, details = _code(lambda: _security_policies(channels, OPERATOR_CLAIM, partner_a))
    assert code == grpc.StatusCode.PERMISSION_DENIED, details
    assert _security_policies(channels, None, _bearer(tokens.services())) is not None
    assert _security_policies(channels, None, _bearer(tokens.user("operator"))) is not None
    stub = security_pb2_grpc.SecurityStub(channels["security-monitor"])
    rules = stub.ListRules(security_pb2.ListRulesRequest(principal=PARTNER_B_CLAIM), metadata=partner_a, timeout=10)
    assert rules.rules  # a partner may read the catalogue


def test_gateway_confines_a_partner_to_its_token(channels: dict[str, grpc.Channel], tokens: Tokens) -> None:
    stub = gateway_pb2_grpc.GatewayCommandsStub(channels["ocpp-gateway"])
    services = _bearer(tokens.services())
    partner_a = _bearer(tokens.user("partner-a"))

    def connection(station: str, metadata: Any) -> Any:
        return stub.GetConnection(gateway_pb2.GetConnectionRequest(station_id=station), metadata=metadata, timeout=10)

    # Both stations connect through the simulator; the service account sees either.
    _eventually(lambda: _connected(lambda: connection(STATION_A, services)))
    _eventually(lambda: _connected(lambda: connection(STATION_B, services)))
    assert connection(STATION_A, partner_a).station_id == STATION_A
    code, _ = _code(lambda: connection(STATION_B, partner_a))
    assert code == grpc.StatusCode.NOT_FOUND  # another tenant's station: as if not connected

    command = gateway_pb2.CommandRequest(
        station_id=STATION_B,
        kind=gateway_pb2.COMMAND_KIND_CLEAR_CACHE,
        arguments_json="{}",
        requested_by=OPERATOR_CLAIM,
        idempotency_key="caller-tokens-1",
    )
    code, details = _code(lambda: stub.SendCommand(command, metadata=partner_a, timeout=10))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert "partner-a" in details

    disconnect = gateway_pb2.DisconnectRequest(station_id=STATION_A, reason="test", requested_by=OPERATOR_CLAIM)
    code, _ = _code(lambda: stub.Disconnect(disconnect, metadata=partner_a, timeout=10))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert connection(STATION_A, services).station_id == STATION_A  # still connected

    # The service account commands a station on behalf of its tenant's user.
    command.station_id, command.idempotency_key = STATION_A, "caller-tokens-2"
    command.requested_by.CopyFrom(common_pb2.Principal(subject="partner-a", roles=["partner"], tenant_id="partner-a"))
    reply = stub.SendCommand(command, metadata=services, timeout=30)
    assert reply.status


def _connected(call: Callable[[], Any]) -> bool:
    try:
        call()
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return False
        raise
    return True


def test_the_partner_api_forwards_the_users_token(platform: Platform, tokens: Tokens) -> None:
    """The API's calls to telemetry, the SLA engine and the security monitor pass with the user's token."""
    analyst = {"Authorization": f"Bearer {tokens.user('analyst')}"}
    with httpx.Client(base_url=platform.api_url, headers=analyst, timeout=30) as http:
        alerts = http.get("/v1/alerts")
        assert alerts.status_code == 200, alerts.text
    headers = {"Authorization": f"Bearer {tokens.user('partner-a')}"}
    with httpx.Client(base_url=platform.api_url, headers=headers, timeout=30) as http:
        stations = http.get("/v1/stations")
        assert stations.status_code == 200, stations.text
        assert {s["tenant_id"] for s in stations.json()["items"]} == {"partner-a"}
        assert http.get(f"/v1/stations/{STATION_B}").status_code == 404
        incidents = http.get("/v1/incidents")
        assert incidents.status_code == 200, incidents.text


@pytest.mark.parametrize("server", list(CALLS))
def test_an_expired_token_is_unauthenticated(
    channels: dict[str, grpc.Channel], short_lived: tuple[str, float], server: str
) -> None:
    token, expires_at = short_lived
    # Past its expiry and the validators' 30 s leeway for clock skew (the module's other tests ran meanwhile).
    time.sleep(max(expires_at + 31 - time.time(), 0))
    code, details = _code(lambda: CALLS[server](channels, None, _bearer(token)))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "expired" in details


async def _idp_token(keycloak_url: str, **form: str) -> str:
    url = f"{keycloak_url}/realms/chargewatch/protocol/openid-connect/token"
    async with httpx.AsyncClient(timeout=10) as http:
        if form.get("grant_type") == "client_credentials":
            reply = await http.post(url, data=form, auth=("chargewatch-services", SERVICES_SECRET))
        else:
            reply = await http.post(url, data={"client_id": "chargewatch-cli", **form})
    reply.raise_for_status()
    return str(reply.json()["access_token"])


async def test_a_call_forwarded_to_the_owning_replica_carries_the_callers_token(
    redis_client: aioredis.Redis, keycloak_url: str
) -> None:
    """Two gateway replicas checking tokens: a call to the one without the station's socket is forwarded
    with the caller's own token, and the owner authenticates and scopes it again."""
    validator = AccessTokenValidator(f"{keycloak_url}/realms/chargewatch", "chargewatch-partner-api")
    checking = CallerAuthentication(CallerAuthenticator(validator))
    fake_authz = FakeAuthz()
    authz_server = GrpcServer("127.0.0.1", 0)
    authz_server.add_service(authz_pb2_grpc.add_AuthzServicer_to_server, fake_authz, "chargewatch.v1.Authz")
    authz_port = await authz_server.start()
    password = "secret-password-123"
    fake_authz.stations["CP-TOK-1"] = Station(password, tenant_id="partner-a")
    services = _bearer(await _idp_token(keycloak_url, grant_type="client_credentials"))
    users = {
        user: _bearer(await _idp_token(keycloak_url, grant_type="password", username=user, password=user))
        for user in ("partner-a", "partner-b")
    }
    replicas = [
        gateway_settings(authz_target=f"127.0.0.1:{authz_port}", gateway_instance=name, ownership_lease_ttl_seconds=1.0)
        for name in ("gw-token-1", "gw-token-2")
    ]
    request = gateway_pb2.GetConnectionRequest(station_id="CP-TOK-1")
    try:
        async with (
            running_gateway(fake_authz, redis_client, replicas[0], caller_authentication=checking) as owner,
            running_gateway(fake_authz, redis_client, replicas[1], caller_authentication=checking) as other,
            station_on(owner, "CP-TOK-1", password),
            grpc.aio.insecure_channel(f"127.0.0.1:{other.grpc_port}") as channel,
        ):
            via_other = gateway_pb2_grpc.GatewayCommandsStub(channel)
            for metadata in (services, users["partner-a"]):
                info = await via_other.GetConnection(request, metadata=metadata, timeout=5)
                assert info.gateway_instance == "gw-token-1"  # answered by the owner, after its own check
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await via_other.GetConnection(request, metadata=users["partner-b"], timeout=5)
            assert refused.value.code() == grpc.StatusCode.NOT_FOUND  # the owner scoped partner-b's token
            with pytest.raises(grpc.aio.AioRpcError) as anonymous:
                await via_other.GetConnection(request, timeout=5)
            assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
            # A partner's disconnect of its own station is refused by the owner too (operator or analyst only).
            disconnect = gateway_pb2.DisconnectRequest(station_id="CP-TOK-1", requested_by=OPERATOR_CLAIM)
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await via_other.Disconnect(disconnect, metadata=users["partner-a"], timeout=5)
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert len(owner.registry) == 1
    finally:
        await authz_server.stop(0)
        await validator.close()
