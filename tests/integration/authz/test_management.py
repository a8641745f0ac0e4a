"""Management RPCs: caller authentication, tenant isolation, quarantines, rotation, registration, certificates,
local lists."""

from __future__ import annotations

import datetime as dt
import io
import logging
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chargewatch.observability.logs import JsonLogFormatter
from chargewatch.streams import StreamFamily, stream_name
from chargewatch.v1 import authz_pb2, common_pb2, events_pb2, gateway_pb2
from tests.integration.authz.conftest import SERVICES_SECRET, Harness, build_harness

pytestmark = pytest.mark.integration

OUTCOME = authz_pb2.AuthenticateStationResponse
P1, P3 = common_pb2.SECURITY_PROFILE_1_BASIC, common_pb2.SECURITY_PROFILE_3_MUTUAL_TLS


def card() -> str:
    return uuid.uuid4().hex[:8].upper()


async def login(h: Harness, station: str, password: str, profile: int = P1, fingerprint: str = "") -> int:
    reply = await h.stub.AuthenticateStation(
        authz_pb2.AuthenticateStationRequest(
            station_id=station, password=password, connection_profile=profile, client_certificate_sha256=fingerprint
        )
    )
    return int(reply.outcome)


async def test_management_needs_a_valid_caller_and_keeps_tenants_apart(authz: Harness) -> None:
    request = authz_pb2.CreateTokenRequest(token=authz_pb2.DriverToken(id_token=card(), tenant_id="partner-a"))
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await authz.stub.CreateToken(request)
    assert anonymous.value.code() is grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as forged:
        await authz.stub.CreateToken(request, metadata=(("authorization", "Bearer eyJhbGciOiJub25lIn0.e30."),))
    assert forged.value.code() is grpc.StatusCode.UNAUTHENTICATED

    partner_a, partner_b = await authz.as_user("partner-a"), await authz.as_user("partner-b")
    created = await authz.stub.CreateToken(request, metadata=partner_a)
    assert created.tenant_id == "partner-a"
    with pytest.raises(grpc.aio.AioRpcError) as other_tenant:
        await authz.stub.CreateToken(
            authz_pb2.CreateTokenRequest(token=authz_pb2.DriverToken(id_token=card(), tenant_id="partner-a")),
            metadata=partner_b,
        )
    assert other_tenant.value.code() is grpc.StatusCode.PERMISSION_DENIED
    lookup = authz_pb2.GetTokenRequest(id_token=created.id_token, id_token_type="ISO14443")
    assert (await authz.stub.GetToken(lookup, metadata=partner_a)).id_token == created.id_token
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await authz.stub.GetToken(lookup, metadata=partner_b)
    assert hidden.value.code() is grpc.StatusCode.NOT_FOUND  # not FORBIDDEN: existence is not disclosed
    assert (await authz.stub.ListTokens(authz_pb2.ListTokensRequest(), metadata=partner_b)).tokens == []
    with pytest.raises(grpc.aio.AioRpcError) as sre_writes:
        await authz.stub.SetTokenStatus(
            authz_pb2.SetTokenStatusRequest(id_token=created.id_token, status="blocked"),
            metadata=await authz.as_user("sre"),
        )
    assert sre_writes.value.code() is grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as duplicate:
        await authz.stub.CreateToken(request, metadata=partner_a)
    assert duplicate.value.code() is grpc.StatusCode.ALREADY_EXISTS

    # Cursor pagination over the operator's view.
    operator = await authz.as_user("operator")
    for _ in range(3):
        await authz.stub.CreateToken(
            authz_pb2.CreateTokenRequest(token=authz_pb2.DriverToken(id_token=card(), tenant_id="partner-b")),
            metadata=operator,
        )
    first = await authz.stub.ListTokens(
        authz_pb2.ListTokensRequest(page=common_pb2.PageRequest(page_size=2)), metadata=operator
    )
    second = await authz.stub.ListTokens(
        authz_pb2.ListTokensRequest(page=common_pb2.PageRequest(page_size=2, page_token=first.page.next_page_token)),
        metadata=operator,
    )
    assert first.page.total_size == 4 and len(first.tokens) == 2 and len(second.tokens) == 2
    assert not {t.id_token for t in first.tokens} & {t.id_token for t in second.tokens}


