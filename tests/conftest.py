"""Fixtures shared by every tier: real servers started on free loopback ports, stopped by pid."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from chargewatch.devstack.platform import Platform
from chargewatch.devstack.processes import (
    ManagedProcess,
    start_identity_provider,
    start_mongo_store,
    start_redis,
)

INFRASTRUCTURE = ("redis", "mongo", "identity-provider")


def stop_platform(platform: Platform, timeout: float = 15.0) -> None:
    """Platform.stop(), faster: every service and simulator gets SIGTERM at once and drains on its own
    (one after the other, their drains add up to seconds); then Platform.stop() stops what is left, the
    infrastructure last, each by its pid (and SIGKILLs whatever outstays its time)."""
    draining = [p for p in platform.processes if p.name not in INFRASTRUCTURE and p.alive()]
    for process in draining:
        process.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in draining:
        # What outstays the deadline is left to Platform.stop(), which escalates to SIGKILL.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.popen.wait(max(deadline - time.monotonic(), 0.1))
    platform.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    server = start_redis(log_dir=tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: ManagedProcess) -> str:
    return f"redis://127.0.0.1:{redis_server.port}/0"


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client on an empty database."""
    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    base: Path = tmp_path_factory.mktemp("mongo")
    server = start_mongo_store(log_dir=base, data_dir=base / "data")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_url(mongo_server: ManagedProcess) -> str:
    return f"mongodb://127.0.0.1:{mongo_server.port}/"


@pytest.fixture(scope="session")
def identity_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    server = start_identity_provider(log_dir=tmp_path_factory.mktemp("idp"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def keycloak_url(identity_provider: ManagedProcess) -> str:
    return f"http://127.0.0.1:{identity_provider.port}"
