"""Registration: BootNotification answers the registry's status; a station not accepted may send nothing else."""

from __future__ import annotations

import websockets

from chargewatch.streams import StreamFamily
from chargewatch.v1 import common_pb2
from tests.integration.ocpp_gateway.conftest import Gateway, basic
from tests.integration.ocpp_gateway.test_bad_input import exchange
from tests.integration.ocpp_gateway.test_messages_16 import mine

BOOT_16 = {"chargePointVendor": "V", "chargePointModel": "M"}
BOOT_201 = {"chargingStation": {"vendorName": "V", "model": "M"}, "reason": "PowerUp"}


async def test_a_pending_1_6_station_may_only_boot(gateway: Gateway) -> None:
    password = gateway.add_station("CP-PEND", registration_status=common_pb2.REGISTRATION_STATUS_PENDING)
    async with websockets.connect(
        f"{gateway.url}/CP-PEND", subprotocols=["ocpp1.6"], additional_headers=basic("CP-PEND", password)
    ) as socket:
        boot = await exchange(socket, [2, "b-1", "BootNotification", BOOT_16])
        assert boot[0] == 3 and (boot[2]["status"], boot[2]["interval"]) == ("Pending", 60)
        heartbeat = await exchange(socket, [2, "h-1", "Heartbeat", {}])
        assert heartbeat[:3] == [4, "h-1", "SecurityError"]
        status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
        assert (await exchange(socket, [2, "s-1", "StatusNotification", status]))[:3] == [4, "s-1", "SecurityError"]
        # Booting again is still allowed (the station retries after the interval).
        assert (await exchange(socket, [2, "b-2", "BootNotification", BOOT_16]))[2]["status"] == "Pending"
    (boot_event, _) = mine(await gateway.events(StreamFamily.BOOT), "CP-PEND")
    assert boot_event.boot.registration_status == common_pb2.REGISTRATION_STATUS_PENDING
    assert boot_event.boot.interval_seconds == 60
    assert not mine(await gateway.events(StreamFamily.STATUS), "CP-PEND")
    refused = [e.security for e in mine(await gateway.events(StreamFamily.SECURITY), "CP-PEND")]
    assert [(s.type, s.attributes["action"], s.attributes["registration_status"]) for s in refused] == [
        ("CallWhileNotAccepted", "Heartbeat", "REGISTRATION_STATUS_PENDING"),
        ("CallWhileNotAccepted", "StatusNotification", "REGISTRATION_STATUS_PENDING"),
    ]


async def test_a_rejected_2_0_1_station_gets_the_rejected_interval_and_nothing_else(gateway: Gateway) -> None:
    password = gateway.add_station("CS-REJ", registration_status=common_pb2.REGISTRATION_STATUS_REJECTED)
    async with websockets.connect(
        f"{gateway.url}/CS-REJ", subprotocols=["ocpp2.0.1"], additional_headers=basic("CS-REJ", password)
    ) as socket:
        boot = await exchange(socket, [2, "b-1", "BootNotification", BOOT_201])
        assert (boot[2]["status"], boot[2]["interval"]) == ("Rejected", 900)
        authorize = [2, "a-1", "Authorize", {"idToken": {"idToken": "X", "type": "ISO14443"}}]
        assert (await exchange(socket, authorize))[:3] == [4, "a-1", "SecurityError"]
    assert not [r for r in gateway.authz.authorize_requests if r.station_id == "CS-REJ"]
    (security,) = mine(await gateway.events(StreamFamily.SECURITY), "CS-REJ")
    assert security.security.type == "CallWhileNotAccepted"


async def test_an_accepted_station_needs_no_new_boot_after_reconnecting(gateway: Gateway) -> None:
    password = gateway.add_station("CP-ACC", registration_status=common_pb2.REGISTRATION_STATUS_ACCEPTED)
    async with websockets.connect(
        f"{gateway.url}/CP-ACC", subprotocols=["ocpp1.6"], additional_headers=basic("CP-ACC", password)
    ) as socket:
        assert (await exchange(socket, [2, "h-1", "Heartbeat", {}]))[0] == 3
        boot = await exchange(socket, [2, "b-1", "BootNotification", BOOT_16])
        assert (boot[2]["status"], boot[2]["interval"]) == ("Accepted", 120)
    assert not mine(await gateway.events(StreamFamily.SECURITY), "CP-ACC")
