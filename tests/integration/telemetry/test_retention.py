"""Retention on the store the tests run on: TTL indexes on MongoDB; on nx-27017 (whose TTL index
scans the whole collection before every operation) sweep rules instead, applied periodically."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from chargewatch.mongo import Document, IndexSpec, create_mongo_client, ensure_indexes
from chargewatch.telemetry import retention

SPECS = [
    IndexSpec("hours", [("t", 1)], name="ttl", expire_after_seconds=3600),
    IndexSpec("hours", [("connector", 1)], name="by_connector"),
]


@pytest.fixture
async def client(mongo_url: str) -> AsyncIterator[AsyncMongoClient[Document]]:
    mongo: AsyncMongoClient[Document] = create_mongo_client(mongo_url, app_name="retention-test")
    await mongo.drop_database("retention")
    yield mongo
    await mongo.drop_database("retention")
    await mongo.close()


def test_ttl_indexes_become_sweep_rules_only_in_sweep_mode() -> None:
    indexes, rules = retention.split(SPECS, "sweep")
    assert [i.name for i in indexes] == ["by_connector"]
    assert rules == [retention.Rule("hours", "t", 3600)]
    assert retention.split(SPECS, "ttl") == (SPECS, [])
    assert retention.is_local_store({"process": "nx_27017", "version": "7.0.0"})
    assert not retention.is_local_store({"version": "7.0.14", "gitVersion": "abc"})


async def ttl_indexes(db: AsyncDatabase[Document]) -> list[str]:
    return [i["name"] async for i in await db.hours.list_indexes() if "expireAfterSeconds" in i]


async def test_sweep_mode_drops_ttl_indexes_and_sweeps_only_what_expired(client: AsyncMongoClient[Document]) -> None:
    db = client["retention"]
    await ensure_indexes(db, SPECS)  # as an earlier run in TTL mode left it
    assert len(await ttl_indexes(db)) == 1  # (the local store names indexes its own way)
    rules = await retention.prepare(client, db, SPECS, "sweep")
    assert rules == [retention.Rule("hours", "t", 3600)]
    assert await ttl_indexes(db) == []
    now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    await db.hours.insert_many(
        [
            {"_id": n, "connector": "c", "t": now - timedelta(minutes=minutes)}
            for n, minutes in enumerate((5, 59, 61, 600))
        ]
    )
    assert await retention.sweep(db, rules, now) == 2
    assert sorted([d["_id"] async for d in db.hours.find({})]) == [0, 1]


async def test_auto_mode_follows_the_server(client: AsyncMongoClient[Document]) -> None:
    local = retention.is_local_store(await client.admin.command("buildInfo"))
    db = client["retention"]
    rules = await retention.prepare(client, db, SPECS, "auto")
    assert (rules != []) == local
    assert (await ttl_indexes(db) == []) == local