async def test_quarantines_refuse_or_disable_and_are_lifted_with_an_audit(authz: Harness) -> None:
    password = await authz.register("CP-Q1")
    await authz.register("CP-Q2")
    authz.gateway.connected.update({"CP-Q1": common_pb2.OCPP_VERSION_1_6, "CP-Q2": common_pb2.OCPP_VERSION_2_0_1})
    analyst = await authz.as_user("analyst")
    refuse = await authz.stub.QuarantineStation(
        authz_pb2.QuarantineStationRequest(station_id="CP-Q1", reason="tamper alarm", mode="refuse_connections"),
        metadata=analyst,
    )
    assert await login(authz, "CP-Q1", password) == OUTCOME.OUTCOME_QUARANTINED
    assert authz.gateway.disconnects == ["CP-Q1"]
    await authz.stub.QuarantineStation(
        authz_pb2.QuarantineStationRequest(station_id="CP-Q2", reason="odd meter values", mode="set_unavailable"),
        metadata=analyst,
    )
    kind = gateway_pb2.COMMAND_KIND_CHANGE_AVAILABILITY
    assert authz.gateway.arguments(kind) == [{"operationalStatus": "Inoperative"}]
    token = card()
    await authz.stub.CreateToken(
        authz_pb2.CreateTokenRequest(token=authz_pb2.DriverToken(id_token=token, tenant_id="partner-a")),
        metadata=await authz.as_user("operator"),
    )
    quarantined = await authz.authorize("CP-Q2", token)
    assert (quarantined.status, quarantined.reason) == (
        events_pb2.AUTHORIZATION_STATUS_NOT_AT_THIS_LOCATION,
        "station_quarantined",
    )
    listed = await authz.stub.ListBlocks(authz_pb2.ListBlocksRequest(subject_kind="station"), metadata=analyst)
    assert {b.subject_id for b in listed.blocks} == {"CP-Q1", "CP-Q2"}

    lifted = await authz.stub.LiftBlock(
        authz_pb2.LiftBlockRequest(block_id=refuse.block_id, reason="false alarm"), metadata=analyst
    )
    assert lifted.HasField("lifted_at")
    assert await login(authz, "CP-Q1", password) == OUTCOME.OUTCOME_ACCEPTED
    with pytest.raises(grpc.aio.AioRpcError) as twice:
        await authz.stub.LiftBlock(authz_pb2.LiftBlockRequest(block_id=refuse.block_id), metadata=analyst)
    assert twice.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.aio.AioRpcError) as partner:
        await authz.stub.QuarantineStation(
            authz_pb2.QuarantineStationRequest(station_id="CP-Q1", reason="x"),
            metadata=await authz.as_user("partner-a"),
        )
    assert partner.value.code() is grpc.StatusCode.PERMISSION_DENIED

    # BlockToken: an expiring block, refused while it lasts.
    blocked = await authz.stub.BlockToken(
        authz_pb2.BlockTokenRequest(id_token=token, reason="cloned card"), metadata=analyst
    )
    assert (await authz.authorize("CP-Q1", token)).status == events_pb2.AUTHORIZATION_STATUS_BLOCKED
    await authz.stub.LiftBlock(
        authz_pb2.LiftBlockRequest(block_id=blocked.block_id, reason="card replaced"), metadata=analyst
    )
    assert (await authz.authorize("CP-Q1", token)).status == events_pb2.AUTHORIZATION_STATUS_ACCEPTED

    audit = [d async for d in authz.db["audit"].find({"subject_id": "CP-Q1"})]
    assert [a["action"] for a in sorted(audit, key=lambda a: a["at"])] == ["station.quarantined", "block.lifted"]
    assert all(a["actor"].startswith("analyst") for a in audit)


async def test_password_rotation_through_the_gateway(authz: Harness) -> None:
    old = await authz.register("CP-R1")
    operator = await authz.as_user("operator")
    rotate = authz_pb2.RotateStationCredentialsRequest(station_id="CP-R1")
    offline = await authz.stub.RotateStationCredentials(rotate, metadata=operator)
    assert offline.outcome == "not_connected"

    authz.gateway.connected["CP-R1"] = common_pb2.OCPP_VERSION_2_0_1
    authz.gateway.answers["COMMAND_KIND_SET_PASSWORD"] = "Rejected"
    rejected = await authz.stub.RotateStationCredentials(rotate, metadata=operator)
    assert rejected.outcome == "rejected"
    refused_password = authz.gateway.arguments(gateway_pb2.COMMAND_KIND_SET_PASSWORD)[-1]["password"]
    assert await login(authz, "CP-R1", refused_password) == OUTCOME.OUTCOME_BAD_CREDENTIALS
    assert await login(authz, "CP-R1", old) == OUTCOME.OUTCOME_ACCEPTED

    authz.gateway.answers["COMMAND_KIND_SET_PASSWORD"] = "Accepted"
    accepted = await authz.stub.RotateStationCredentials(rotate, metadata=operator)
    assert accepted.outcome == "accepted"
    assert "password" not in str(accepted).lower().replace("old password", "")  # never returned
    new = authz.gateway.arguments(gateway_pb2.COMMAND_KIND_SET_PASSWORD)[-1]["password"]
    assert new != old and 16 <= len(new) <= 40
    assert await login(authz, "CP-R1", old) == OUTCOME.OUTCOME_ACCEPTED  # both valid in between
    assert await login(authz, "CP-R1", new) == OUTCOME.OUTCOME_ACCEPTED  # the station reconnects: confirmed
    assert await login(authz, "CP-R1", old) == OUTCOME.OUTCOME_BAD_CREDENTIALS

    with pytest.raises(grpc.aio.AioRpcError) as partner:
        await authz.stub.RotateStationCredentials(rotate, metadata=await authz.as_user("partner-a"))
    assert partner.value.code() is grpc.StatusCode.PERMISSION_DENIED


