"""The whole platform on free ports, with a trace sink: started once for every module that asks for `live`
(they need the same configuration), stopped by pid after the last of them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chargewatch.devstack.platform import Platform, PlatformConfig, Ports
from chargewatch.devstack.trace_sink import TraceSink
from tests.conftest import stop_platform


@dataclass
class LivePlatform:
    platform: Platform
    traces: TraceSink


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules sharing `live` run last among this package's tests, so the package-scoped platform is
    stopped right after them instead of idling (and taking CPU) through the other modules' own stacks."""
    here = Path(__file__).parent
    positions = [i for i, item in enumerate(items) if item.path.parent == here]
    ours = sorted((items[i] for i in positions), key=lambda item: "live" in getattr(item, "fixturenames", ()))
    for position, item in zip(positions, ours, strict=True):
        items[position] = item


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePlatform]:
    sink = TraceSink()
    sink.start()
    platform = Platform(
        PlatformConfig(
            run_dir=tmp_path_factory.mktemp("platform"),
            ports=Ports.free(),
            stations=6,
            otlp_endpoint=sink.endpoint,
            status_change_every=2.0,
        )
    )
    platform.start()
    pids = platform.pids()
    yield LivePlatform(platform, sink)
    stop_platform(platform)
    sink.stop()
    # Stopping the platform leaves no process behind (test_platform_slice checks the pids are there first).
    left = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        left.append(pid)
    assert not left, f"still running after the platform stopped: {left}"
