"""Fixtures shared by every tier: real servers started on free loopback ports, stopped by pid."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from chargewatch.devstack.processes import (
    ManagedProcess,
    start_identity_provider,
    start_mongo_store,
    start_redis,
)


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
