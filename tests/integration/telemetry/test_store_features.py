"""The MongoDB features telemetry relies on, checked against the store the tests run on
(nx-27017 here; a real MongoDB when MONGO_URL points at one)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from chargewatch.mongo import Document, IndexSpec, create_mongo_client, ensure_indexes, ping


@pytest.fixture
async def db(mongo_url: str) -> AsyncIterator[object]:
    client: AsyncMongoClient[Document] = create_mongo_client(mongo_url, app_name="store-features")
    await client.drop_database("store_features")
    yield client["store_features"]
    await client.drop_database("store_features")
    await client.close()


async def test_ping_and_tz_aware_datetimes_round_trip(db, mongo_url: str) -> None:  # type: ignore[no-untyped-def]
    client: AsyncMongoClient[Document] = create_mongo_client(mongo_url, app_name="ping")
    assert await ping(client)
    await client.close()
    moment = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    await db.history.insert_one({"_id": "e1", "station_time": moment})
    stored = await db.history.find_one({"_id": "e1"})
    assert stored["station_time"] == moment
    assert stored["station_time"].tzinfo is not None


async def test_duplicate_id_is_refused(db) -> None:  # type: ignore[no-untyped-def]
    await db.history.insert_one({"_id": "event-1"})
    with pytest.raises(DuplicateKeyError):
        await db.history.insert_one({"_id": "event-1"})


async def test_conditional_update_on_nested_epoch_ms(db) -> None:  # type: ignore[no-untyped-def]
    await db.stations.insert_one({"_id": "S1", "connectors": {}})

    async def set_if_newer(ms: int, event_id: str, status: int) -> int:
        condition = {
            "$or": [
                {"connectors.1-1.since_ms": {"$exists": False}},
                {"connectors.1-1.since_ms": {"$lt": ms}},
                {"connectors.1-1.since_ms": ms, "connectors.1-1.event_id": {"$lt": event_id}},
            ]
        }
        result = await db.stations.update_one(
            {"_id": "S1", **condition},
            {"$set": {"connectors.1-1": {"status": status, "since_ms": ms, "event_id": event_id}}},
        )
        return result.matched_count

    assert await set_if_newer(2000, "b", 3) == 1
    assert await set_if_newer(1000, "z", 1) == 0  # older
    assert await set_if_newer(2000, "b", 3) == 0  # the same event again
    assert await set_if_newer(2000, "a", 9) == 0  # same time, lower id loses
    assert await set_if_newer(2000, "c", 5) == 1  # same time, higher id wins
    stored = await db.stations.find_one({"_id": "S1"})
    assert stored["connectors"]["1-1"] == {"status": 5, "since_ms": 2000, "event_id": "c"}


async def test_filters_sort_limit_count_and_array_membership(db) -> None:  # type: ignore[no-untyped-def]
    for index in range(6):
        await db.stations.insert_one(
            {
                "_id": f"S{index}",
                "tenant_id": "a" if index % 2 == 0 else "b",
                "statuses": [1, 9] if index == 2 else [1],
                "connectivity": "online" if index < 3 else "offline",
                "location": {"lat": 50.0 + index, "lon": 4.0},
            }
        )
    page = [d["_id"] async for d in db.stations.find({"tenant_id": "a", "_id": {"$gt": "S0"}}).sort("_id", 1).limit(1)]
    assert page == ["S2"]
    assert await db.stations.count_documents({"tenant_id": "a"}) == 3
    await ensure_indexes(db, [IndexSpec("stations", [("statuses", 1)])])
    assert [d["_id"] async for d in db.stations.find({"statuses": {"$in": [9]}})] == ["S2"]
    assert {d["_id"] async for d in db.stations.find({"connectivity": "online"})} == {"S0", "S1", "S2"}
    box = {"location.lat": {"$gte": 51.5, "$lte": 53.5}, "location.lon": {"$gte": 3.0, "$lte": 5.0}}
    assert {d["_id"] async for d in db.stations.find(box)} == {"S2", "S3"}


async def test_indexes_including_ttl_are_created(db) -> None:  # type: ignore[no-untyped-def]
    await ensure_indexes(
        db,
        [
            IndexSpec("history", [("station_id", 1), ("station_time", 1)], name="by_station_time"),
            IndexSpec(
                "history",
                [("received_time", 1)],
                name="ttl",
                expire_after_seconds=int(timedelta(days=1).total_seconds()),
            ),
        ],
    )
    # The store may name indexes its own way: compare keys and options.
    indexes = [index async for index in await db.history.list_indexes()]
    keys = [list(index["key"].items()) for index in indexes]
    assert [("station_id", 1), ("station_time", 1)] in keys
    ttl = [index for index in indexes if list(index["key"].items()) == [("received_time", 1)]]
    assert ttl and ttl[0].get("expireAfterSeconds") == 86_400


async def test_conditional_update_touches_only_the_named_document(db) -> None:  # type: ignore[no-untyped-def]
    """`{"_id": A, "$or": [...]}` must never update B.

    nx-27017 reads that filter as `_id = A AND x OR y` and updated another station whose field
    satisfied the second branch; the explicit `$and` form is answered right by both stores.
    """
    await db.stations.insert_many([{"_id": "A", "last_seen_ms": 10}, {"_id": "B", "last_seen_ms": 1}])
    newer_than_5 = {"$or": [{"last_seen_ms": {"$exists": False}}, {"last_seen_ms": {"$lt": 5}}]}
    result = await db.stations.update_one({"$and": [{"_id": "A"}, newer_than_5]}, {"$set": {"last_seen_ms": 5}})
    assert result.matched_count == 0
    assert await db.stations.find_one({"_id": "B"}) == {"_id": "B", "last_seen_ms": 1}
    result = await db.stations.update_one({"$and": [{"_id": "B"}, newer_than_5]}, {"$set": {"last_seen_ms": 5}})
    assert result.matched_count == 1
    assert await db.stations.find_one({"_id": "A"}) == {"_id": "A", "last_seen_ms": 10}


async def test_unordered_bulk_insert_reports_only_the_duplicates(db) -> None:  # type: ignore[no-untyped-def]
    """The meter ingest relies on this: one bulk insert, duplicates (redeliveries) skipped."""
    from pymongo.errors import BulkWriteError

    await db.meter_values.insert_many([{"_id": "e1:0"}, {"_id": "e2:0"}])
    with pytest.raises(BulkWriteError) as error:
        await db.meter_values.insert_many([{"_id": "e1:0"}, {"_id": "e3:0"}, {"_id": "e2:0"}], ordered=False)
    assert error.value.details["nInserted"] == 1
    assert [(e["index"], e["code"]) for e in error.value.details["writeErrors"]] == [(0, 11000), (2, 11000)]
    assert await db.meter_values.count_documents({}) == 3


async def test_upsert_keeps_a_datetime_given_on_insert_only(db) -> None:  # type: ignore[no-untyped-def]
    """Roll-ups: `$set` the figures, `$setOnInsert` the bucket time, which stays a real datetime
    (range queries and the TTL index need one) however often the bucket is recomputed."""
    from pymongo import UpdateOne

    bucket = datetime(2026, 3, 1, 12, 15, tzinfo=UTC)
    for samples in (1, 2):
        await db.rollups.bulk_write(
            [UpdateOne({"_id": "c|1"}, {"$set": {"samples": samples}, "$setOnInsert": {"t": bucket}}, upsert=True)]
        )
    stored = await db.rollups.find_one({"_id": "c|1"})
    assert stored == {"_id": "c|1", "samples": 2, "t": bucket}
    found = [d["_id"] async for d in db.rollups.find({"t": {"$gte": bucket, "$lt": bucket + timedelta(minutes=15)}})]
    assert found == ["c|1"]


async def test_in_range_sort_and_keyset_page_conditions(db) -> None:  # type: ignore[no-untyped-def]
    """Sessions pages: `$in` stations, a start-time range, newest first, then (ms, _id) < cursor."""
    await db.sessions.insert_many(
        [{"_id": f"S{i % 3}|tx{i}", "station_id": f"S{i % 3}", "started_ms": 1000 + (i // 2)} for i in range(8)]
    )
    query = {"$and": [{"station_id": {"$in": ["S0", "S1"]}}, {"started_ms": {"$gte": 1000, "$lt": 1004}}]}
    assert await db.sessions.count_documents(query) == 6
    first = [d async for d in db.sessions.find(query).sort([("started_ms", -1), ("_id", -1)]).limit(3)]
    assert [d["_id"] for d in first] == ["S1|tx7", "S0|tx6", "S1|tx4"]
    last = first[-1]
    after = {
        "$and": [
            *query["$and"],
            {
                "$or": [
                    {"started_ms": {"$lt": last["started_ms"]}},
                    {"$and": [{"started_ms": last["started_ms"]}, {"_id": {"$lt": last["_id"]}}]},
                ]
            },
        ]
    }
    rest = [d["_id"] async for d in db.sessions.find(after).sort([("started_ms", -1), ("_id", -1)])]
    assert rest == ["S0|tx3", "S1|tx1", "S0|tx0"]


async def test_newest_document_by_sorted_find_one(db) -> None:  # type: ignore[no-untyped-def]
    """A connector's last reading: find_one with a descending sort on the reading time."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    await db.meter_values.insert_many(
        [{"_id": i, "connector": "c", "t": start + timedelta(minutes=i)} for i in (3, 1, 2)]
    )
    newest = await db.meter_values.find_one({"connector": "c"}, sort=[("t", -1)])
    assert newest is not None and newest["_id"] == 3
