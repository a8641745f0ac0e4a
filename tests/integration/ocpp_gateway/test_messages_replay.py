"""Message ids: an identical retry gets the same answer once more; a different CALL reusing an id is refused."""

from __future__ import annotations

from chargewatch.streams import StreamFamily
from tests.integration.ocpp_gateway.conftest import Gateway
from tests.integration.ocpp_gateway.test_bad_input import connect, exchange
from tests.integration.ocpp_gateway.test_messages_16 import mine


async def test_identical_retries_are_answered_again_and_replays_refused(gateway: Gateway) -> None:
    socket = await connect(gateway, "CP-REPLAY")
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    try:
        first = await exchange(socket, [2, "m-1", "Heartbeat", {}])
        retry = await exchange(socket, [2, "m-1", "Heartbeat", {}])
        replay = await exchange(socket, [2, "m-1", "StatusNotification", status])
        # The same action with another payload is a different CALL too.
        assert (await exchange(socket, [2, "m-2", "StatusNotification", status]))[0] == 3
        changed = await exchange(socket, [2, "m-2", "StatusNotification", {**status, "status": "Faulted"}])
        # A CALL that failed is handled afresh when retried, not answered from memory.
        broken = await exchange(socket, [2, "m-3", "StatusNotification", {"connectorId": 1}])
        fixed = await exchange(socket, [2, "m-3", "StatusNotification", status])
    finally:
        await socket.close()
    assert first[0] == 3 and retry == first  # the very same currentTime: answered from memory
    assert replay[:3] == [4, "m-1", "SecurityError"]
    assert changed[:3] == [4, "m-2", "SecurityError"]
    assert broken[0] == 4 and fixed[0] == 3
    heartbeats = [
        e for e in mine(await gateway.events(StreamFamily.CONNECTION), "CP-REPLAY") if e.HasField("heartbeat")
    ]
    assert len(heartbeats) == 1
    assert len(mine(await gateway.events(StreamFamily.STATUS), "CP-REPLAY")) == 2
    security = [e.security for e in mine(await gateway.events(StreamFamily.SECURITY), "CP-REPLAY")]
    assert [(s.type, s.attributes.get("action")) for s in security] == [
        ("ReplayedMessageId", "StatusNotification"),
        ("ReplayedMessageId", "StatusNotification"),
        ("InvalidMessage", "StatusNotification"),
    ]
    assert security[0].attributes["message_id"] == "m-1"
