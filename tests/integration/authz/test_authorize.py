"""Authorize against real Redis, the MongoDB-wire store and the dev IdP (Keycloak's admin API over HTTP)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

from chargewatch.devstack.processes import ManagedProcess
from chargewatch.rpc import health_check
from chargewatch.streams import ConsumerGroupWorker, EventPublisher, StreamFamily, stream_name
from chargewatch.v1 import authz_pb2, events_pb2
from tests.integration.authz.conftest import REALM, SERVICES_SECRET, Harness, build_harness
from tests.integration.streams.streams_support import wait_until

pytestmark = pytest.mark.integration

ACCEPTED = events_pb2.AUTHORIZATION_STATUS_ACCEPTED
BLOCKED = events_pb2.AUTHORIZATION_STATUS_BLOCKED
EXPIRED = events_pb2.AUTHORIZATION_STATUS_EXPIRED
INVALID = events_pb2.AUTHORIZATION_STATUS_INVALID
CONCURRENT = events_pb2.AUTHORIZATION_STATUS_CONCURRENT_TX
NOT_HERE = events_pb2.AUTHORIZATION_STATUS_NOT_AT_THIS_LOCATION
NOT_NOW = events_pb2.AUTHORIZATION_STATUS_NOT_AT_THIS_TIME


def keycloak_admin(keycloak_url: str) -> KeycloakAdmin:
    return KeycloakAdmin(
        connection=KeycloakOpenIDConnection(
            server_url=keycloak_url,
            realm_name=REALM,
            client_id="chargewatch-services",
            client_secret_key=SERVICES_SECRET,
        )
    )


def new_driver(keycloak_url: str, tenant: str = "partner-a") -> str:
    return str(
        keycloak_admin(keycloak_url).create_user(
            {"username": f"driver-{uuid.uuid4().hex[:8]}", "enabled": True, "attributes": {"tenant_id": [tenant]}}
        )
    )


def uid() -> str:
    return uuid.uuid4().hex[:14].upper()


async def create_token(h: Harness, token: str, *, user_id: str = "", fleet: str = "", user: str = "operator") -> Any:
    return await h.stub.CreateToken(
        authz_pb2.CreateTokenRequest(
            token=authz_pb2.DriverToken(
                id_token=token, id_token_type="ISO14443", tenant_id="partner-a", user_id=user_id, fleet=fleet
            )
        ),
        metadata=await h.as_user(user),
    )


async def set_status(h: Harness, token: str, status: str) -> Any:
    return await h.stub.SetTokenStatus(
        authz_pb2.SetTokenStatusRequest(id_token=token, id_token_type="ISO14443", status=status, reason="test"),
        metadata=await h.as_user("operator"),
    )


async def decisions(h: Harness) -> list[events_pb2.EventEnvelope]:
    await h.authorizer.close()  # flushes the background publisher
    entries = await h.redis.xrange(stream_name(StreamFamily.AUTHORIZATION, 0))
    return [events_pb2.EventEnvelope.FromString(fields[b"data"]) for _, fields in entries]


async def test_token_lifecycle_is_answered_at_once_and_published(authz: Harness) -> None:
    await authz.register("CP-L1")
    driver = new_driver(authz.keycloak_url)
    card = uid()
    created = await create_token(authz, card, user_id=driver)
    assert created.status == "active" and created.user_id == driver
    # The link is a user attribute in Keycloak.
    assert f"ISO14443:{card}" in keycloak_admin(authz.keycloak_url).get_user(driver)["attributes"]["id_tokens"]

    assert (await authz.authorize("CP-L1", card)).status == ACCEPTED
    await set_status(authz, card, "blocked")
    assert (await authz.authorize("CP-L1", card)).status == BLOCKED
    await set_status(authz, card, "active")
    assert (await authz.authorize("CP-L1", card)).status == ACCEPTED
    await set_status(authz, card, "expired")
    expired = await authz.authorize("CP-L1", card)
    assert expired.status == EXPIRED and expired.expiry.ToDatetime(tzinfo=UTC) <= datetime.now(UTC)
    unknown = await authz.authorize("CP-L1", uid())
    assert (unknown.status, unknown.reason) == (INVALID, "unknown_token")
    malformed = await authz.authorize("CP-L1", "not hex!")
    assert (malformed.status, malformed.reason) == (INVALID, "malformed_token")

    published = await decisions(authz)
    reasons = [(e.authorization.id_token, e.authorization.status, e.authorization.reason) for e in published]
    assert reasons[:4] == [
        (card, ACCEPTED, "token_active"),
        (card, BLOCKED, "test"),
        (card, ACCEPTED, "token_active"),
        (card, EXPIRED, "test"),
    ]
    assert all(e.tenant_id == "partner-a" and e.station_id == "CP-L1" for e in published[:5])


async def test_a_change_made_in_keycloak_applies_within_the_refresh_time(authz: Harness) -> None:
    await authz.register("CP-K1")
    driver = new_driver(authz.keycloak_url)
    card = uid()
    await create_token(authz, card, user_id=driver)
    assert (await authz.authorize("CP-K1", card)).status == ACCEPTED
    keycloak_admin(authz.keycloak_url).update_user(driver, {"enabled": False})
    deadline = time.monotonic() + 5
    answer = await authz.authorize("CP-K1", card)
    while answer.status == ACCEPTED and time.monotonic() < deadline:
        await asyncio.sleep(0.2)  # refresh_seconds is 0.3: a stale hit triggers the refresh
        answer = await authz.authorize("CP-K1", card)
    assert (answer.status, answer.reason) == (BLOCKED, "user_disabled")


async def test_fleet_tokens_and_access_policies(authz: Harness) -> None:
    admin = keycloak_admin(authz.keycloak_url)
    fleet = f"fleet-{uuid.uuid4().hex[:6]}"
    admin.create_group({"name": fleet, "attributes": {"tenant_id": ["partner-a"]}})
    await authz.register("CP-P1", site="depot")
    card, other = uid(), uid()
    created = await create_token(authz, card, fleet=fleet)
    assert created.group_id == fleet
    await create_token(authz, other)
    operator = await authz.as_user("operator")
    policy = await authz.stub.PutAccessPolicy(
        authz_pb2.PutAccessPolicyRequest(
            policy=authz_pb2.AccessPolicy(
                tenant_id="partner-a", name="depot fleet only", site_ids=["depot"], allowed_groups=[fleet]
            )
        ),
        metadata=operator,
    )
    assert policy.version == 1
    assert (await authz.authorize("CP-P1", card)).status == ACCEPTED
    refused = await authz.authorize("CP-P1", other)
    assert (refused.status, refused.reason) == (NOT_HERE, "group_not_allowed")

    # A window that is closed right now (the hour after the current one, Amsterdam time).
    now = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Amsterdam"))
    later = now + timedelta(hours=1)
    closed = authz_pb2.TimeWindow(
        days_of_week=[later.isoweekday()],
        start=later.strftime("%H:00"),
        end=(later + timedelta(hours=1)).strftime("%H:00"),
    )
    policy.time_windows.append(closed)
    policy.timezone = "Europe/Amsterdam"
    updated = await authz.stub.PutAccessPolicy(authz_pb2.PutAccessPolicyRequest(policy=policy), metadata=operator)
    assert updated.version == 2
    assert (await authz.authorize("CP-P1", card)).status == NOT_NOW

    # Partners may read their own policies but not change them; bad input is refused with a reason.
    partner = await authz.as_user("partner-a")
    listed = await authz.stub.ListAccessPolicies(authz_pb2.ListAccessPoliciesRequest(), metadata=partner)
    assert [p.policy_id for p in listed.policies] == [policy.policy_id]
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await authz.stub.PutAccessPolicy(authz_pb2.PutAccessPolicyRequest(policy=updated), metadata=partner)
    assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
    bad = authz_pb2.AccessPolicy(tenant_id="partner-a", site_ids=["depot"], timezone="Mars/Olympus")
    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await authz.stub.PutAccessPolicy(authz_pb2.PutAccessPolicyRequest(policy=bad), metadata=operator)
    assert invalid.value.code() is grpc.StatusCode.INVALID_ARGUMENT and "time zone" in (invalid.value.details() or "")
    await authz.stub.DeleteAccessPolicy(
        authz_pb2.DeleteAccessPolicyRequest(policy_id=policy.policy_id), metadata=operator
    )
    assert (await authz.authorize("CP-P1", other)).status == ACCEPTED


async def test_a_card_cannot_charge_at_two_stations_at_once(authz: Harness) -> None:
    await authz.register("CP-A")
    await authz.register("CP-B")
    card = uid()
    await create_token(authz, card)
    assert (await authz.authorize("CP-A", card, tx="tx-1")).status == ACCEPTED
    assert (await authz.authorize("CP-A", card, tx="tx-1")).status == ACCEPTED  # the same start, retried
    second = await authz.authorize("CP-B", card, tx="tx-2")
    assert (second.status, second.reason) == (CONCURRENT, "concurrent_session_limit")
    assert second.expiry.seconds > 0
    assert (await authz.authorize("CP-B", card)).status == CONCURRENT  # a plain Authorize too

    # The gateway's ENDED event on the transaction stream ends the first session.
    publisher = EventPublisher(authz.redis)
    ended = events_pb2.TransactionEvent(kind=events_pb2.TransactionEvent.KIND_ENDED, transaction_id="tx-1")
    await publisher.publish(publisher.envelope("CP-A", ended))
    worker = ConsumerGroupWorker(
        authz.redis,
        group="authz-sessions",
        consumer="test",
        families=[StreamFamily.TRANSACTION],
        handler=authz.sessions.handle_transactions,
        block_ms=50,
    )
    task = asyncio.create_task(worker.run())
    try:

        async def session_ended() -> bool:
            return not await authz.sessions.active(f"ISO14443:{card}")

        await wait_until(session_ended, what="the ended session to free the card")
    finally:
        worker.stop()
        await task
    assert (await authz.authorize("CP-B", card, tx="tx-2")).status == ACCEPTED


@pytest.fixture
async def outage(mongo_url: str, redis_url: str, private_idp: ManagedProcess) -> AsyncIterator[Harness]:
    async for harness in build_harness(mongo_url, redis_url, f"http://127.0.0.1:{private_idp.port}"):
        yield harness


async def test_keycloak_unreachable_cached_tokens_answer_unknown_refused_health_degraded(
    outage: Harness, private_idp: ManagedProcess
) -> None:
    await outage.register("CP-O1")
    cached, uncached = uid(), uid()
    await create_token(outage, cached, user_id=new_driver(outage.keycloak_url))
    await create_token(outage, uncached, user_id=new_driver(outage.keycloak_url))
    await outage.authorizer.cache.invalidate(f"ISO14443:{uncached}")
    assert (await outage.authorize("CP-O1", cached)).status == ACCEPTED
    assert await outage.monitor.check() is True

    private_idp.stop()
    await asyncio.sleep(0.4)  # past refresh_seconds: the cached entry is stale and its refresh fails
    for _ in range(3):
        assert (await outage.authorize("CP-O1", cached)).status == ACCEPTED
    refused = await outage.authorize("CP-O1", uncached)
    assert (refused.status, refused.reason) == (INVALID, "identity_provider_unavailable")
    assert (await outage.authorize("CP-O1", uid())).status == INVALID

    assert await outage.monitor.check() is False
    assert outage.monitor.status == "degraded"
    assert await health_check(outage.channel, "chargewatch.v1.Authz") is True  # still serving
    assert await health_check(outage.channel, "chargewatch.authz.identity-provider") is False
