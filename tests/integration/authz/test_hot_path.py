"""Authorize's hot path: one Redis round trip per transaction start, reservations that hold across
replicas, the per-process memory of a plain Authorize, and decisions published before answers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
import redis.asyncio as aioredis
from redis.crc import key_slot

from chargewatch.authz import cache, sessions
from chargewatch.authz.pipelined_redis import PipelinedRedis
from chargewatch.authz.sessions import SessionTracker
from chargewatch.streams import StreamFamily, stream_name
from chargewatch.v1 import authz_pb2, events_pb2
from tests.integration.authz.conftest import Harness, build_harness
from tests.integration.authz.test_authorize import create_token, decisions

pytestmark = pytest.mark.integration

ACCEPTED = events_pb2.AUTHORIZATION_STATUS_ACCEPTED
CONCURRENT = events_pb2.AUTHORIZATION_STATUS_CONCURRENT_TX
NOT_HERE = events_pb2.AUTHORIZATION_STATUS_NOT_AT_THIS_LOCATION


def uid() -> str:
    return uuid.uuid4().hex[:14].upper()


def test_the_keys_of_each_script_share_one_cluster_slot() -> None:
    for key in ("ISO14443:04A2B3C4D5E6F7", "eMAID:NLTNM000122045X", "Central:app-token.1"):
        assert key_slot(cache.redis_key(key).encode()) == key_slot(sessions.redis_key(key).encode())
    # The per-transaction set is a script of its own: one key.
    assert sessions.transaction_key("CP-1", "tx-1").startswith("cw:authz:tx-tokens:")


async def test_two_stations_racing_with_one_card_let_only_one_start(authz: Harness) -> None:
    await authz.register("CP-R1")
    await authz.register("CP-R2")
    card = uid()
    await create_token(authz, card)
    await authz.authorize("CP-R1", card)  # cached now: both starts take the one-script path
    first, second = await asyncio.gather(
        authz.authorize("CP-R1", card, tx="race-1"), authz.authorize("CP-R2", card, tx="race-2")
    )
    assert sorted([first.status, second.status]) == sorted([ACCEPTED, CONCURRENT])
    assert len(await authz.sessions.active(f"ISO14443:{card}")) == 1


async def test_a_start_refused_by_policy_or_token_state_reserves_nothing(authz: Harness) -> None:
    await authz.register("CP-G1", site="fleet-depot")
    await authz.register("CP-G2")
    card = uid()
    await create_token(authz, card)
    await authz.stub.PutAccessPolicy(
        authz_pb2.PutAccessPolicyRequest(
            policy=authz_pb2.AccessPolicy(tenant_id="partner-a", site_ids=["fleet-depot"], allowed_groups=["vans"])
        ),
        metadata=await authz.as_user("operator"),
    )
    refused = await authz.authorize("CP-G1", card, tx="g-1")
    assert (refused.status, refused.reason) == (NOT_HERE, "group_not_allowed")
    assert await authz.sessions.active(f"ISO14443:{card}") == []
    assert (await authz.authorize("CP-G2", card, tx="g-2")).status == ACCEPTED
    assert await authz.sessions.active(f"ISO14443:{card}") == ["CP-G2/g-2"]


async def test_a_token_not_cached_yet_is_reserved_at_its_first_start(authz: Harness) -> None:
    await authz.register("CP-U1")
    card = uid()
    await create_token(authz, card)
    await authz.authorizer.cache.invalidate(f"ISO14443:{card}")
    assert (await authz.authorize("CP-U1", card, tx="u-1")).status == ACCEPTED
    assert await authz.sessions.active(f"ISO14443:{card}") == ["CP-U1/u-1"]


async def test_scripts_forgotten_by_redis_are_loaded_again(authz: Harness) -> None:
    await authz.register("CP-F1")
    card = uid()
    await create_token(authz, card)
    await authz.redis.script_flush()
    assert (await authz.authorize("CP-F1", card, tx="f-1")).status == ACCEPTED
    assert (await authz.authorize("CP-F1", card, tx="f-1")).status == ACCEPTED  # the same start again


async def test_every_token_that_reserved_a_transaction_is_freed_when_it_ends(authz: Harness) -> None:
    await authz.register("CP-S1")
    start_card, stop_card = uid(), uid()
    await create_token(authz, start_card)
    await create_token(authz, stop_card)
    # A 2.0.1 transaction authorized with one card and stopped with another: both reserve it.
    assert (await authz.authorize("CP-S1", start_card, tx="s-1")).status == ACCEPTED
    assert (await authz.authorize("CP-S1", stop_card, tx="s-1")).status == ACCEPTED
    assert await authz.sessions.end("CP-S1", "s-1") is True
    assert await authz.sessions.active(f"ISO14443:{start_card}") == []
    assert await authz.sessions.active(f"ISO14443:{stop_card}") == []
    assert await authz.sessions.end("CP-S1", "s-1") is False  # ENDED delivered again: nothing left


async def test_a_decision_the_stream_did_not_take_is_not_answered(authz: Harness) -> None:
    await authz.register("CP-D1")
    card = uid()
    await create_token(authz, card)
    stream = stream_name(StreamFamily.AUTHORIZATION, 0)
    await authz.redis.delete(stream)
    await authz.redis.set(stream, b"not a stream")  # every XADD to it fails (WRONGTYPE)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await authz.authorize("CP-D1", card, tx="d-1")
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    await authz.redis.delete(stream)
    # Asked again (the gateway retries or decides offline): answered, and on the stream.
    assert (await authz.authorize("CP-D1", card, tx="d-1")).status == ACCEPTED
    published = await decisions(authz)
    assert [(e.authorization.id_token, e.authorization.transaction_id) for e in published] == [(card, "d-1")]


# Long enough that the calls below fit in it on a busy machine.
LOCAL_SECONDS = 3.0


@pytest.fixture
async def remembering(mongo_url: str, redis_url: str, keycloak_url: str) -> AsyncIterator[Harness]:
    async for harness in build_harness(
        mongo_url, redis_url, keycloak_url, refresh_seconds=60, local_seconds=LOCAL_SECONDS
    ):
        yield harness


async def test_a_plain_authorize_answers_from_memory_for_local_seconds_and_a_start_always_asks_redis(
    remembering: Harness, redis_url: str, redis_client: aioredis.Redis
) -> None:
    h = remembering
    for station in ("CP-M1", "CP-M2", "CP-M3"):
        await h.register(station)
    card = uid()
    await create_token(h, card)
    assert (await h.authorize("CP-M1", card)).status == ACCEPTED  # read from Redis, remembered

    # Another replica starts a session with the card.
    other = PipelinedRedis(redis_url, timeout_seconds=2.0)
    try:
        elsewhere = SessionTracker(redis_client, other)
        assert await elsewhere.reserve(f"ISO14443:{card}", "CP-M2", "m-2", limit=1, max_seconds=3600) is True
    finally:
        await other.aclose()
    # A plain Authorize here may not know yet (within local_seconds)...
    assert (await h.authorize("CP-M1", card)).status == ACCEPTED
    # ...but a transaction start asks Redis, atomically: the limit holds across replicas.
    assert (await h.authorize("CP-M3", card, tx="m-3")).status == CONCURRENT
    await asyncio.sleep(LOCAL_SECONDS + 0.1)
    assert (await h.authorize("CP-M1", card)).status == CONCURRENT

    # A session ended through this process is forgotten here at once.
    await h.sessions.end("CP-M2", "m-2")
    assert (await h.authorize("CP-M1", card)).status == ACCEPTED
