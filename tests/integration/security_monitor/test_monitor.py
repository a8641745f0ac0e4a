"""The monitor end to end on real servers: events on the streams become alerts served by gRPC, scoped by
tenant, with their lifecycle, incidents, the alert stream, responses through a real authz, and their undo."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from chargewatch.security_monitor.leader import LeaderLease
from chargewatch.security_monitor.leadership import LeaderRole
from chargewatch.streams import StreamFamily, stream_name
from chargewatch.v1 import (
    authz_pb2,
    common_pb2,
    events_pb2,
    security_pb2,
)
from tests.integration.security_monitor.conftest import (
    ANALYST,
    NOBODY,
    OPERATOR,
    PARTNER_A,
    PARTNER_B,
    SRE,
    Stack,
    eventually,
)

pytestmark = pytest.mark.integration
S = security_pb2


async def alerts_of(stack: Stack, rule: str, principal: common_pb2.Principal = OPERATOR) -> list[events_pb2.Alert]:
    reply = await stack.stub.ListAlerts(S.ListAlertsRequest(principal=principal, rule=rule))
    return list(reply.alerts)


async def brute_force(stack: Stack, station: str, at: float, count: int = 6) -> None:
    await stack.publish(
        *(
            stack.events.security(station, at + i * 0.1, "InvalidCredentials", address="203.0.113.5")
            for i in range(count)
        )
    )


async def test_brute_force_becomes_a_scoped_alert_with_a_lifecycle(stack: Stack) -> None:
    await brute_force(stack, "AMS-1", time.time())
    found = await eventually(lambda: alerts_of(stack, "station-brute-force"))
    alert = found[0]
    assert (alert.subject_kind, alert.subject_id, alert.severity) == ("station", "AMS-1", common_pb2.SEVERITY_HIGH)
    assert alert.state == events_pb2.ALERT_STATE_OPEN and alert.mitre_technique == "T0859"
    assert len(alert.evidence_event_ids) == 6 and "AMS-1" in alert.explanation

    # Tenants: partner-a owns AMS-1 (from the station directory), partner-b sees nothing of it.
    assert [a.alert_id for a in await alerts_of(stack, "station-brute-force", PARTNER_A)] == [alert.alert_id]
    assert await alerts_of(stack, "station-brute-force", PARTNER_B) == []
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stack.stub.GetAlert(S.GetAlertRequest(principal=PARTNER_B, alert_id=alert.alert_id))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND

    detail = await stack.stub.GetAlertDetail(S.GetAlertRequest(principal=PARTNER_A, alert_id=alert.alert_id))
    assert detail.tenant_id == "partner-a" and detail.occurrences == 1 and len(detail.evidence) == 6
    assert detail.evidence[0].summary.startswith("wrong password for AMS-1")
    incident = await stack.stub.GetSecurityIncident(
        S.GetSecurityIncidentRequest(principal=OPERATOR, incident_id=detail.incident_id)
    )
    assert incident.alert_ids == [alert.alert_id] and incident.state == events_pb2.ALERT_STATE_OPEN

    # More failures fold into the same alert.
    await brute_force(stack, "AMS-1", time.time(), count=3)

    async def folded() -> S.AlertDetail | None:
        d = await stack.stub.GetAlertDetail(S.GetAlertRequest(principal=OPERATOR, alert_id=alert.alert_id))
        return d if d.occurrences == 4 else None

    assert len((await folded() or await eventually(folded)).alert.evidence_event_ids) == 9
    assert len(await alerts_of(stack, "station-brute-force")) == 1

    # Partners and SREs read; analysts change.
    for who in (PARTNER_A, SRE):
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stack.stub.AcknowledgeAlert(S.AlertActionRequest(principal=who, alert_id=alert.alert_id))
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    acked = await stack.stub.AcknowledgeAlert(
        S.AlertActionRequest(principal=ANALYST, alert_id=alert.alert_id, note="looking")
    )
    assert acked.state == events_pb2.ALERT_STATE_ACKNOWLEDGED
    resolved = await stack.stub.ResolveAlert(S.AlertActionRequest(principal=ANALYST, alert_id=alert.alert_id))
    assert resolved.state == events_pb2.ALERT_STATE_RESOLVED
    with pytest.raises(grpc.aio.AioRpcError) as closed:
        await stack.stub.AcknowledgeAlert(S.AlertActionRequest(principal=ANALYST, alert_id=alert.alert_id))
    assert closed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    incident = await stack.stub.GetSecurityIncident(
        S.GetSecurityIncidentRequest(principal=OPERATOR, incident_id=detail.incident_id)
    )
    assert incident.state == events_pb2.ALERT_STATE_RESOLVED and incident.HasField("closed_at")

    # A new attack after resolution opens a new alert (and a new incident).
    await brute_force(stack, "AMS-1", time.time() + 120)
    both = await eventually(lambda: _count(stack, "station-brute-force", 2))
    assert both[0].state == events_pb2.ALERT_STATE_OPEN and both[0].alert_id != alert.alert_id

    # Every new alert and state change went out on the alert stream.
    entries = await stack.redis.xrange(stream_name(StreamFamily.ALERT, 0))
    published = [events_pb2.EventEnvelope.FromString(fields[b"data"]) for _, fields in entries]
    changes = [(e.alert.alert_id, e.alert.state) for e in published if e.alert.rule == "station-brute-force"]
    assert (alert.alert_id, events_pb2.ALERT_STATE_OPEN) in changes
    assert (alert.alert_id, events_pb2.ALERT_STATE_RESOLVED) in changes
    assert all(e.tenant_id == "partner-a" for e in published if e.alert.subject_id == "AMS-1")


async def _count(stack: Stack, rule: str, n: int) -> list[events_pb2.Alert] | None:
    found = await alerts_of(stack, rule)
    return found if len(found) >= n else None


async def test_risk_scores_follow_open_alerts(stack: Stack) -> None:
    now = time.time()
    await stack.publish(stack.events.security("AMS-1", now, "TamperDetectionActivated", reported_by="station"))
    await brute_force(stack, "AMS-1", now)
    await eventually(lambda: _count(stack, "station-brute-force", 1))
    await eventually(lambda: _count(stack, "station-tamper", 1))
    score = await stack.stub.GetRiskScore(S.GetRiskScoreRequest(principal=OPERATOR, station_id="AMS-1"))
    assert score.score == pytest.approx(100 * (1 - 0.6 * 0.6), abs=0.5)  # two high alerts
    assert len(score.contributing_alert_ids) == 2 and score.highest_severity == common_pb2.SEVERITY_HIGH
    ranked = await stack.stub.ListRiskScores(S.ListRiskScoresRequest(principal=OPERATOR))
    assert ranked.scores[0].station_id == "AMS-1"
    # The profile is checkpointed within a second, after which partners can ask about their station.
    await eventually(lambda: stack.db.profiles.find_one({"_id": "AMS-1", "tenant_id": "partner-a"}))
    mine = await stack.stub.GetRiskScore(S.GetRiskScoreRequest(principal=PARTNER_A, station_id="AMS-1"))
    assert mine.score == score.score
    with pytest.raises(grpc.aio.AioRpcError) as other:
        await stack.stub.GetRiskScore(S.GetRiskScoreRequest(principal=PARTNER_B, station_id="AMS-1"))
    assert other.value.code() == grpc.StatusCode.NOT_FOUND
    profile = await stack.stub.GetStationProfile(S.GetStationProfileRequest(principal=PARTNER_A, station_id="AMS-1"))
    assert profile.station_id == "AMS-1" and profile.anomaly_window_seconds == 300


async def test_a_policy_blocks_a_cloned_token_and_undo_restores_access(stack: Stack) -> None:
    token = "04C10E00000001"
    await stack.authz.register("AMS-1", tenant="partner-a")
    headers = await stack.authz.as_user("operator")
    await stack.authz.stub.CreateToken(
        authz_pb2.CreateTokenRequest(
            token=authz_pb2.DriverToken(id_token=token, id_token_type="ISO14443", tenant_id="partner-a")
        ),
        metadata=headers,
    )
    assert (await stack.authz.authorize("AMS-1", token)).status == events_pb2.AUTHORIZATION_STATUS_ACCEPTED

    with pytest.raises(grpc.aio.AioRpcError) as partner:
        await stack.stub.PutResponsePolicy(S.PutResponsePolicyRequest(principal=PARTNER_A, policy=S.ResponsePolicy()))
    assert partner.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await stack.stub.PutResponsePolicy(
            S.PutResponsePolicyRequest(
                principal=ANALYST, policy=S.ResponsePolicy(name="x", rules=["no-such-rule"], actions=[2])
            )
        )
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "no-such-rule" in (
        invalid.value.details() or ""
    )
    policy = await stack.stub.PutResponsePolicy(
        S.PutResponsePolicyRequest(
            principal=ANALYST,
            policy=S.ResponsePolicy(
                name="block cloned cards",
                enabled=True,
                rules=["token-clone"],
                min_severity=common_pb2.SEVERITY_HIGH,
                actions=[S.RESPONSE_ACTION_KIND_BLOCK_TOKEN, S.RESPONSE_ACTION_KIND_QUARANTINE_STATION],
            ),
        )
    )
    assert policy.policy_id and policy.version == 1
    await stack.policies.reload()

    now = time.time()
    not_here = events_pb2.AUTHORIZATION_STATUS_NOT_AT_THIS_LOCATION
    await stack.publish(
        stack.events.authorization("AMS-1", now, token, tenant_id="partner-a"),
        stack.events.authorization(
            "BER-1", now + 2, token, status=not_here, reason="other_tenant", tenant_id="partner-b"
        ),
    )
    clone = (await eventually(lambda: alerts_of(stack, "token-clone")))[0]
    assert clone.subject_id == token

    async def applied() -> list[S.ResponseAction] | None:
        reply = await stack.stub.ListResponseActions(
            S.ListResponseActionsRequest(principal=OPERATOR, alert_id=clone.alert_id)
        )
        return [a for a in reply.actions if a.state == S.RESPONSE_ACTION_STATE_APPLIED] or None

    actions = await eventually(applied)
    # Only the token action applies to a token alert (the quarantine asks for a station).
    assert [a.kind for a in actions] == [S.RESPONSE_ACTION_KIND_BLOCK_TOKEN]
    block = actions[0]
    assert block.block_id and block.reversible and block.requested_by == f"policy:{policy.policy_id}"
    assert (await stack.authz.authorize("AMS-1", token)).status == events_pb2.AUTHORIZATION_STATUS_BLOCKED

    with pytest.raises(grpc.aio.AioRpcError) as partner_undo:
        await stack.stub.UndoResponseAction(S.UndoResponseActionRequest(principal=PARTNER_A, action_id=block.action_id))
    assert partner_undo.value.code() == grpc.StatusCode.PERMISSION_DENIED
    undone = await stack.stub.UndoResponseAction(
        S.UndoResponseActionRequest(principal=ANALYST, action_id=block.action_id, reason="verified the driver")
    )
    assert undone.state == S.RESPONSE_ACTION_STATE_UNDONE and undone.undone_by == "analyst-1"
    assert (await stack.authz.authorize("AMS-1", token)).status == events_pb2.AUTHORIZATION_STATUS_ACCEPTED
    again = await stack.stub.UndoResponseAction(
        S.UndoResponseActionRequest(principal=ANALYST, action_id=block.action_id)
    )
    assert again.state == S.RESPONSE_ACTION_STATE_UNDONE  # idempotent
    audit = [d["action"] async for d in stack.db.audit.find({"details.action_id": block.action_id})]
    assert audit == ["response.planned", "response.applied", "response.undone"]


async def test_dry_run_only_says_what_it_would_do_and_false_positives_undo(stack: Stack) -> None:
    await stack.authz.register("AMS-1", tenant="partner-a")
    stack.gateway.connected["AMS-1"] = common_pb2.OCPP_VERSION_1_6
    await stack.stub.PutResponsePolicy(
        S.PutResponsePolicyRequest(
            principal=OPERATOR,
            policy=S.ResponsePolicy(
                name="tamper: what would happen",
                enabled=True,
                rules=["station-tamper"],
                actions=[S.RESPONSE_ACTION_KIND_QUARANTINE_STATION, S.RESPONSE_ACTION_KIND_DISCONNECT_STATION],
                dry_run=True,
            ),
        )
    )
    await stack.policies.reload()
    await stack.publish(stack.events.security("AMS-1", time.time(), "TamperDetectionActivated", reported_by="station"))
    tamper = (await eventually(lambda: alerts_of(stack, "station-tamper")))[0]

    async def dry() -> list[S.ResponseAction] | None:
        reply = await stack.stub.ListResponseActions(
            S.ListResponseActionsRequest(principal=OPERATOR, alert_id=tamper.alert_id)
        )
        done = [a for a in reply.actions if a.state == S.RESPONSE_ACTION_STATE_DRY_RUN]
        return done if len(done) == 2 else None

    planned = await eventually(dry)
    assert all(a.description.startswith("dry run: would ") for a in planned)
    assert stack.gateway.disconnects == []
    blocks = await stack.authz.stub.ListBlocks(
        authz_pb2.ListBlocksRequest(), metadata=await stack.authz.as_user("operator")
    )
    assert list(blocks.blocks) == []

    # An analyst quarantines for real; marking the alert a false positive lifts the quarantine.
    reply = await stack.stub.RespondToAlert(
        S.RespondToAlertRequest(
            principal=ANALYST,
            alert_id=tamper.alert_id,
            actions=[S.RESPONSE_ACTION_KIND_QUARANTINE_STATION, S.RESPONSE_ACTION_KIND_DISCONNECT_STATION],
            reason="cover open",
        )
    )
    states = {a.kind: a for a in reply.actions}
    assert states[S.RESPONSE_ACTION_KIND_QUARANTINE_STATION].state == S.RESPONSE_ACTION_STATE_APPLIED
    assert states[S.RESPONSE_ACTION_KIND_DISCONNECT_STATION].state == S.RESPONSE_ACTION_STATE_APPLIED
    assert "AMS-1" in stack.gateway.disconnects
    refused = await stack.authz.stub.AuthenticateStation(
        authz_pb2.AuthenticateStationRequest(station_id="AMS-1", connection_profile=1, password="whatever")
    )
    assert refused.outcome != authz_pb2.AuthenticateStationResponse.OUTCOME_ACCEPTED
    blocks = await stack.authz.stub.ListBlocks(
        authz_pb2.ListBlocksRequest(), metadata=await stack.authz.as_user("operator")
    )
    assert [b.subject_id for b in blocks.blocks] == ["AMS-1"]
    with pytest.raises(grpc.aio.AioRpcError) as wrong_subject:
        await stack.stub.RespondToAlert(
            S.RespondToAlertRequest(
                principal=ANALYST, alert_id=tamper.alert_id, actions=[S.RESPONSE_ACTION_KIND_BLOCK_TOKEN]
            )
        )
    assert wrong_subject.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    await stack.stub.ResolveAlert(
        S.AlertActionRequest(principal=ANALYST, alert_id=tamper.alert_id, false_positive=True)
    )
    blocks = await stack.authz.stub.ListBlocks(
        authz_pb2.ListBlocksRequest(), metadata=await stack.authz.as_user("operator")
    )
    assert list(blocks.blocks) == []
    quarantine = states[S.RESPONSE_ACTION_KIND_QUARANTINE_STATION]
    actions = await stack.stub.ListResponseActions(
        S.ListResponseActionsRequest(principal=OPERATOR, alert_id=tamper.alert_id)
    )
    assert {a.action_id: a.state for a in actions.actions}[quarantine.action_id] == S.RESPONSE_ACTION_STATE_UNDONE


async def test_bad_input_gets_clear_errors(stack: Stack) -> None:
    cases = [
        (stack.stub.ListAlerts(S.ListAlertsRequest(principal=NOBODY)), grpc.StatusCode.PERMISSION_DENIED),
        (
            stack.stub.ListAlerts(S.ListAlertsRequest(principal=OPERATOR, page=common_pb2.PageRequest(page_size=1000))),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            stack.stub.ListAlerts(
                S.ListAlertsRequest(principal=OPERATOR, page=common_pb2.PageRequest(page_token="%%"))
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            stack.stub.ListAlerts(S.ListAlertsRequest(principal=OPERATOR, subject_kind="planet")),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (stack.stub.GetAlert(S.GetAlertRequest(principal=OPERATOR, alert_id="")), grpc.StatusCode.INVALID_ARGUMENT),
        (stack.stub.GetAlert(S.GetAlertRequest(principal=OPERATOR, alert_id="nope")), grpc.StatusCode.NOT_FOUND),
        (
            stack.stub.GetRiskScore(S.GetRiskScoreRequest(principal=OPERATOR, station_id="x" * 200)),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            stack.stub.UndoResponseAction(S.UndoResponseActionRequest(principal=ANALYST, action_id="nope")),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            stack.stub.ListResponsePolicies(S.ListResponsePoliciesRequest(principal=PARTNER_A)),
            grpc.StatusCode.PERMISSION_DENIED,
        ),
    ]
    for number, (call, code) in enumerate(cases):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call
        assert error.value.code() == code, (number, error.value.details())
        assert error.value.details()


async def test_rules_catalogue_and_paging(stack: Stack) -> None:
    rules = await stack.stub.ListRules(S.ListRulesRequest(principal=PARTNER_A))
    by_id = {r.rule_id: r for r in rules.rules}
    assert by_id["token-clone"].mitre_technique == "T0859" and by_id["token-clone"].enabled
    assert {p.name for p in by_id["station-brute-force"].parameters} == {
        "brute_force_failures",
        "brute_force_window_seconds",
    }
    now = time.time()
    await stack.publish(
        *(stack.events.security(f"GHOST-{i}", now, "OversizeMessage", tenant_id="partner-a") for i in range(5))
    )
    await eventually(lambda: _count(stack, "oversize-frame", 5))
    first = await stack.stub.ListAlerts(
        S.ListAlertsRequest(principal=OPERATOR, rule="oversize-frame", page=common_pb2.PageRequest(page_size=3))
    )
    assert len(first.alerts) == 3 and first.page.total_size == 5 and first.page.next_page_token
    rest = await stack.stub.ListAlerts(
        S.ListAlertsRequest(
            principal=OPERATOR,
            rule="oversize-frame",
            page=common_pb2.PageRequest(page_size=3, page_token=first.page.next_page_token),
        )
    )
    ids = [a.alert_id for a in first.alerts] + [a.alert_id for a in rest.alerts]
    assert len(set(ids)) == 5 and ids == sorted(ids, reverse=True) and not rest.page.next_page_token


async def test_a_standby_takes_over_when_the_leader_stops(stack: Stack) -> None:
    first = stack.role
    standby = LeaderRole(
        redis=stack.redis,
        lease=LeaderLease(stack.redis, first.lease.key, "standby", 3.0),
        alerts=first.alerts,
        responses=first.responses,
        directory=first.directory,
        inventory=first.inventory,
        parameters=first.parameters,
        disabled_rules=frozenset(),
        maintenance=first.maintenance,
        consumer_group=first.consumer_group,
        partitions=1,
        batch_size=200,
        claim_idle_ms=1000,
        max_deliveries=3,
        checkpoint_seconds=1.0,
        block_ms=100,
    )
    waiting = asyncio.create_task(standby.run())
    try:
        await brute_force(stack, "AMS-1", time.time())
        await eventually(lambda: _count(stack, "station-brute-force", 1))
        await asyncio.sleep(1.5)
        assert not standby.leading and first.leading  # one active monitor at a time
        first.stop()
        await eventually(lambda: asyncio.sleep(0, result=standby.leading))
        assert await first.lease.holder_now() == "standby"
        # The standby resumes from the checkpointed profiles and the group's position.
        assert "AMS-1" in standby.engine().stations  # type: ignore[union-attr]
        await stack.publish(
            stack.events.security("BER-1", time.time(), "TamperDetectionActivated", reported_by="station")
        )
        tamper = (await eventually(lambda: alerts_of(stack, "station-tamper")))[0]
        assert tamper.subject_id == "BER-1"
        assert len(await alerts_of(stack, "station-brute-force")) == 1  # nothing processed twice
    finally:
        standby.stop()
        await asyncio.wait_for(waiting, 20)
