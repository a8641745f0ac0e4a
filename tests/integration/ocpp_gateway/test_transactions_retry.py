"""Transactions robust to retries, and late marking of what a station queued while offline (raw OCPP-J frames)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from chargewatch.streams import StreamFamily
from chargewatch.v1 import authz_pb2, events_pb2
from tests.integration.ocpp_gateway.conftest import Gateway, basic
from tests.integration.ocpp_gateway.test_bad_input import exchange
from tests.integration.ocpp_gateway.test_messages_16 import mine, now_stamp

TX = events_pb2.TransactionEvent


async def open_socket(gateway: Gateway, station_id: str, subprotocol: str = "ocpp1.6") -> ClientConnection:
    password = gateway.add_station(station_id)
    return await websockets.connect(
        f"{gateway.url}/{station_id}", subprotocols=[subprotocol], additional_headers=basic(station_id, password)
    )


def start(stamp: str, meter_start: int = 100) -> dict[str, Any]:
    return {"connectorId": 1, "idTag": "CARD-1", "meterStart": meter_start, "timestamp": stamp}


async def test_a_retried_start_transaction_keeps_its_transaction_id_and_publishes_once(gateway: Gateway) -> None:
    gateway.authz.tokens["CARD-1"] = authz_pb2.AuthorizeResponse(status=events_pb2.AUTHORIZATION_STATUS_ACCEPTED)
    stamp = now_stamp()
    socket = await open_socket(gateway, "CP-RETRY")
    try:
        first = await exchange(socket, [2, "start-1", "StartTransaction", start(stamp)])
        # The station did not get the answer and sends the same CALL again on the same connection.
        again = await exchange(socket, [2, "start-1", "StartTransaction", start(stamp)])
    finally:
        await socket.close()
    assert first[0] == 3 and first == again
    transaction_id = first[2]["transactionId"]
    # ... and once more after reconnecting (the answer comes from Redis now, not the session).
    socket = await open_socket(gateway, "CP-RETRY")
    try:
        after_reconnect = await exchange(socket, [2, "start-1", "StartTransaction", start(stamp)])
    finally:
        await socket.close()
    socket = await open_socket(gateway, "CP-RETRY")
    try:
        # A rebooted station reusing the message id for a new transaction gets a new one.
        rebooted = await exchange(socket, [2, "start-1", "StartTransaction", start(now_stamp(), 250)])
        # StopTransaction retried after a reconnect is the same fact, published once.
        stop = {"meterStop": 900, "timestamp": stamp, "transactionId": transaction_id}
        assert (await exchange(socket, [2, "stop-1", "StopTransaction", stop]))[0] == 3
    finally:
        await socket.close()
    socket = await open_socket(gateway, "CP-RETRY")
    try:
        assert (await exchange(socket, [2, "stop-1", "StopTransaction", stop]))[0] == 3
    finally:
        await socket.close()

    assert after_reconnect[2] == first[2]
    assert rebooted[2]["transactionId"] != transaction_id
    assert len([r for r in gateway.authz.authorize_requests if r.station_id == "CP-RETRY"]) == 2
    events = mine(await gateway.events(StreamFamily.TRANSACTION), "CP-RETRY")
    started = [e for e in events if e.transaction.kind == TX.KIND_STARTED]
    assert [e.transaction.transaction_id for e in started] == [str(transaction_id), str(rebooted[2]["transactionId"])]
    # The retried StopTransaction was answered but not published again: one ENDED fact.
    ended = [e for e in events if e.transaction.kind == TX.KIND_ENDED]
    assert len(ended) == 1
    assert (ended[0].transaction.evse_id, ended[0].transaction.connector_id) == (1, 1)
    assert ended[0].transaction.id_token == "CARD-1"


async def test_messages_queued_while_offline_are_accepted_in_order_and_marked_late(gateway: Gateway) -> None:
    socket = await open_socket(gateway, "CP-LATE")
    hour_ago = now_stamp(-timedelta(hours=1))
    try:
        for n, stamp in enumerate((now_stamp(-timedelta(hours=2)), hour_ago)):
            status = {"connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": stamp}
            assert (await exchange(socket, [2, f"q-{n}", "StatusNotification", status]))[0] == 3
        started = await exchange(socket, [2, "q-2", "StartTransaction", start(hour_ago)])
        meter = {
            "connectorId": 1,
            "transactionId": started[2]["transactionId"],
            "meterValue": [{"timestamp": hour_ago, "sampledValue": [{"value": "150"}]}],
        }
        assert (await exchange(socket, [2, "q-3", "MeterValues", meter]))[0] == 3
        live = {"connectorId": 1, "errorCode": "NoError", "status": "Finishing", "timestamp": now_stamp()}
        assert (await exchange(socket, [2, "live", "StatusNotification", live]))[0] == 3
    finally:
        await socket.close()
    statuses = mine(await gateway.events(StreamFamily.STATUS), "CP-LATE")
    assert [e.late for e in statuses] == [True, True, False]
    assert statuses[0].station_time.ToDatetime() < statuses[1].station_time.ToDatetime()
    (started_event,) = mine(await gateway.events(StreamFamily.TRANSACTION), "CP-LATE")
    assert started_event.late
    (meter_event,) = mine(await gateway.events(StreamFamily.METER), "CP-LATE")
    # Late, and flagged: an hour away from the receive time is outside the skew tolerance.
    assert meter_event.late and list(meter_event.meter_values.quality_flags) == ["clock_skew"]


async def test_a_2_0_1_offline_transaction_event_is_late_and_retries_are_one_fact(gateway: Gateway) -> None:
    socket = await open_socket(gateway, "CS-LATE", "ocpp2.0.1")
    event = {
        "eventType": "Started",
        "timestamp": now_stamp(),
        "triggerReason": "CablePluggedIn",
        "seqNo": 0,
        "offline": True,
        "transactionInfo": {"transactionId": "T-OFF-1"},
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": [{"timestamp": now_stamp(), "sampledValue": [{"value": 10}]}],
    }
    try:
        assert (await exchange(socket, [2, "e-0", "TransactionEvent", event]))[0] == 3
        # Retried with a new message id (as after a reconnect): same seqNo, same event ids.
        assert (await exchange(socket, [2, "e-0-again", "TransactionEvent", event]))[0] == 3
        online = {
            **event,
            "eventType": "Updated",
            "seqNo": 1,
            "offline": False,
            "triggerReason": "ChargingStateChanged",
        }
        del online["evse"]
        assert (await exchange(socket, [2, "e-1", "TransactionEvent", online]))[0] == 3
    finally:
        await socket.close()
    events = mine(await gateway.events(StreamFamily.TRANSACTION), "CS-LATE")
    # The retry (same seqNo) was answered but its facts were not published a second time.
    assert [(e.transaction.seq_no, e.late) for e in events] == [(0, True), (1, False)]
    assert events[0].event_id != events[1].event_id
    # The EVSE of a later event that omits it comes from the transaction's first event.
    assert (events[1].transaction.evse_id, events[1].transaction.connector_id) == (1, 1)
    meters = mine(await gateway.events(StreamFamily.METER), "CS-LATE")
    assert [m.late for m in meters] == [True, False]
