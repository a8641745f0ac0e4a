"""Alerts from the clock: incidents overdue by their contract or the defaults, and ports whose month
budget runs out - each once, whatever the number of sweeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from chargewatch.sla_engine.profiles import SiteProfile
from chargewatch.sla_engine.sweeper import Sweeper, SweepSettings
from chargewatch.streams import EventPublisher
from chargewatch.v1 import common_pb2, events_pb2, sla_pb2
from tests.integration.sla_engine.sla_support import (
    OPERATOR,
    api_fixture,
    gateway_event,
    read_alerts,
    status,
)

pytestmark = pytest.mark.integration

AVAILABLE = common_pb2.CONNECTOR_STATUS_AVAILABLE
FAULTED = common_pb2.CONNECTOR_STATUS_FAULTED


async def test_overdue_incidents_alert_once_and_not_after_acknowledgement(
    redis_client: aioredis.Redis, mongo_url: str
) -> None:
    now = datetime.now(UTC)
    async with api_fixture(mongo_url, site_of=lambda _s: "site-s") as fixture:
        await fixture.feed(
            [
                gateway_event("CW-S-1", now - timedelta(minutes=50), status(1, AVAILABLE), "s1"),
                gateway_event("CW-S-1", now - timedelta(minutes=45), status(1, FAULTED, "GroundFailure"), "s2"),
                gateway_event("CW-S-1", now - timedelta(minutes=50), status(2, AVAILABLE), "s3"),
                gateway_event("CW-S-1", now - timedelta(minutes=10), status(2, FAULTED, "HighTemperature"), "s4"),
            ]
        )
        sweeper = Sweeper(
            fixture.queries,
            EventPublisher(redis_client, producer="sla-engine/test"),
            SweepSettings(default_acknowledge_minutes=30, default_restore_minutes=40),
        )
        first = await sweeper.sweep()
        # Port 1 (45 minutes): both limits passed; port 2 (10 minutes): neither.
        assert sorted(a.alert.rule for a in first) == [
            "sla.incident_acknowledge_overdue",
            "sla.incident_restore_overdue",
        ]
        assert {a.alert.subject_id for a in first} == {"CW-S-1/1"}
        assert all(a.alert.source_service == "sla-engine" and a.tenant_id == "partner-a" for a in first)
        assert await sweeper.sweep() == []  # once

        class NotPartitionZero:
            owned = {3: fixture.processor}
            processors = [fixture.processor]
            profiles = fixture.processor.profiles

        # Overdue incidents are partition 0's owner's to announce: another replica's sweep does not read them.
        sweeper.settings = SweepSettings(default_acknowledge_minutes=1, default_restore_minutes=1, interval_s=0)
        await sweeper.maybe_sweep(NotPartitionZero())
        # Port 2 (10 minutes) is overdue under these limits, yet no incident alert was added.
        assert len([a for a in await read_alerts(redis_client) if a.alert.rule.startswith("sla.incident")]) == 2
        sweeper.settings = SweepSettings(default_acknowledge_minutes=30, default_restore_minutes=40)
        assert len(await read_alerts(redis_client)) == 2

        # A contract with a 5-minute acknowledgement for HIGH severity makes port 2 overdue, until acknowledged.
        await fixture.stub.UpsertContract(
            sla_pb2.UpsertContractRequest(
                principal=OPERATOR,
                contract=sla_pb2.Contract(
                    name="fast",
                    tenant_id="partner-a",
                    site_ids=["site-s"],
                    response_targets=[sla_pb2.ResponseTarget(severity=common_pb2.SEVERITY_HIGH, acknowledge_minutes=5)],
                ),
            )
        )
        fixture.processor.refresh_sites()
        await fixture.processor.flush()
        listed = await fixture.stub.ListIncidents(sla_pb2.ListIncidentsRequest(principal=OPERATOR, station_id="CW-S-1"))
        port2 = next(i for i in listed.incidents if i.port.evse_id == 2)
        await fixture.stub.AcknowledgeIncident(
            sla_pb2.IncidentActionRequest(principal=OPERATOR, incident_id=port2.incident_id)
        )
        assert await sweeper.sweep() == []  # acknowledged: no alert


async def test_a_port_whose_month_budget_runs_out_is_announced_once(
    redis_client: aioredis.Redis, mongo_url: str
) -> None:
    now = datetime.now(UTC)
    down_since = max(now.replace(day=1, hour=0, minute=0, second=0, microsecond=0), now - timedelta(minutes=20))
    async with api_fixture(mongo_url, site_of=lambda _s: "site-strict") as fixture:
        await fixture.store.put_profile(SiteProfile("site-strict", tenant_id="partner-a", uptime_target_percent=99.99))
        fixture.processor.profiles.put(SiteProfile("site-strict", tenant_id="partner-a", uptime_target_percent=99.99))
        await fixture.feed(
            [
                gateway_event("CW-S-2", down_since - timedelta(seconds=1), status(1, AVAILABLE), "b1"),
                gateway_event("CW-S-2", down_since, status(1, FAULTED, "PowerMeterFailure"), "b2"),
            ]
        )
        fixture.processor.refresh_sites()
        await fixture.processor.flush()
        sweeper = Sweeper(fixture.queries, EventPublisher(redis_client, producer="sla-engine/test"), SweepSettings())

        class Owner:
            # A replica that holds the port's partition but not partition 0 still checks its budgets.
            owned = {5: fixture.processor}
            processors = [fixture.processor]
            profiles = fixture.processor.profiles

        sweeper.settings = SweepSettings(default_acknowledge_minutes=0, default_restore_minutes=0, interval_s=0)
        await sweeper.maybe_sweep(Owner())
        alerts = [a for a in await read_alerts(redis_client) if a.alert.rule.startswith("sla.uptime")]
        # 99.99% of this month allows about 4.5 minutes; the port has been down for up to 20.
        minutes_down = (now - down_since).total_seconds() / 60
        expected = "sla.uptime_below_target" if minutes_down > 4.47 else "sla.uptime_at_risk"
        assert [a.alert.rule for a in alerts] == [expected]
        assert alerts[0].alert.subject_id == "CW-S-2/1"
        assert "99.99% target" in alerts[0].alert.title or "can be down at most" in alerts[0].alert.title
        await sweeper.maybe_sweep(Owner())
        assert await sweeper._budgets(int(now.timestamp() * 1000) + 1000) == []  # the store path finds it marked
        assert len([a for a in await read_alerts(redis_client) if a.alert.rule.startswith("sla.uptime")]) == 1
        assert alerts[0].alert.state == events_pb2.ALERT_STATE_OPEN


async def test_history_past_the_retention_is_dropped(mongo_url: str) -> None:
    async with api_fixture(mongo_url) as fixture:
        store = fixture.store
        now = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp() * 1000)
        day = 86_400_000
        await store.outages.insert_many([{"_id": "S|1|2024", "year": 2024}, {"_id": "S|1|2025", "year": 2025}])
        await store.incidents.insert_many(
            [
                {"_id": "old", "open": 0, "opened_ms": now - 500 * day, "last_down_ms": now - 499 * day},
                {"_id": "old-but-open", "open": 1, "opened_ms": now - 500 * day, "last_down_ms": now - 499 * day},
                {"_id": "recent", "open": 0, "opened_ms": now - 10 * day, "last_down_ms": now - 10 * day},
            ]
        )
        await store.sessions.insert_many([{"_id": "a", "started_ms": now - 500 * day}, {"_id": "b", "started_ms": now}])
        sweeper = Sweeper(fixture.queries, None, SweepSettings(retention_ms=400 * day))
        assert await sweeper.forget(now) == {"outages": 1, "incidents": 1, "sessions": 1, "alert_marks": 0}
        assert [d["_id"] async for d in store.outages.find({})] == ["S|1|2025"]
        assert sorted([d["_id"] async for d in store.incidents.find({})]) == ["old-but-open", "recent"]
