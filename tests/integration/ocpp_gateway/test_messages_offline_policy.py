"""Authorization while authz cannot answer: the offline policy decides and the gateway publishes the decision."""

from __future__ import annotations

from typing import Any

import pytest

from chargewatch.streams import StreamFamily
from chargewatch.v1 import authz_pb2, events_pb2
from tests.integration.ocpp_gateway.conftest import Gateway
from tests.integration.ocpp_gateway.test_bad_input import connect, exchange
from tests.integration.ocpp_gateway.test_messages_16 import mine

ACCEPTED = events_pb2.AUTHORIZATION_STATUS_ACCEPTED
UNKNOWN = events_pb2.AUTHORIZATION_STATUS_UNKNOWN


@pytest.fixture(params=["reject", "accept", "accept_known"])
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"offline_authorization_policy": request.param, "authorize_deadline_seconds": 0.3}


def authorize_16(message_id: str, token: str) -> list[Any]:
    return [2, message_id, "Authorize", {"idTag": token}]


async def test_the_offline_policy_decides_when_authz_is_unavailable(gateway: Gateway) -> None:
    policy = gateway.settings.offline_authorization_policy
    gateway.authz.tokens["KNOWN"] = authz_pb2.AuthorizeResponse(status=ACCEPTED)
    socket = await connect(gateway, "CP-OFF")
    socket201 = await connect(gateway, "CS-OFF", "ocpp2.0.1")
    try:
        assert (await exchange(socket, authorize_16("a-0", "KNOWN")))[2]["idTagInfo"]["status"] == "Accepted"
        gateway.authz.authorize_unavailable = True
        known = (await exchange(socket, authorize_16("a-1", "KNOWN")))[2]["idTagInfo"]["status"]
        stranger = (await exchange(socket, authorize_16("a-2", "STRANGER")))[2]["idTagInfo"]["status"]
        stranger201 = await exchange(
            socket201, [2, "a-3", "Authorize", {"idToken": {"idToken": "STRANGER", "type": "ISO14443"}}]
        )
        # Past the deadline counts as unavailable too.
        gateway.authz.authorize_unavailable = False
        gateway.authz.authorize_delay = 1.0
        late_known = (await exchange(socket, authorize_16("a-4", "KNOWN")))[2]["idTagInfo"]["status"]
    finally:
        await socket.close()
        await socket201.close()
    expected = {
        "reject": ("Invalid", "Invalid", "Unknown"),
        "accept": ("Accepted", "Accepted", "Accepted"),
        "accept_known": ("Accepted", "Invalid", "Unknown"),
    }[policy]
    assert (known, stranger, stranger201[2]["idTokenInfo"]["status"]) == expected
    assert late_known == expected[0]

    decisions = [e.authorization for e in mine(await gateway.events(StreamFamily.AUTHORIZATION), "CP-OFF")]
    assert [(d.id_token, d.decided_offline, d.policy_id) for d in decisions] == [
        ("KNOWN", True, f"offline:{policy}"),
        ("STRANGER", True, f"offline:{policy}"),
        ("KNOWN", True, f"offline:{policy}"),
    ]
    assert [d.status for d in decisions] == [
        ACCEPTED if s == "Accepted" else UNKNOWN for s in (known, stranger, late_known)
    ]
    assert "UNAVAILABLE" in decisions[0].reason and "DEADLINE_EXCEEDED" in decisions[2].reason
    (decision201,) = [e.authorization for e in mine(await gateway.events(StreamFamily.AUTHORIZATION), "CS-OFF")]
    assert (decision201.id_token, decision201.id_token_type, decision201.decided_offline) == (
        "STRANGER",
        "ISO14443",
        True,
    )
    # The known-token cache names no token in clear.
    keys = [key.decode() for key in await gateway.redis.keys("cw:gw:known-token:*")]
    assert len(keys) == (1 if policy == "accept_known" else 0)
    assert not any("KNOWN" in key for key in keys)
