"""The MongoDB features the webhook store relies on, through the store itself, against the store the tests
run on (nx-27017 here; a real MongoDB when MONGO_URL points at one)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from chargewatch.mongo import Document, create_mongo_client, ensure_indexes
from chargewatch.partner_api import webhooks

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(mongo_url: str) -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = create_mongo_client(mongo_url, app_name="partner-api-store-features")
    await client.drop_database("partner_api_features")
    database = client["partner_api_features"]
    await ensure_indexes(database, webhooks.indexes())
    yield database
    await client.drop_database("partner_api_features")
    await client.close()


async def test_webhooks_insert_page_by_tenant_with_cursor_and_count(db: AsyncDatabase[Document]) -> None:
    store = webhooks.WebhookStore(db, refresh_seconds=0)
    made = []
    for tenant in ("partner-a", "partner-b", "partner-a", None, "partner-a"):
        made.append(
            await store.create(
                url="https://hooks.example/x", events=["station.status"], tenant_id=tenant, description=None, owner="t"
            )
        )
    ids_a = sorted(d["_id"] for d in made if d["tenant_id"] == "partner-a")
    page, total = await store.page("partner-a", None, 2)
    assert total == 3
    assert [d["_id"] for d in page] == ids_a  # limit + 1 read, sorted by id
    rest, _ = await store.page("partner-a", ids_a[1], 2)
    assert [d["_id"] for d in rest] == ids_a[2:]
    everything, total_all = await store.page(None, None, 10)
    assert total_all == 5 and len(everything) == 5
    # Operator-wide (None) subscriptions are stored and read back as None, not as a string.
    assert sum(1 for d in everything if d["tenant_id"] is None) == 1


async def test_webhooks_get_scoped_update_delete(db: AsyncDatabase[Document]) -> None:
    store = webhooks.WebhookStore(db, refresh_seconds=0)
    document = await store.create(
        url="https://hooks.example/x", events=["station.status"], tenant_id="partner-a", description="d", owner="t"
    )
    hook_id = document["_id"]
    assert await store.get(hook_id, "partner-b") is None
    found = await store.get(hook_id, None)
    assert found is not None and found["description"] == "d"
    await store.record_attempt(hook_id, 500, "answered 500")
    await store.record_attempt(hook_id, 204, None)
    stored = await store.get(hook_id, "partner-a")
    assert stored is not None
    assert stored["last_status"] == 204 and stored["last_error"] is None
    assert stored["created_at"].tzinfo is not None
    subscriptions = await store.subscriptions()
    assert subscriptions[hook_id].secret == document["secret"]
    assert not await store.delete(hook_id, "partner-b")
    assert await store.delete(hook_id, "partner-a")
    assert await store.get(hook_id, None) is None
    assert await store.subscription(hook_id) is None