@pytest.fixture
async def pending_authz(mongo_url: str, redis_url: str, keycloak_url: str) -> AsyncIterator[Harness]:
    async for harness in build_harness(mongo_url, redis_url, keycloak_url, registration="Pending"):
        yield harness


async def test_new_stations_start_pending_until_an_operator_accepts(pending_authz: Harness) -> None:
    h = pending_authz
    password = await h.register("CP-N1")
    first = await h.stub.AuthenticateStation(
        authz_pb2.AuthenticateStationRequest(station_id="CP-N1", password=password, connection_profile=P1)
    )
    assert first.registration_status == common_pb2.REGISTRATION_STATUS_PENDING
    change = authz_pb2.SetStationRegistrationRequest(
        station_id="CP-N1", registration_status=common_pb2.REGISTRATION_STATUS_ACCEPTED, reason="site visit done"
    )
    with pytest.raises(grpc.aio.AioRpcError) as partner:
        await h.stub.SetStationRegistration(change, metadata=await h.as_user("partner-a"))
    assert partner.value.code() is grpc.StatusCode.PERMISSION_DENIED
    reply = await h.stub.SetStationRegistration(change, metadata=await h.as_user("operator"))
    assert reply.registration_status == common_pb2.REGISTRATION_STATUS_ACCEPTED
    again = await h.stub.AuthenticateStation(
        authz_pb2.AuthenticateStationRequest(station_id="CP-N1", password=password, connection_profile=P1)
    )
    assert again.registration_status == common_pb2.REGISTRATION_STATUS_ACCEPTED
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await h.stub.SetStationRegistration(
            authz_pb2.SetStationRegistrationRequest(
                station_id="CP-NONE", registration_status=common_pb2.REGISTRATION_STATUS_REJECTED
            ),
            metadata=await h.as_user("operator"),
        )
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND


def self_signed(station: str, days: int = 30) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, station)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), cert.fingerprint(hashes.SHA256()).hex()


