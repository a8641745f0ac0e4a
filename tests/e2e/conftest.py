"""The whole platform, started once per test module on free ports, with a trace sink."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from chargewatch.devstack.platform import Platform, PlatformConfig, Ports
from chargewatch.devstack.trace_sink import TraceSink


@dataclass
class LivePlatform:
    platform: Platform
    traces: TraceSink


@pytest.fixture(scope="module")
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
    yield LivePlatform(platform, sink)
    platform.stop()
    sink.stop()
