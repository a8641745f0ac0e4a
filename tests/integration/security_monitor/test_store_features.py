"""The MongoDB features the security monitor relies on, checked against the store the tests run on
(nx-27017 here; a real MongoDB when MONGO_URL points at one)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient, ReplaceOne
from pymongo.errors import DuplicateKeyError

from chargewatch.mongo import Document, create_mongo_client, ensure_indexes
from chargewatch.security_monitor import store

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(mongo_url: str) -> AsyncIterator[Any]:
    client: AsyncMongoClient[Document] = create_mongo_client(mongo_url, app_name="security-store-features")
    await client.drop_database("security_store_features")
    yield client["security_store_features"]
    await client.drop_database("security_store_features")
    await client.close()


async def test_declared_indexes_are_created(db: Any) -> None:
    await ensure_indexes(db, store.indexes(30))
    indexes = [index async for index in await db.alerts.list_indexes()]
    retention = [i for i in indexes if list(i["key"]) == ["closed_at"]]
    assert retention and retention[0].get("expireAfterSeconds") == 30 * 86_400


async def test_key_documents_are_unique_and_deleted_conditionally(db: Any) -> None:
    await db.alert_keys.insert_one({"_id": "rule|station|S1", "alert_id": "a1"})
    with pytest.raises(DuplicateKeyError):
        await db.alert_keys.insert_one({"_id": "rule|station|S1", "alert_id": "a2"})
    assert (await db.alert_keys.delete_one({"_id": "rule|station|S1", "alert_id": "a2"})).deleted_count == 0
    assert (await db.alert_keys.delete_one({"_id": "rule|station|S1", "alert_id": "a1"})).deleted_count == 1


async def test_update_conditional_on_state_reports_matches(db: Any) -> None:
    await db.alerts.insert_one({"_id": "a1", "state": 1, "evidence": [{"event_id": "e1"}]})
    open_states = {"$in": [1, 2]}
    first = await db.alerts.update_one({"_id": "a1", "state": open_states}, {"$set": {"state": 3, "note": "x"}})
    assert first.matched_count == 1
    again = await db.alerts.update_one({"_id": "a1", "state": open_states}, {"$set": {"occurrences": 2}})
    assert again.matched_count == 0
    doc = await db.alerts.find_one({"_id": "a1"})
    assert doc["state"] == 3 and "occurrences" not in doc and doc["evidence"] == [{"event_id": "e1"}]


async def test_array_membership_sort_and_cursor_on_string_ids(db: Any) -> None:
    ids = [store.new_id() for _ in range(5)]
    assert ids == sorted(ids)  # time-ordered
    for index, alert_id in enumerate(ids):
        await db.alerts.insert_one(
            {"_id": alert_id, "station_ids": ["S1", "S2"] if index % 2 else ["S3"], "tenant_id": "t", "severity": index}
        )
    newest_first = [d["_id"] async for d in db.alerts.find({"station_ids": "S1"}).sort("_id", -1)]
    assert newest_first == [ids[3], ids[1]]
    after = [
        d["_id"] async for d in db.alerts.find({"_id": {"$lt": ids[3]}, "tenant_id": "t"}).sort("_id", -1).limit(2)
    ]
    assert after == [ids[2], ids[1]]
    assert await db.alerts.count_documents({"severity": {"$gte": 2}}) == 3
    page = [d["_id"] async for d in db.alerts.find({}).sort([("severity", -1), ("_id", 1)]).skip(1).limit(2)]
    assert page == [ids[3], ids[2]]


async def test_bulk_replace_with_upsert_and_delete_not_in(db: Any) -> None:
    await db.profiles.bulk_write(
        [ReplaceOne({"_id": f"S{i}"}, {"_id": f"S{i}", "kind": "station", "n": i}, upsert=True) for i in range(3)],
        ordered=False,
    )
    await db.profiles.bulk_write([ReplaceOne({"_id": "S1"}, {"_id": "S1", "kind": "station", "n": 10}, upsert=True)])
    docs = {d["_id"]: d["n"] async for d in db.profiles.find({"kind": "station"})}
    assert docs == {"S0": 0, "S1": 10, "S2": 2}
    await db.profiles.delete_many({"_id": {"$nin": ["S1"]}})
    assert [d["_id"] async for d in db.profiles.find({})] == ["S1"]


async def test_nested_lists_and_datetimes_round_trip(db: Any) -> None:
    moment = datetime(2027, 1, 1, tzinfo=UTC)
    doc = {
        "_id": "p",
        "networks": [["10.0.0.0/24", 1.5]],
        "history": [{"state": 1, "at": moment}],
        "window_model": {"learned": 3, "stats": {"messages": [1.0, 0.25, 3.0]}},
        "expires_at": moment + timedelta(hours=1),
        "dry_run": False,
    }
    await db.profiles.replace_one({"_id": "p"}, doc, upsert=True)
    back = await db.profiles.find_one({"_id": "p"})
    assert back["networks"] == [["10.0.0.0/24", 1.5]]
    assert back["history"][0]["at"] == moment and back["expires_at"].tzinfo is not None
    assert back["window_model"]["stats"]["messages"] == [1.0, 0.25, 3.0]
    assert back["dry_run"] is False


async def test_find_with_projection_and_not_equal(db: Any) -> None:
    await db.actions.insert_many(
        [
            {"_id": "x1", "subject_id": "S", "kind": 1, "state": 2},
            {"_id": "x2", "subject_id": "S", "kind": 1, "state": 2},
        ]
    )
    other = await db.actions.find_one({"subject_id": "S", "kind": 1, "state": 2, "_id": {"$ne": "x1"}})
    assert other["_id"] == "x2"
    projected = await db.actions.find_one({"_id": "x1"}, {"state": 1})
    assert set(projected) == {"_id", "state"}


async def test_dates_keep_their_type_only_when_documents_are_replaced(db: Any) -> None:
    """Why the monitor rewrites whole documents: on nx-27017 a date written with `$set` reads back as a
    string (a real MongoDB keeps it a date); `replace_one` keeps dates, nested or not, on both."""
    moment = datetime(2027, 1, 1, tzinfo=UTC)
    await db.alerts.insert_one({"_id": "a", "rev": 0, "state": 1})
    replaced = await db.alerts.replace_one(
        {"_id": "a", "rev": 0}, {"rev": 1, "state": 3, "closed_at": moment, "history": [{"at": moment}]}
    )
    assert replaced.matched_count == 1
    doc = await db.alerts.find_one({"_id": "a"})
    assert doc["closed_at"] == moment and doc["history"][0]["at"] == moment
    stale = await db.alerts.replace_one({"_id": "a", "rev": 0}, {"rev": 1, "state": 1})
    assert stale.matched_count == 0
    await db.alerts.update_one({"_id": "a"}, {"$set": {"updated_at": moment}})
    doc = await db.alerts.find_one({"_id": "a"})
    assert doc["updated_at"] == moment or isinstance(doc["updated_at"], str)  # the store's known bug
