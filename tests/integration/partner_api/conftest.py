"""One platform for every partner API test module (starting it takes a while), stopped by pid at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.partner_api.stack import Stack, raise_incidents_and_alerts, running_stack, wait_for


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Schemathesis last: with an operator's token it acknowledges and resolves the incidents, alerts and
    exclusions it finds (their ids are in the answers it reads), which the other modules' checks rely on."""
    here = Path(__file__).parent
    positions = [i for i, item in enumerate(items) if item.path.parent == here]
    # Reordered in place among this package's own positions, so the package's tests stay together.
    ours = sorted((items[i] for i in positions), key=lambda item: item.path.name == "test_schemathesis.py")
    for position, item in zip(positions, ours, strict=True):
        items[position] = item


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("partner-api-platform")) as running:
        # An open SLA incident and a security alert per tenant, for the routes that serve them (first: the
        # fleet connects meanwhile, instead of being waited for before these start).
        raise_incidents_and_alerts(running)
        # Every station connected and reporting, before any test looks.
        with running.client("operator") as client:
            wait_for(
                lambda: (
                    (page := client.get("/v1/stations", params={"limit": 100}).json())["total"] >= 6
                    and all(s["online"] and s["connectors"] for s in page["items"])
                ),
                timeout=60,
            )
        yield running
