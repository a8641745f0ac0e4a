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
    """Authorization decisions rely on this: one bulk insert, duplicates (redeliveries) skipped."""
    from pymongo.errors import BulkWriteError

    await db.authorizations.insert_many([{"_id": "e1:0"}, {"_id": "e2:0"}])
    with pytest.raises(BulkWriteError) as error:
        await db.authorizations.insert_many([{"_id": "e1:0"}, {"_id": "e3:0"}, {"_id": "e2:0"}], ordered=False)
    assert error.value.details["nInserted"] == 1
    assert [(e["index"], e["code"]) for e in error.value.details["writeErrors"]] == [(0, 11000), (2, 11000)]
    assert await db.authorizations.count_documents({}) == 3


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


async def test_day_bucket_slots_set_one_field_each_and_keep_the_day(db) -> None:  # type: ignore[no-untyped-def]
    """Roll-ups and status days: one document per connector and day, one `$set` field per slot or
    change (inside an embedded document the first upsert creates), the day a datetime given on
    insert only, by `bulk_write` and by `update_one`; a sweep by that datetime finds it. (Array
    positions are not used: nx-27017 ignores `$set` on `a.<n>`.)"""
    from pymongo import UpdateOne

    day = datetime(2026, 3, 1, tzinfo=UTC)
    identity = {"connector": "CP|1|1", "t": day}
    first = {"$set": {"s.4": "1,10.5,,gap", "s.5": "2,20,,"}, "$setOnInsert": identity}
    again = {"$set": {"s.5": "3,30,,", "s.95": "1,1.5,,"}, "$setOnInsert": identity}
    await db.days.bulk_write([UpdateOne({"_id": "CP|1|1|d"}, first, upsert=True)])
    await db.days.bulk_write([UpdateOne({"_id": "CP|1|1|d"}, again, upsert=True)])
    assert await db.days.find_one({"_id": "CP|1|1|d"}) == {
        "_id": "CP|1|1|d",
        "connector": "CP|1|1",
        "t": day,
        "s": {"4": "1,10.5,,gap", "5": "3,30,,", "95": "1,1.5,,"},
    }
    for event, ms in (("e1", 1000), ("e2", 2000)):
        await db.status_days.update_one(
            {"_id": "CP|1|1|d"}, {"$set": {f"c.{event}": [ms, 3]}, "$setOnInsert": {"day": day}}, upsert=True
        )
    stored = await db.status_days.find_one({"_id": "CP|1|1|d"})
    assert stored == {"_id": "CP|1|1|d", "c": {"e1": [1000, 3], "e2": [2000, 3]}, "day": day}
    assert (await db.status_days.delete_many({"day": {"$lt": day + timedelta(seconds=1)}})).deleted_count == 1


async def test_only_id_lookups_and_id_in_are_needed(db) -> None:  # type: ignore[no-untyped-def]
    """Telemetry reads its time series by `_id` (equality or `$in` of ids it computes): the one
    filter the local store answers from an index. Ids missing from the store are simply absent."""
    await db.hours.insert_many([{"_id": f"CP|1|1|{hour}", "n": hour} for hour in range(0, 10)])
    found = [d["n"] async for d in db.hours.find({"_id": {"$in": ["CP|1|1|3", "CP|1|1|7", "CP|1|1|99"]}})]
    assert sorted(found) == [3, 7]
    assert (await db.hours.find_one({"_id": "CP|1|1|4"}))["n"] == 4


async def test_event_id_keys_in_paths(db) -> None:  # type: ignore[no-untyped-def]
    """Readings and status changes are keyed by event id (`r.<event id>:<n>`, `c.<event id>`):
    setting the same key again replaces it, other keys stay."""
    from pymongo import UpdateOne

    on_insert = {"t": datetime(2026, 3, 1, tzinfo=UTC)}
    first = {"$set": {"r.ab12:0": {"t": 5, "e": 1.5}, "r.ab13:0": {"t": 6}}, "$setOnInsert": on_insert}
    again = {"$set": {"r.ab12:0": {"t": 5, "e": 1.5, "f": ["gap"]}}, "$setOnInsert": on_insert}
    await db.hours.bulk_write([UpdateOne({"_id": "h"}, first, upsert=True)])
    await db.hours.bulk_write([UpdateOne({"_id": "h"}, again, upsert=True)])
    await db.status_index.update_one({"_id": "CP|1|1"}, {"$set": {"d.1772323200000": 1}}, upsert=True)
    await db.status_index.update_one({"_id": "CP|1|1"}, {"$set": {"d.1772409600000": 1}}, upsert=True)
    assert await db.hours.find_one({"_id": "h"}) == {
        "_id": "h",
        "r": {"ab12:0": {"t": 5, "e": 1.5, "f": ["gap"]}, "ab13:0": {"t": 6}},
        "t": on_insert["t"],
    }
    assert await db.status_index.find_one({"_id": "CP|1|1"}) == {
        "_id": "CP|1|1",
        "d": {"1772323200000": 1, "1772409600000": 1},
    }


async def test_max_only_raises_and_skips_missing_documents(db) -> None:  # type: ignore[no-untyped-def]
    """last_seen: `$max` by `_id`, in any order; no upsert, so unknown stations stay unknown."""
    from pymongo import UpdateOne

    await db.stations.insert_many([{"_id": "A"}, {"_id": "B", "last_seen_ms": 100}])
    await db.stations.bulk_write(
        [UpdateOne({"_id": s}, {"$max": {"last_seen_ms": 50}}) for s in ("A", "B", "C")], ordered=False
    )
    await db.stations.bulk_write([UpdateOne({"_id": "B"}, {"$max": {"last_seen_ms": 150}})])
    assert [d async for d in db.stations.find({})] == [
        {"_id": "A", "last_seen_ms": 50},
        {"_id": "B", "last_seen_ms": 150},
    ]


async def test_log_blobs_round_trip_and_are_removed_by_id(db) -> None:  # type: ignore[no-untyped-def]
    """The ingest log: compressed BSON blobs in generated-id documents, read a page at a time and
    deleted by `_id $in` (entries logged meanwhile stay)."""
    from chargewatch.telemetry.meters import decode_entries, encode_entries

    entries = [("CP|1|1", f"e{n}:0", {"t": 1_000 + n, "e": 10.5 * n, "f": ["gap"]}) for n in range(300)]
    for n in range(5):
        await db.log.insert_one({"t": datetime.now(UTC), "n": n, "r": encode_entries(entries[n * 60 : n * 60 + 60])})
    page = [d async for d in db.log.find({}, {"r": 1}).limit(3)]
    assert len(page) == 3 and all(isinstance(d["r"], bytes) for d in page)
    await db.log.delete_many({"_id": {"$in": [d["_id"] for d in page]}})
    rest = [d async for d in db.log.find({})]
    assert len(rest) == 2
    decoded = [e for d in [*page, *rest] for e in decode_entries(d["r"])]
    assert sorted(decoded) == sorted(entries)
