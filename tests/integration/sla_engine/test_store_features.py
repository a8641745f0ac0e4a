"""Every MongoDB feature the SLA engine relies on, checked against the store the tests run on
(nx-27017 here; a real MongoDB when MONGO_URL points at one)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

from chargewatch.mongo import Document
from chargewatch.sla_engine import codec
from chargewatch.sla_engine.store import SlaStore, fence
from chargewatch.sla_engine.timeline import Segment
from tests.integration.sla_engine.sla_support import fresh_store

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(mongo_url: str) -> AsyncIterator[SlaStore]:
    async with fresh_store(mongo_url) as sla_store:
        yield sla_store


async def test_binary_fields_round_trip_and_are_projected(db: SlaStore) -> None:
    segments = [Segment(1, 2, "offline"), Segment(3, None, "faulted:GroundFailure")]
    blob, causes = codec.pack_segments(segments)
    await db.outages.insert_one({"_id": "S|1|2026", "year": 2026, "tenant_id": "a", "segs": blob, "causes": causes})
    stored = await db.outages.find_one({"year": {"$in": [2025, 2026]}, "tenant_id": "a"}, {"segs": 1, "causes": 1})
    assert stored is not None and set(stored) == {"_id", "segs", "causes"}
    assert codec.unpack_segments(stored["segs"], stored["causes"]) == segments
    assert codec.unpack_spans(stored["segs"]) == [(1, 2), (3, None)]


async def test_bulk_upserts_with_set_create_and_update_by_id(db: SlaStore) -> None:
    await db.ports.bulk_write([UpdateOne({"_id": f"S|{i}"}, {"$set": {"v": i}}, upsert=True) for i in range(3)])
    result = await db.ports.bulk_write(
        [UpdateOne({"_id": f"S|{i}"}, {"$set": {"w": i}}, upsert=True) for i in range(2, 5)], ordered=False
    )
    assert (result.upserted_count, result.matched_count) == (2, 1)
    documents = {d["_id"]: d async for d in db.ports.find({"_id": {"$in": ["S|0", "S|2", "S|4"]}})}
    assert documents == {
        "S|0": {"_id": "S|0", "v": 0},
        "S|2": {"_id": "S|2", "v": 2, "w": 2},
        "S|4": {"_id": "S|4", "w": 4},
    }


async def test_fenced_snapshot_writes_refuse_an_older_generation(db: SlaStore) -> None:
    first = await db.stations.bulk_write([UpdateOne(fence("S1", 3), {"$set": {"gen": 3, "x": 1}}, upsert=True)])
    assert first.upserted_count == 1
    stale = await db.stations.update_one(fence("S1", 2), {"$set": {"gen": 2, "x": 2}})
    assert stale.matched_count == 0
    newer = await db.stations.update_one(fence("S1", 4), {"$set": {"gen": 4, "x": 3}})
    assert newer.matched_count == 1
    assert await db.stations.find_one({"_id": "S1"}) == {"_id": "S1", "gen": 4, "x": 3}


async def test_min_max_and_add_to_set_upserts(db: SlaStore) -> None:
    def op(start: int, end: int, peak: float, codes: list[str]) -> UpdateOne:
        return UpdateOne(
            {"_id": "S|tx"},
            {
                "$set": {"station_id": "S"},
                "$min": {"started_ms": start},
                "$max": {"ended_ms": end, "peak_power_w": peak},
                "$addToSet": {"error_codes": {"$each": codes}},
            },
            upsert=True,
        )

    await db.sessions.bulk_write([op(100, 200, 7.5, ["A"])])
    await db.sessions.bulk_write([op(50, 150, 3.0, ["A", "B"])])
    assert await db.sessions.find_one({"_id": "S|tx"}) == {
        "_id": "S|tx",
        "station_id": "S",
        "started_ms": 50,
        "ended_ms": 200,
        "peak_power_w": 7.5,
        "error_codes": ["A", "B"],
    }


async def test_first_acknowledgement_wins_and_duplicates_are_refused(db: SlaStore) -> None:
    await db.incidents.insert_one({"_id": "inc-1", "opened_ms": 1, "superseded": 0, "open": 1})
    assert await db.acknowledge("inc-1", 10, "alice")
    assert not await db.acknowledge("inc-1", 20, "bob")
    stored = await db.incident("inc-1")
    assert stored is not None and (stored["ack_ms"], stored["ack_by"]) == (10, "alice")
    assert await db.mark_once("m1", {"kind": "x"})
    assert not await db.mark_once("m1", {"kind": "x"})
    with pytest.raises(DuplicateKeyError):
        await db.incidents.insert_one({"_id": "inc-1"})


async def test_descending_cursor_pages_with_an_explicit_and(db: SlaStore) -> None:
    rows: list[Document] = [
        {"_id": f"inc-{k}", "opened_ms": k // 2, "tenant_id": "a", "superseded": 0, "open": k % 2} for k in range(6)
    ]
    await db.incidents.insert_many(rows)
    after = {
        "$or": [{"opened_ms": {"$lt": 2}}, {"$and": [{"opened_ms": 2}, {"_id": {"$lt": "inc-5"}}]}],
    }
    query = {"$and": [{"superseded": 0}, {"tenant_id": "a"}, after]}
    page = [d["_id"] async for d in db.incidents.find(query).sort([("opened_ms", -1), ("_id", -1)]).limit(3)]
    assert page == ["inc-4", "inc-3", "inc-2"]
    assert await db.incidents.count_documents({"$and": [{"open": 1}, {"superseded": 0}]}) == 3