async def test_client_certificate_registry(authz: Harness) -> None:
    operator = await authz.as_user("operator")
    await authz.stub.RegisterStation(
        authz_pb2.RegisterStationRequest(station_id="CP-T1", tenant_id="partner-a", security_profile=P3),
        metadata=operator,
    )
    pem, fingerprint = self_signed("CP-T1")
    registered = await authz.stub.RegisterClientCertificate(
        authz_pb2.RegisterClientCertificateRequest(station_id="CP-T1", certificate_pem=pem), metadata=operator
    )
    assert registered.sha256_fingerprint == fingerprint and registered.subject == "CN=CP-T1"
    assert await login(authz, "CP-T1", "", P3, fingerprint.upper()) == OUTCOME.OUTCOME_ACCEPTED
    await authz.stub.RevokeClientCertificate(
        authz_pb2.RevokeClientCertificateRequest(sha256_fingerprint=fingerprint, reason="key leaked"), metadata=operator
    )
    assert await login(authz, "CP-T1", "", P3, fingerprint) == OUTCOME.OUTCOME_BAD_CREDENTIALS
    listed = await authz.stub.ListClientCertificates(
        authz_pb2.ListClientCertificatesRequest(station_id="CP-T1"), metadata=operator
    )
    assert [c.revocation_reason for c in listed.certificates] == ["key leaked"]
    with pytest.raises(grpc.aio.AioRpcError) as garbage:
        await authz.stub.RegisterClientCertificate(
            authz_pb2.RegisterClientCertificateRequest(station_id="CP-T1", certificate_pem="not a pem"),
            metadata=operator,
        )
    assert garbage.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_local_list_full_then_differential_in_each_version(authz: Harness) -> None:
    await authz.register("CP-LL16", site="garage")
    await authz.register("CP-LL201", site="garage")
    authz.gateway.connected.update({"CP-LL16": common_pb2.OCPP_VERSION_1_6, "CP-LL201": common_pb2.OCPP_VERSION_2_0_1})
    operator = await authz.as_user("operator")
    first, second = card(), card()
    for token in (first, second):
        await authz.stub.CreateToken(
            authz_pb2.CreateTokenRequest(
                token=authz_pb2.DriverToken(id_token=token, tenant_id="partner-a", group_id="staff")
            ),
            metadata=operator,
        )
    published = await authz.stub.PublishLocalList(
        authz_pb2.PublishLocalListRequest(site_id="garage"), metadata=operator
    )
    assert (published.version, published.entries) == (1, 2)
    assert {(p.station_id, p.update_type, p.status) for p in published.pushes} == {
        ("CP-LL16", "Full", "Accepted"),
        ("CP-LL201", "Full", "Accepted"),
    }
    full_16, full_201 = authz.gateway.arguments(gateway_pb2.COMMAND_KIND_SEND_LOCAL_LIST)
    assert full_16["listVersion"] == 1 and {e["idTag"] for e in full_16["localAuthorizationList"]} == {first, second}
    assert full_201["versionNumber"] == 1
    assert full_201["localAuthorizationList"][0]["idTokenInfo"]["groupIdToken"] == {
        "idToken": "staff",
        "type": "Central",
    }

    await authz.stub.SetTokenStatus(
        authz_pb2.SetTokenStatusRequest(id_token=second, status="blocked", reason="lost"), metadata=operator
    )
    again = await authz.stub.PublishLocalList(authz_pb2.PublishLocalListRequest(site_id="garage"), metadata=operator)
    assert (again.version, again.entries) == (2, 1)
    diff_16, diff_201 = authz.gateway.arguments(gateway_pb2.COMMAND_KIND_SEND_LOCAL_LIST)[2:]
    assert diff_16 == {"listVersion": 2, "updateType": "Differential", "localAuthorizationList": [{"idTag": second}]}
    assert diff_201["localAuthorizationList"] == [{"idToken": {"idToken": second, "type": "ISO14443"}}]
    unchanged = await authz.stub.PublishLocalList(
        authz_pb2.PublishLocalListRequest(site_id="garage"), metadata=operator
    )
    assert unchanged.version == 2 and {p.status for p in unchanged.pushes} == {"up_to_date"}


async def test_no_password_or_token_secret_in_logs_events_or_responses(authz: Harness) -> None:
    root = logging.getLogger()
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(JsonLogFormatter("authz"))  # the service's own format, extras included
    root.addHandler(handler)
    previous = root.level
    # Our loggers at DEBUG; libraries at INFO (pymongo's DEBUG command log echoes documents by design).
    root.setLevel(logging.INFO)
    ours = logging.getLogger("chargewatch")
    ours.setLevel(logging.DEBUG)
    responses: list[str] = []
    try:
        password = await authz.register("CP-S1")
        authz.gateway.connected["CP-S1"] = common_pb2.OCPP_VERSION_1_6
        operator_token = await authz.access_token("operator")
        metadata = (("authorization", f"Bearer {operator_token}"),)
        pin = "4711-secret"
        responses.append(
            str(
                await authz.stub.CreateToken(
                    authz_pb2.CreateTokenRequest(
                        token=authz_pb2.DriverToken(id_token=pin, id_token_type="KeyCode", tenant_id="partner-a")
                    ),
                    metadata=metadata,
                )
            )
        )
        responses.append(str(await authz.authorize("CP-S1", pin, "KeyCode")))
        responses.append(
            str(
                await authz.stub.RotateStationCredentials(
                    authz_pb2.RotateStationCredentialsRequest(station_id="CP-S1"), metadata=metadata
                )
            )
        )
        new_password = authz.gateway.arguments(gateway_pb2.COMMAND_KIND_SET_PASSWORD)[-1]["password"]
        await login(authz, "CP-S1", "wrong-password-123456")
        await login(authz, "CP-S1", new_password)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await authz.stub.ValidateAccessToken(
                authz_pb2.ValidateAccessTokenRequest(access_token=operator_token + "x")
            )
        responses.append(refused.value.details() or "")
        await authz.authorizer.close()
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        ours.setLevel(logging.NOTSET)
    events = [
        str(events_pb2.EventEnvelope.FromString(f[b"data"]))
        for _, f in await authz.redis.xrange(stream_name(StreamFamily.AUTHORIZATION, 0))
    ]
    assert events and "KeyCode" in "".join(events)
    everything = captured.getvalue() + "".join(events) + "".join(responses)
    assert "station" in captured.getvalue()  # the capture did see the service's log lines
    audit = str([d async for d in authz.db["audit"].find({})])
    for secret in (password, new_password, operator_token, operator_token.split(".")[2], pin, SERVICES_SECRET):
        assert secret not in everything
        assert secret not in audit
