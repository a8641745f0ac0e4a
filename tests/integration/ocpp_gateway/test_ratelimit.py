"""The per-station rate limit: GenericError past the bucket, one security event per window."""

from __future__ import annotations

from typing import Any

import pytest

from chargewatch.streams import StreamFamily
from tests.integration.ocpp_gateway.conftest import Gateway
from tests.integration.ocpp_gateway.test_bad_input import connect, exchange
from tests.integration.ocpp_gateway.test_messages_16 import mine


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limit_messages_per_second": 0.5, "rate_limit_burst": 3, "rate_limit_report_window_seconds": 60}


async def test_a_flooding_station_is_limited_and_reported_once(gateway: Gateway) -> None:
    flood = await connect(gateway, "CP-FLOOD")
    calm = await connect(gateway, "CP-CALM")
    try:
        answers = [await exchange(flood, [2, f"hb-{n}", "Heartbeat", {}]) for n in range(8)]
        garbage = await exchange(flood, "not json")
        # The neighbour has its own bucket.
        assert (await exchange(calm, [2, "hb", "Heartbeat", {}]))[0] == 3
    finally:
        await flood.close()
        await calm.close()
    assert [a[0] for a in answers] == [3, 3, 3, 4, 4, 4, 4, 4]
    limited = answers[3]
    assert limited[1:4] == ["hb-3", "GenericError", "rate limit exceeded"]
    assert 0 < limited[4]["retryAfterSeconds"] <= 2
    assert garbage[:3] == [4, "-1", "GenericError"]
    heartbeats = [e for e in mine(await gateway.events(StreamFamily.CONNECTION), "CP-FLOOD") if e.HasField("heartbeat")]
    assert len(heartbeats) == 3
    security = [e.security for e in mine(await gateway.events(StreamFamily.SECURITY), "CP-FLOOD")]
    # One report for the whole flood; the refused garbage earns no InvalidMessage event either.
    assert [s.type for s in security] == ["MessageRateExceeded"]
    assert (security[0].attributes["burst"], security[0].attributes["rate_per_second"]) == ("3", "0.5")
    # A reconnect does not reset the one-per-window rule.
    again = await connect(gateway, "CP-FLOOD")
    try:
        for n in range(5):
            await exchange(again, [2, f"x-{n}", "Heartbeat", {}])
    finally:
        await again.close()
    security = [e.security for e in mine(await gateway.events(StreamFamily.SECURITY), "CP-FLOOD")]
    assert [s.type for s in security] == ["MessageRateExceeded"]
    assert not mine(await gateway.events(StreamFamily.SECURITY), "CP-CALM")
