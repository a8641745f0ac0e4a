"""The transaction store against real Redis: what a start and a stop read and write, and in how many round trips."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from chargewatch.ocpp_gateway.transactions import TransactionInfo, TransactionStore, event_id


class CountingConnection(aioredis.Connection):
    """A connection that counts what it writes: one write per command, or per pipeline."""

    writes = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.writes += 1
        await super().send_packed_command(command, check_health)


@pytest.fixture
async def counted(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, connection_class=CountingConnection)
    await client.flushdb()
    await client.ping()  # the connection's handshake is not counted below
    yield client
    await client.aclose()


def round_trips() -> int:
    return CountingConnection.writes


async def test_a_start_draws_an_id_once_and_a_retry_finds_it_and_its_answer(counted: aioredis.Redis) -> None:
    store = TransactionStore(counted, retention_hours=1)
    before = round_trips()
    first = await store.begin_start("CP-1", "m-1", "fp-a")
    assert round_trips() - before == 2  # read and draw in one pipeline, then the record
    assert first.new and first.answer is None
    # Retried before its answer was recorded: the same id, not new (its fact may be on the stream).
    retried = await store.begin_start("CP-1", "m-1", "fp-a")
    assert (retried.transaction_id, retried.new, retried.answer) == (first.transaction_id, False, None)
    started = event_id("CP-1", "tx", first.transaction_id, "started")
    answer = {"transactionId": first.transaction_id, "idTagInfo": {"status": "Accepted"}}
    before = round_trips()
    await store.finish_start(
        "CP-1", "m-1", answer, TransactionInfo(1, 2, "CARD"), first.transaction_id, published=[started]
    )
    assert round_trips() - before == 1  # answer, connector and the fact's marker together
    assert await store.published("CP-1", [started, "other"]) == {started}
    again = await store.begin_start("CP-1", "m-1", "fp-a")
    assert (again.transaction_id, again.answer, again.new) == (first.transaction_id, answer, False)
    # The same message id with another payload (a rebooted station) is a new transaction.
    other = await store.begin_start("CP-1", "m-1", "fp-b")
    assert other.new and other.transaction_id not in (first.transaction_id, again.transaction_id)


async def test_a_stop_reads_its_transaction_and_markers_in_one_round_trip(counted: aioredis.Redis) -> None:
    store = TransactionStore(counted, retention_hours=1)
    record = await store.begin_start("CP-2", "m-1", "fp")
    await store.finish_start("CP-2", "m-1", {}, TransactionInfo(2, 1, "CARD-9"), record.transaction_id)
    meter, ended = (event_id("CP-2", "tx", record.transaction_id, step) for step in ("ended-meter", "ended"))
    before = round_trips()
    info, published = await store.stop_state("CP-2", record.transaction_id, (meter, ended))
    assert round_trips() - before == 1
    assert info == TransactionInfo(2, 1, "CARD-9") and published == set()
    await store.mark_published("CP-2", [ended])
    assert (await store.stop_state("CP-2", record.transaction_id, (meter, ended)))[1] == {ended}
    # A transaction this gateway never started (its start predates the retention): no info, still answered.
    assert await store.stop_state("CP-2", 999_999, ()) == (None, set())
    # Markers are per station: another station's identical event id is its own.
    assert (await store.stop_state("CP-3", record.transaction_id, (ended,)))[1] == set()
