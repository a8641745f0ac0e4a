"""What the running platform serves on /metrics: every name is one the code declares (so the dashboards and
alert rules, checked against those declarations in tests/deploy, read real series), and the series the
fleet-uptime, SLA and stream-lag dashboards need appear once stations talk."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from chargewatch.devstack.platform import SERVICES
from tests.deploy import metrics_catalogue as catalogue
from tests.e2e.conftest import LivePlatform

pytestmark = pytest.mark.e2e

_SAMPLE = re.compile(r"^(chargewatch_[a-zA-Z0-9_]+)(\{[^}]*\})? (\S+)$", flags=re.MULTILINE)


def _scrape(live: LivePlatform) -> dict[str, list[tuple[str, float]]]:
    """Service -> [(sample name with labels, value)] of its chargewatch_* samples."""
    found = {}
    for service in SERVICES:
        text = httpx.get(f"http://127.0.0.1:{live.platform.config.ports.ops(service)}/metrics", timeout=5).text
        found[service] = [(name + (labels or ""), float(value)) for name, labels, value in _SAMPLE.findall(text)]
    return found


def _total(samples: list[tuple[str, float]], prefix: str, *labels: str) -> float:
    return sum(v for name, v in samples if name.startswith(prefix) and all(label in name for label in labels))


def _known_ports(live: LivePlatform) -> set[tuple[str, int]]:
    """Every port the SLA engine lists: the fleet's and those of stations other tests on this shared
    platform registered and drove."""
    token = live.platform.token("operator")
    reply = httpx.get(
        f"{live.platform.api_url}/v1/sla/ports",
        params={"limit": 500},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    reply.raise_for_status()
    page = reply.json()
    # Not `total == len(items)`: the count and the page are separate reads, and the fleet's ports are
    # still being created when this starts (a count of 0 beside 13 items was seen); the caller retries.
    assert len(page["items"]) < 500, "more ports than one page"
    return {(p["station_id"], p["evse_id"]) for p in page["items"]}


def test_the_services_serve_only_declared_metrics_and_the_dashboards_series(live: LivePlatform) -> None:
    fleet_ports = {(spec.station_id, evse) for spec in live.platform.fleet for evse in range(1, spec.connectors + 1)}
    deadline = time.monotonic() + 90
    while True:
        known = _known_ports(live)
        scraped = _scrape(live)
        ready = (
            known >= fleet_ports
            and _total(scraped["sla-engine"], "chargewatch_sla_ports{") == len(known)
            and _total(scraped["ocpp-gateway"], "chargewatch_ocpp_connections{") >= 6
            and _total(scraped["telemetry"], "chargewatch_stream_consumer_lag_seconds_count") > 0
            and _total(scraped["sla-engine"], "chargewatch_stream_consumer_lag_seconds_count") > 0
        )
        if ready or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert ready, {service: sorted({n.split("{")[0] for n, _ in samples}) for service, samples in scraped.items()}

    served = {name.split("{")[0] for samples in scraped.values() for name, _ in samples}
    assert served <= catalogue.exported_names(), (
        f"served but not declared: {sorted(served - catalogue.exported_names())}"
    )
    # The SLA engine counts every port (a 1.6 connector, a 2.0.1 EVSE) that reported a status, once.
    states = {name for name, _ in scraped["sla-engine"] if name.startswith("chargewatch_sla_ports{")}
    assert any('state="available"' in name or 'state="occupied"' in name for name in states), states
    assert _total(scraped["ocpp-gateway"], "chargewatch_stream_published_total", 'family="status"') > 0
