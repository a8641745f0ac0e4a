"""Security profiles 2 and 3 over real TLS: certificates generated at test time, a TLS listener with a
plain one beside it, authz's test double deciding by the profile the transport really offers."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest
import websockets
from cryptography.hazmat.primitives import hashes
from websockets.exceptions import InvalidStatus

from chargewatch.streams import StreamFamily
from chargewatch.v1 import common_pb2, events_pb2, gateway_pb2, gateway_pb2_grpc
from tests.integration.ocpp_gateway.conftest import Gateway, basic
from tests.integration.ocpp_gateway.tls_support import Issued, TestCa

Stub = Any
PROFILE_2 = common_pb2.SECURITY_PROFILE_2_TLS_BASIC
PROFILE_3 = common_pb2.SECURITY_PROFILE_3_MUTUAL_TLS
BOOT_16 = [2, "boot-1", "BootNotification", {"chargePointVendor": "ChargeWatch", "chargePointModel": "TLS-1"}]


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCa:
    return TestCa(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server_certificate(ca: TestCa) -> Issued:
    return ca.issue("gateway", dns_names=("localhost",), ip_addresses=("127.0.0.1",), server=True)


@pytest.fixture
def settings_overrides(ca: TestCa, server_certificate: Issued) -> dict[str, Any]:
    return {
        "tls_certificate_file": server_certificate.certificate_file,
        "tls_key_file": server_certificate.key_file,
        "tls_client_ca_file": ca.certificate_file,
        "ocpp_plain_port": 0,
    }


async def connection_info(gateway: Gateway, station_id: str) -> gateway_pb2.StationConnectionInfo:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as channel:
        stub: Stub = gateway_pb2_grpc.GatewayCommandsStub(channel)
        info: gateway_pb2.StationConnectionInfo = await stub.GetConnection(
            gateway_pb2.GetConnectionRequest(station_id=station_id), timeout=5
        )
        return info


async def connected_event(gateway: Gateway, station_id: str) -> events_pb2.StationConnection:
    envelopes = await gateway.wait_for_events(
        StreamFamily.CONNECTION,
        lambda e: e.station_id == station_id and e.connection.kind == events_pb2.StationConnection.KIND_CONNECTED,
    )
    assert len(envelopes) == 1
    connection: events_pb2.StationConnection = envelopes[0].connection
    return connection


async def boot(socket: Any) -> list[Any]:
    await socket.send(orjson.dumps(BOOT_16).decode())
    answer: list[Any] = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
    return answer


async def refused(url: str, *, headers: dict[str, str] | None = None, ssl_context: ssl.SSLContext | None = None) -> int:
    with pytest.raises(InvalidStatus) as failed:
        async with websockets.connect(
            url, subprotocols=["ocpp1.6"], additional_headers=headers or {}, ssl=ssl_context, open_timeout=5
        ):
            pass
    return failed.value.response.status_code


async def test_a_profile_2_station_connects_over_tls_and_boots(gateway: Gateway, ca: TestCa) -> None:
    password = gateway.add_station("CP-TLS-2", profile=PROFILE_2)
    assert gateway.url.startswith("wss://")
    async with websockets.connect(
        f"{gateway.url}/CP-TLS-2",
        subprotocols=["ocpp1.6"],
        additional_headers=basic("CP-TLS-2", password),
        ssl=ca.client_context(),
    ) as socket:
        answer = await boot(socket)
        assert answer[:2] == [3, "boot-1"] and answer[2]["status"] == "Accepted"
        info = await connection_info(gateway, "CP-TLS-2")
    assert info.security_profile == PROFILE_2
    request = gateway.authz.requests[-1]
    assert (request.connection_profile, request.client_certificate_sha256) == (PROFILE_2, "")
    connected = await connected_event(gateway, "CP-TLS-2")
    assert (connected.security_profile, connected.client_certificate_sha256) == (PROFILE_2, "")


async def test_a_wrong_password_over_tls_is_refused_with_401(gateway: Gateway, ca: TestCa) -> None:
    gateway.add_station("CP-TLS-PW", "the-right-password-22", profile=PROFILE_2)
    status = await refused(
        f"{gateway.url}/CP-TLS-PW", headers=basic("CP-TLS-PW", "a-wrong-password-222"), ssl_context=ca.client_context()
    )
    assert status == 401
    events = await gateway.wait_for_events(StreamFamily.SECURITY, lambda e: e.station_id == "CP-TLS-PW")
    assert events[0].security.type == "InvalidCredentials"


async def test_a_profile_2_station_is_refused_over_plain_websocket(gateway: Gateway) -> None:
    password = gateway.add_station("CP-TLS-PLAIN", profile=PROFILE_2)
    assert gateway.server.plain_port
    status = await refused(f"{gateway.plain_url}/CP-TLS-PLAIN", headers=basic("CP-TLS-PLAIN", password))
    assert status == 403
    # authz heard the profile the plain transport really offers, and refused it.
    assert gateway.authz.requests[-1].connection_profile == common_pb2.SECURITY_PROFILE_1_BASIC
    events = await gateway.wait_for_events(StreamFamily.SECURITY, lambda e: e.station_id == "CP-TLS-PLAIN")
    assert events[0].security.type == "SecurityProfileTooLow"


async def test_a_profile_1_station_still_uses_the_plain_listener(gateway: Gateway) -> None:
    password = gateway.add_station("CP-TLS-P1")
    async with websockets.connect(
        f"{gateway.plain_url}/CP-TLS-P1", subprotocols=["ocpp1.6"], additional_headers=basic("CP-TLS-P1", password)
    ):
        info = await connection_info(gateway, "CP-TLS-P1")
    assert info.security_profile == common_pb2.SECURITY_PROFILE_1_BASIC


async def test_a_profile_3_station_connects_with_its_certificate_and_boots(gateway: Gateway, ca: TestCa) -> None:
    client = ca.issue("CP-TLS-3")
    gateway.add_station("CP-TLS-3", profile=PROFILE_3, certificate_sha256=client.sha256)
    async with websockets.connect(
        f"{gateway.url}/CP-TLS-3", subprotocols=["ocpp1.6"], ssl=ca.client_context(client)
    ) as socket:
        answer = await boot(socket)
        assert answer[:2] == [3, "boot-1"] and answer[2]["status"] == "Accepted"
        info = await connection_info(gateway, "CP-TLS-3")
    assert info.security_profile == PROFILE_3
    request = gateway.authz.requests[-1]
    assert (request.connection_profile, request.client_certificate_sha256, request.password) == (
        PROFILE_3,
        client.sha256,
        "",
    )
    # The connected event names the certificate presented in the handshake, in the format of authz's
    # certificate registry (lowercase hex SHA-256 of the DER), so consumers can match the two.
    connected = await connected_event(gateway, "CP-TLS-3")
    assert connected.security_profile == PROFILE_3
    assert connected.client_certificate_sha256 == client.certificate.fingerprint(hashes.SHA256()).hex()


async def test_a_certificate_naming_the_station_in_a_san_is_enough(gateway: Gateway, ca: TestCa) -> None:
    client = ca.issue("CP-TLS-SAN", common_name="vendor-serial-0042", dns_names=("CP-TLS-SAN",))
    gateway.add_station("CP-TLS-SAN", profile=PROFILE_3, certificate_sha256=client.sha256)
    async with websockets.connect(f"{gateway.url}/CP-TLS-SAN", subprotocols=["ocpp1.6"], ssl=ca.client_context(client)):
        info = await connection_info(gateway, "CP-TLS-SAN")
    assert info.security_profile == PROFILE_3


async def test_a_profile_3_station_without_a_client_certificate_is_refused(gateway: Gateway, ca: TestCa) -> None:
    client = ca.issue("CP-TLS-NOCERT")
    password = gateway.add_station("CP-TLS-NOCERT", profile=PROFILE_3, certificate_sha256=client.sha256)
    status = await refused(
        f"{gateway.url}/CP-TLS-NOCERT", headers=basic("CP-TLS-NOCERT", password), ssl_context=ca.client_context()
    )
    assert status == 403
    assert gateway.authz.requests[-1].connection_profile == PROFILE_2
    events = await gateway.wait_for_events(StreamFamily.SECURITY, lambda e: e.station_id == "CP-TLS-NOCERT")
    assert events[0].security.type == "SecurityProfileTooLow"


async def test_a_certificate_naming_another_station_is_refused(gateway: Gateway, ca: TestCa) -> None:
    other = ca.issue("CP-TLS-OTHER")
    gateway.add_station("CP-TLS-VICTIM", profile=PROFILE_3, certificate_sha256=other.sha256)
    requests_before = len(gateway.authz.requests)
    status = await refused(f"{gateway.url}/CP-TLS-VICTIM", ssl_context=ca.client_context(other))
    assert status == 403
    assert len(gateway.authz.requests) == requests_before  # refused before authz is asked
    events = await gateway.wait_for_events(StreamFamily.SECURITY, lambda e: e.station_id == "CP-TLS-VICTIM")
    assert events[0].security.type == "InvalidClientCertificate"
    assert events[0].security.remote_address == "127.0.0.1"
    assert events[0].security.attributes["certificate_sha256"] == other.sha256
    refusals = await gateway.wait_for_events(StreamFamily.CONNECTION, lambda e: e.station_id == "CP-TLS-VICTIM")
    assert refusals[0].connection.kind == events_pb2.StationConnection.KIND_REFUSED


def tls_failures(envelopes: list[events_pb2.EventEnvelope], event_type: str) -> list[events_pb2.EventEnvelope]:
    return [e for e in envelopes if e.security.type == event_type]


async def test_a_certificate_from_another_ca_fails_the_handshake_and_is_recorded(
    gateway: Gateway, ca: TestCa, tmp_path: Path
) -> None:
    rogue_ca = TestCa(tmp_path, "Rogue CA")
    rogue = rogue_ca.issue("CP-TLS-ROGUE")
    gateway.add_station("CP-TLS-ROGUE", profile=PROFILE_3, certificate_sha256=rogue.sha256)
    context = ca.client_context(rogue)  # trusts the gateway, presents a certificate our CA never signed
    with pytest.raises((ssl.SSLError, ConnectionError, websockets.exceptions.InvalidMessage, EOFError)):
        async with websockets.connect(
            f"{gateway.url}/CP-TLS-ROGUE", subprotocols=["ocpp1.6"], ssl=context, open_timeout=5
        ):
            pass
    events = await gateway.wait_for_events(
        StreamFamily.SECURITY, lambda e: e.security.type == "InvalidClientCertificate" and not e.station_id
    )
    assert events[0].security.remote_address == "127.0.0.1"
    assert "certificate" in events[0].security.tech_info
    assert not any(r.station_id == "CP-TLS-ROGUE" for r in gateway.authz.requests)


async def test_a_plain_websocket_on_the_tls_port_is_a_failed_handshake(gateway: Gateway) -> None:
    password = gateway.add_station("CP-TLS-NOTLS")
    with pytest.raises((ConnectionError, websockets.exceptions.InvalidMessage, EOFError, TimeoutError)):
        async with websockets.connect(
            f"ws://127.0.0.1:{gateway.server.port}/ocpp/CP-TLS-NOTLS",
            subprotocols=["ocpp1.6"],
            additional_headers=basic("CP-TLS-NOTLS", password),
            open_timeout=5,
        ):
            pass
    events = await gateway.wait_for_events(StreamFamily.SECURITY, lambda e: e.security.type == "TlsHandshakeFailed")
    assert events[0].security.remote_address == "127.0.0.1"
    assert password not in str(events[0])


async def test_a_connection_that_sends_nothing_is_not_a_security_event(gateway: Gateway, ca: TestCa) -> None:
    for _ in range(3):  # what a TCP probe or a port scan does
        _reader, writer = await asyncio.open_connection("127.0.0.1", gateway.server.port)
        writer.close()
        await writer.wait_closed()
    # A real TLS station afterwards still gets through, and no event names those probes.
    password = gateway.add_station("CP-TLS-AFTER", profile=PROFILE_2)
    async with websockets.connect(
        f"{gateway.url}/CP-TLS-AFTER",
        subprotocols=["ocpp1.6"],
        additional_headers=basic("CP-TLS-AFTER", password),
        ssl=ca.client_context(),
    ):
        pass
    security = await gateway.events(StreamFamily.SECURITY)
    assert tls_failures(security, "TlsHandshakeFailed") == []


async def test_an_unsigned_firmware_update_is_refused_for_a_profile_2_station(gateway: Gateway, ca: TestCa) -> None:
    password = gateway.add_station("CP-TLS-FW", profile=PROFILE_2)
    unsigned = {"location": "https://fw.example/1.bin", "retrieve_date": "2026-01-01T00:00:00Z"}
    request = gateway_pb2.CommandRequest(
        station_id="CP-TLS-FW",
        kind=gateway_pb2.COMMAND_KIND_UPDATE_FIRMWARE,
        arguments_json=orjson.dumps(unsigned).decode(),
    )
    async with (
        websockets.connect(
            f"{gateway.url}/CP-TLS-FW",
            subprotocols=["ocpp1.6"],
            additional_headers=basic("CP-TLS-FW", password),
            ssl=ca.client_context(),
        ),
        grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as channel,
    ):
        stub: Stub = gateway_pb2_grpc.GatewayCommandsStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.SendCommand(request, timeout=5)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "signed" in (refused.value.details() or "")
    audit = await gateway.wait_for_events(StreamFamily.AUDIT, lambda e: e.station_id == "CP-TLS-FW")
    assert audit[0].command.outcome == "refused"
