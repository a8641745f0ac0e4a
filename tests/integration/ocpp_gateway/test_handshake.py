"""The handshake: path, subprotocol and credentials are checked before the WebSocket upgrade."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from chargewatch.streams import StreamFamily
from chargewatch.v1 import common_pb2, events_pb2
from tests.integration.ocpp_gateway.conftest import Gateway, basic

REFUSED = events_pb2.StationConnection.KIND_REFUSED
CONNECTED = events_pb2.StationConnection.KIND_CONNECTED
DISCONNECTED = events_pb2.StationConnection.KIND_DISCONNECTED


async def refused_status(url: str, headers: dict[str, str], subprotocols: list[str] | None = None) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(
            url,
            subprotocols=subprotocols or ["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=headers,
            open_timeout=5,
        ):
            pass
    return refused.value


async def test_unknown_station_is_refused_with_401_and_recorded(gateway: Gateway) -> None:
    refused = await refused_status(f"{gateway.url}/NOBODY-1", basic("NOBODY-1", "x" * 20))
    assert refused.response.status_code == 401
    assert refused.response.headers["WWW-Authenticate"].startswith("Basic")
    security = await gateway.wait_for_events(StreamFamily.SECURITY, lambda e: e.station_id == "NOBODY-1")
    assert security[0].security.type == "UnknownStation"
    assert security[0].security.remote_address == "127.0.0.1"
    assert security[0].security.reported_by == "ocpp-gateway"
    connection = await gateway.wait_for_events(StreamFamily.CONNECTION, lambda e: e.station_id == "NOBODY-1")
    assert connection[0].connection.kind == REFUSED
    assert connection[0].connection.close_code == 401
    assert connection[0].connection.ocpp_version == common_pb2.OCPP_VERSION_1_6
    # authz heard the attempt, with the address; the password went only there.
    assert gateway.authz.requests[-1].remote_address == "127.0.0.1"


async def test_wrong_password_is_refused_with_401(gateway: Gateway) -> None:
    gateway.add_station("CP-PW-1", "the-right-password-1")
    refused = await refused_status(f"{gateway.url}/CP-PW-1", basic("CP-PW-1", "a-wrong-password-12"))
    assert refused.response.status_code == 401
    security = await gateway.wait_for_events(StreamFamily.SECURITY, lambda e: e.station_id == "CP-PW-1")
    assert security[0].security.type == "InvalidCredentials"
    assert "a-wrong-password" not in str(security[0])


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer abc"},
        {"Authorization": "Basic !!!not-base64"},
        basic("CP-OTHER", "the-right-password-2"),
    ],
)
async def test_missing_or_foreign_credentials_are_refused_without_asking_authz(
    gateway: Gateway, headers: dict[str, str]
) -> None:
    gateway.add_station("CP-PW-2", "the-right-password-2")
    refused = await refused_status(f"{gateway.url}/CP-PW-2", headers)
    assert refused.response.status_code == 401
    assert not gateway.authz.requests
    security = await gateway.wait_for_events(StreamFamily.SECURITY, lambda e: e.station_id == "CP-PW-2")
    assert security[0].security.type == "InvalidCredentials"


async def test_profile_below_the_registered_one_is_forbidden(gateway: Gateway) -> None:
    password = gateway.add_station("CP-TLS-1", profile=common_pb2.SECURITY_PROFILE_2_TLS_BASIC)
    refused = await refused_status(f"{gateway.url}/CP-TLS-1", basic("CP-TLS-1", password))
    assert refused.response.status_code == 403
    assert gateway.authz.requests[-1].connection_profile == common_pb2.SECURITY_PROFILE_1_BASIC
    security = await gateway.wait_for_events(StreamFamily.SECURITY, lambda e: e.station_id == "CP-TLS-1")
    assert security[0].security.type == "SecurityProfileTooLow"


@pytest.mark.parametrize(
    "path", ["/not-ocpp/CP-1", "/ocpp", "/ocpp/", "/ocpp/CP-1/extra", "/ocpp/bad%20id", "/ocpp/" + "A" * 49]
)
async def test_a_path_that_names_no_station_is_refused_with_404(gateway: Gateway, path: str) -> None:
    gateway.add_station("CP-1")
    base = gateway.url.removesuffix("/ocpp")
    refused = await refused_status(f"{base}{path}", basic("CP-1", "secret-password-123"))
    assert refused.response.status_code == 404
    assert not gateway.authz.requests
    security = await gateway.wait_for_events(StreamFamily.SECURITY, lambda e: e.security.type == "InvalidPath")
    assert security[0].station_id == ""
    assert security[0].security.attributes["path"] == path


async def test_url_encoded_station_ids_are_decoded(gateway: Gateway) -> None:
    password = gateway.add_station("CP:7.a_b-c")
    async with websockets.connect(
        f"{gateway.url}/CP%3A7.a_b-c", subprotocols=["ocpp1.6"], additional_headers=basic("CP:7.a_b-c", password)
    ) as socket:
        await socket.send('[2,"hb","Heartbeat",{}]')
        assert (await asyncio.wait_for(socket.recv(), 5)).startswith('[3,"hb"')
        assert gateway.registry.get("CP:7.a_b-c") is not None


@pytest.mark.parametrize("subprotocols", [[], ["ocpp1.5"], ["ocpp2.2", "chat"]])
async def test_no_supported_subprotocol_is_refused_with_400(gateway: Gateway, subprotocols: list[str]) -> None:
    password = gateway.add_station("CP-SP-1")
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(
            f"{gateway.url}/CP-SP-1",
            subprotocols=subprotocols or None,  # type: ignore[arg-type]
            additional_headers=basic("CP-SP-1", password),
        ):
            pass
    assert refused.value.response.status_code == 400
    assert not gateway.authz.requests
    connection = await gateway.wait_for_events(StreamFamily.CONNECTION, lambda e: e.station_id == "CP-SP-1")
    assert connection[0].connection.kind == REFUSED
    assert "subprotocol" in connection[0].connection.reason


async def test_the_preferred_subprotocol_is_chosen(gateway: Gateway) -> None:
    password = gateway.add_station("CP-SP-2")
    async with websockets.connect(
        f"{gateway.url}/CP-SP-2",
        subprotocols=["ocpp1.6", "ocpp2.0.1"],  # type: ignore[list-item]
        additional_headers=basic("CP-SP-2", password),
    ) as socket:
        assert socket.subprotocol == "ocpp2.0.1"


async def test_a_session_logs_one_info_line_at_its_end(gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="chargewatch.ocpp_gateway.server")
    password = gateway.add_station("CP-LOG-1")
    async with websockets.connect(
        f"{gateway.url}/CP-LOG-1", subprotocols=["ocpp1.6"], additional_headers=basic("CP-LOG-1", password)
    ):
        pass
    await gateway.wait_for_events(
        StreamFamily.CONNECTION, lambda e: e.station_id == "CP-LOG-1" and e.connection.kind == DISCONNECTED
    )
    mine = [r for r in caplog.records if getattr(r, "station_id", None) == "CP-LOG-1"]
    assert [(r.levelno, r.getMessage()) for r in mine] == [
        (logging.DEBUG, "station connected"),
        (logging.INFO, "station disconnected"),
    ]
    ended = mine[1]
    # The line at the end says what the one at the start did (at INFO, the only one).
    assert (ended.tenant_id, ended.ocpp_version, ended.remote) == ("tenant-a", "1.6", "127.0.0.1")  # type: ignore[attr-defined]
    assert ended.connected_at and ended.close_code == 1000  # type: ignore[attr-defined]


async def test_a_station_s_disconnection_reaches_the_stream_before_its_next_connection(gateway: Gateway) -> None:
    """A station drops and reconnects at once (a storm) while its old session's disconnection is still
    being published (Redis slow to answer): consumers must read disconnected, then connected, or they
    take the station for offline, and miss the reconnection a storm is detected by."""
    password = gateway.add_station("CP-ORDER-1")
    events = gateway.server.events
    publish = events.disconnected

    out_of_service: list[bool] = []

    async def slow_to_publish(session: Any, close_code: int, reason: str) -> None:
        # Closing: commands no longer reach this session (the registry holds none for the station, or
        # the new one already, when the reconnection was registered before this session saw its close).
        out_of_service.append(gateway.registry.get("CP-ORDER-1") is not session)
        await asyncio.sleep(0.5)
        await publish(session, close_code, reason)

    events.disconnected = slow_to_publish  # type: ignore[method-assign]
    try:
        headers = basic("CP-ORDER-1", password)
        first = await websockets.connect(
            f"{gateway.url}/CP-ORDER-1", subprotocols=["ocpp1.6"], additional_headers=headers
        )
        await first.close()
        async with websockets.connect(
            f"{gateway.url}/CP-ORDER-1", subprotocols=["ocpp1.6"], additional_headers=headers
        ) as second:
            await second.ping()
            connected = await gateway.wait_for_events(
                StreamFamily.CONNECTION,
                lambda e: e.station_id == "CP-ORDER-1" and e.connection.kind == CONNECTED,
                within=5.0,
            )
            while len(connected) < 2:
                await asyncio.sleep(0.05)
                connected = [
                    e
                    for e in await gateway.events(StreamFamily.CONNECTION)
                    if e.station_id == "CP-ORDER-1" and e.connection.kind == CONNECTED
                ]
            kinds = [
                e.connection.kind for e in await gateway.events(StreamFamily.CONNECTION) if e.station_id == "CP-ORDER-1"
            ]
            assert kinds == [CONNECTED, DISCONNECTED, CONNECTED]
            assert out_of_service == [True]
            # The new session holds the station: registered here, its lease not released by the old one.
            assert gateway.registry.get("CP-ORDER-1") is not None
            assert await gateway.ownership.owner("CP-ORDER-1") is not None
    finally:
        events.disconnected = publish  # type: ignore[method-assign]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"authz_deadline_seconds": 0.3}


async def test_authz_too_slow_answers_503(gateway: Gateway) -> None:
    password = gateway.add_station("CP-SLOW-1")
    gateway.authz.delay = 1.0
    refused = await refused_status(f"{gateway.url}/CP-SLOW-1", basic("CP-SLOW-1", password))
    assert refused.response.status_code == 503
    # The station is told when to come back: 1-5 s, jittered so a refused fleet spreads out.
    assert 1 <= int(refused.response.headers["Retry-After"]) <= 5
    assert not [e for e in await gateway.events(StreamFamily.SECURITY) if e.station_id == "CP-SLOW-1"]


async def test_the_ocpp_port_queues_a_reconnect_storm_s_connections(gateway: Gateway) -> None:
    # asyncio's default listen queue (100) overflows when thousands of stations reconnect at once:
    # their SYNs are dropped and each waits for TCP to resend. The kernel reports a listening
    # socket's queue length as its Send-Q (capped by net.core.somaxconn).
    ss = await asyncio.create_subprocess_exec(
        "ss", "-ltnH", f"sport = :{gateway.server.port}", stdout=asyncio.subprocess.PIPE
    )
    listing = (await ss.communicate())[0].decode().split()
    somaxconn = int(await asyncio.to_thread(Path("/proc/sys/net/core/somaxconn").read_text))
    assert listing[0] == "LISTEN" and int(listing[2]) == min(4096, somaxconn)


async def test_an_open_connection_keeps_no_handshake_header_and_so_no_password(gateway: Gateway) -> None:
    password = gateway.add_station("CP-HEADERS-1")
    async with websockets.connect(
        f"{gateway.url}/CP-HEADERS-1", subprotocols=["ocpp1.6"], additional_headers=basic("CP-HEADERS-1", password)
    ) as socket:
        assert socket.subprotocol == "ocpp1.6"
        session = gateway.registry.get("CP-HEADERS-1")
        assert session is not None
        connection: Any = session.socket
        assert connection.request.path == "/ocpp/CP-HEADERS-1"
        assert connection.response.status_code == 101
        assert "Authorization" not in connection.request.headers
        assert not list(connection.request.headers.raw_items())
        assert not list(connection.response.headers.raw_items())
        # Still a working session.
        await socket.send('[2,"h-1","Heartbeat",{}]')
        answer = await asyncio.wait_for(socket.recv(), 5)
        assert '"currentTime"' in str(answer) and str(answer).startswith('[3,"h-1"')
