"""The partner API's plain parts: command translation per OCPP version, webhook signatures and targets,
entity tags and the shared response cache, the token cache, event rendering and rate-limit headers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from chargewatch.auth import InvalidTokenError, Principal
from chargewatch.partner_api.auth import CachedTokenValidator
from chargewatch.partner_api.cache import ResponseCache, entity_tag, etag_matches
from chargewatch.partner_api.commands import CommandNotApplicable, plan
from chargewatch.partner_api.config import PartnerApiSettings
from chargewatch.partner_api.events import EventHub, PublicEvent, render, sse_message
from chargewatch.partner_api.models import (
    AvailabilityCommand,
    ResetCommand,
    StartCommand,
    StopCommand,
    UnlockCommand,
)
from chargewatch.partner_api.ratelimit import RateLimitState
from chargewatch.partner_api.webhooks import InvalidTarget, check_target, new_secret, sign, signature_headers, verify
from chargewatch.streams import EventPublisher
from chargewatch.v1 import common_pb2, events_pb2


@pytest.mark.parametrize(
    ("name", "body", "version", "arguments"),
    [
        ("start", StartCommand(id_token="04A1B2C3", evse_id=2), "1.6", {"idTag": "04A1B2C3", "connectorId": 2}),
        (
            "start",
            StartCommand(id_token="04A1B2C3", evse_id=2),
            "2.0.1",
            {"idToken": {"idToken": "04A1B2C3", "type": "ISO14443"}, "evseId": 2},
        ),
        ("stop", StopCommand(transaction_id="42"), "1.6", {"transactionId": 42}),
        ("stop", StopCommand(transaction_id="tx-9"), "2.0.1", {"transactionId": "tx-9"}),
        ("reset", ResetCommand(type="hard"), "1.6", {"type": "Hard"}),
        ("reset", ResetCommand(type="soft"), "2.0.1", {"type": "OnIdle"}),
        ("reset", ResetCommand(type="hard"), "2.0.1", {"type": "Immediate"}),
        ("unlock", UnlockCommand(evse_id=3), "1.6", {"connectorId": 3}),
        ("unlock", UnlockCommand(evse_id=3, connector_id=2), "2.0.1", {"evseId": 3, "connectorId": 2}),
        ("availability", AvailabilityCommand(operative=False), "1.6", {"connectorId": 0, "type": "Inoperative"}),
        (
            "availability",
            AvailabilityCommand(operative=True, evse_id=1),
            "2.0.1",
            {"operationalStatus": "Operative", "evse": {"id": 1}},
        ),
        ("availability", AvailabilityCommand(operative=True), "2.0.1", {"operationalStatus": "Operative"}),
        # 2.1 stations take 2.0.1's arguments.
        ("stop", StopCommand(transaction_id="tx-9"), "2.1", {"transactionId": "tx-9"}),
        ("reset", ResetCommand(type="hard"), "2.1", {"type": "Immediate"}),
    ],
)
def test_commands_become_the_stations_version_of_the_call(name: str, body: Any, version: str, arguments: Any) -> None:
    assert plan(name, body, version).arguments == arguments


@pytest.mark.parametrize(
    ("name", "body", "version", "why"),
    [
        ("stop", StopCommand(transaction_id="tx-9"), "1.6", "integers"),
        ("start", StartCommand(id_token="0123456789ABCDEF01234"), "1.6", "at most 20"),
        ("unlock", UnlockCommand(evse_id=1, connector_id=2), "1.6", "one connector"),
        ("reset", ResetCommand(), None, "OCPP version"),
    ],
)
def test_commands_a_station_cannot_take_are_refused_with_the_reason(
    name: str, body: Any, version: str | None, why: str
) -> None:
    with pytest.raises(CommandNotApplicable, match=why):
        plan(name, body, version)


def test_webhook_signatures_follow_standard_webhooks() -> None:
    secret = new_secret()
    body = b'{"type":"station.status"}'
    headers = signature_headers(secret, "evt_1", body, now=1_700_000_000)
    # Recomputed independently: base64 HMAC-SHA256 over "id.timestamp.body" with the decoded secret.
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, b"evt_1.1700000000." + body, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert verify(secret, headers, body, now=1_700_000_100)
    assert not verify(secret, headers, body, now=1_700_000_000 + 301)  # too old: a replay
    assert not verify(secret, headers, body + b"x", now=1_700_000_000)
    assert not verify(new_secret(), headers, body, now=1_700_000_000)
    rotated = {**headers, "webhook-signature": f"v1,AAAA {headers['webhook-signature']}"}
    assert verify(secret, rotated, body, now=1_700_000_000)
    assert sign(secret, "a", 1, b"") != sign(secret, "b", 1, b"")


@pytest.mark.parametrize(
    ("url", "insecure", "hosts", "ok"),
    [
        ("https://hooks.partner.example/cw", False, frozenset(), True),
        ("http://hooks.partner.example/cw", False, frozenset(), False),
        ("https://127.0.0.1/cw", False, frozenset(), False),
        ("https://10.1.2.3/cw", False, frozenset(), False),
        ("https://[::1]/cw", False, frozenset(), False),
        ("https://localhost/cw", False, frozenset(), False),
        ("http://127.0.0.1:8000/cw", True, frozenset(), True),
        ("https://user:pw@hooks.partner.example/", False, frozenset(), False),
        ("https://other.example/cw", False, frozenset({"hooks.partner.example"}), False),
        ("ftp://hooks.partner.example/cw", True, frozenset(), False),
    ],
)
def test_webhook_targets(url: str, insecure: bool, hosts: frozenset[str], ok: bool) -> None:
    if ok:
        assert check_target(url, allow_insecure=insecure, allowed_hosts=hosts) == url
    else:
        with pytest.raises(InvalidTarget):
            check_target(url, allow_insecure=insecure, allowed_hosts=hosts)


@pytest.mark.parametrize(
    ("url", "insecure", "ports", "ok"),
    [
        ("https://hooks.partner.example/cw", False, frozenset({443}), True),  # no port: 443
        ("https://hooks.partner.example:443/cw", False, frozenset({443}), True),
        ("https://hooks.partner.example:8443/cw", False, frozenset({443}), False),
        ("https://hooks.partner.example:80/cw", False, frozenset({443}), False),
        ("https://203.0.113.7:8443/cw", False, frozenset({443}), False),
        # An operator who opens 8443 in the chart opens it here too; 443 then stays open only if listed.
        ("https://hooks.partner.example:8443/cw", False, frozenset({443, 8443}), True),
        ("https://hooks.partner.example/cw", False, frozenset({8443}), False),
        # Development and tests (loopback receivers on free ports): any port.
        ("http://127.0.0.1:8443/cw", True, frozenset({443}), True),
        ("https://hooks.partner.example:8443/cw", True, frozenset({443}), True),
        # A port that is no port is refused even then.
        ("https://hooks.partner.example:99999/cw", True, frozenset({443}), False),
        ("https://hooks.partner.example:x/cw", False, frozenset({443}), False),
    ],
)
def test_webhook_ports(url: str, insecure: bool, ports: frozenset[int], ok: bool) -> None:
    if ok:
        assert check_target(url, allow_insecure=insecure, allowed_ports=ports) == url
    else:
        with pytest.raises(InvalidTarget, match="port"):
            check_target(url, allow_insecure=insecure, allowed_ports=ports)


def test_webhook_port_message_names_the_open_port() -> None:
    with pytest.raises(InvalidTarget) as raised:
        check_target("https://hooks.partner.example:8443/cw", allow_insecure=False)
    assert str(raised.value) == (
        "url must use port 443 (an https URL without a port uses 443): deliveries cannot reach port 8443"
    )


def test_webhook_port_settings() -> None:
    assert PartnerApiSettings().webhook_ports == frozenset({443})
    assert PartnerApiSettings(webhook_allowed_ports=" 443, 8443 ").webhook_ports == frozenset({443, 8443})
    for bad in ("", "443,", "https", "0", "70000"):
        with pytest.raises(ValidationError):
            PartnerApiSettings(webhook_allowed_ports=bad)


def test_entity_tags_compare_weakly() -> None:
    tag = entity_tag(b"abc")
    assert tag.startswith('W/"') and tag != entity_tag(b"abd")
    assert etag_matches(tag, tag)
    assert etag_matches(f'"x", {tag.removeprefix("W/")}', tag)
    assert etag_matches("*", tag)
    assert not etag_matches(None, tag)
    assert not etag_matches('W/"other"', tag)


async def test_concurrent_misses_fetch_once_and_errors_are_not_cached() -> None:
    cache = ResponseCache(ttl_seconds=60)
    calls = 0

    async def fetch() -> bytes:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return b"page"

    entries = await asyncio.gather(*(cache.get_or_fetch("k", fetch) for _ in range(20)))
    assert calls == 1 and {e.body for e in entries} == {b"page"}

    async def failing() -> bytes:
        raise KeyError("downstream")

    for _ in range(2):
        with pytest.raises(KeyError):
            await cache.get_or_fetch("bad", failing)
    assert (await cache.get_or_fetch("bad", fetch)).body == b"page"
    uncached = ResponseCache(ttl_seconds=0)
    await uncached.get_or_fetch("k", fetch)
    await uncached.get_or_fetch("k", fetch)
    assert calls == 4


class _Validator:
    leeway_seconds = 0.0

    def __init__(self) -> None:
        self.calls = 0
        self.expiry = datetime.now(UTC) + timedelta(minutes=5)

    async def validate(self, token: str) -> Principal:
        self.calls += 1
        if token == "bad":
            raise InvalidTokenError("token signature invalid")
        return Principal(token, token, "cli", frozenset({"operator"}), None, self.expiry)

    async def ready(self) -> bool:
        return True


async def test_tokens_are_verified_once_until_they_expire() -> None:
    validator = _Validator()
    cached = CachedTokenValidator(validator, max_entries=2)  # type: ignore[arg-type]
    assert (await cached.validate("t1")).subject == "t1"
    await cached.validate("t1")
    assert validator.calls == 1
    with pytest.raises(InvalidTokenError):
        await cached.validate("bad")
    with pytest.raises(InvalidTokenError):
        await cached.validate("bad")  # failures are never cached
    assert validator.calls == 3
    validator.expiry = datetime.now(UTC) - timedelta(seconds=1)
    await cached.validate("t2")
    await cached.validate("t2")  # expired at once: checked again every time
    assert validator.calls == 5
    for name in ("t3", "t4", "t5"):
        await cached.validate(name)
    assert len(cached._principals) <= 2


def _entry(payload: Any, tenant: str = "partner-a", station: str = "CP-1") -> dict[bytes, bytes]:
    publisher = EventPublisher.__new__(EventPublisher)
    publisher.producer = "test"
    envelope = EventPublisher.envelope(
        publisher, station, payload, tenant_id=tenant, station_time=datetime(2026, 1, 1, tzinfo=UTC)
    )
    return {b"type": envelope.event_type.encode(), b"data": envelope.SerializeToString()}


def test_stream_entries_render_as_public_events() -> None:
    status = events_pb2.ConnectorStatusChange(
        evse_id=1, connector_id=1, status=common_pb2.CONNECTOR_STATUS_FAULTED, error_code="GroundFailure"
    )
    event = render("1700000000000-0", _entry(status))
    assert event is not None
    body = orjson.loads(event.body)
    assert body["type"] == "station.status" and body["tenant_id"] == "partner-a"
    assert body["data"] == {"evse_id": 1, "connector_id": 1, "status": "Faulted", "error_code": "GroundFailure"}
    assert body["time"] == "2026-01-01T00:00:00Z"
    assert sse_message(event).startswith(b"id: 1700000000000-0\nevent: station.status\ndata: {")
    refused = events_pb2.StationConnection(kind=events_pb2.StationConnection.KIND_REFUSED)
    assert render("1-0", _entry(refused)) is None
    assert render("1-0", _entry(events_pb2.StationHeartbeat())) is None
    assert render("1-0", {b"type": b"connector.status", b"data": b"\xff\xff not protobuf"}) is None


async def test_the_hub_hands_events_only_to_admitted_subscriptions_and_drops_slow_ones() -> None:
    hub = EventHub.__new__(EventHub)
    hub._subscribers = set()
    hub.queue_size = 2
    mine = EventHub.subscribe(hub, "partner-a", frozenset({"station.status"}))
    everything = EventHub.subscribe(hub, None, frozenset({"station.status", "station.connection"}))
    one_station = EventHub.subscribe(hub, None, frozenset({"station.status"}), frozenset({"CP-2"}))

    def event(tenant: str, station: str, kind: str = "station.status") -> PublicEvent:
        return PublicEvent("1-0", "e", kind, tenant, station, b"{}")

    hub.publish(event("partner-b", "CP-2"))
    hub.publish(event("partner-a", "CP-1", "station.connection"))
    assert mine.queue.qsize() == 0
    assert everything.queue.qsize() == 2 and one_station.queue.qsize() == 1
    hub.publish(event("partner-a", "CP-1"))
    assert mine.queue.qsize() == 1
    assert everything.overflowed and everything not in hub._subscribers


def test_rate_limit_headers() -> None:
    state = RateLimitState(limit=10, remaining=0, reset_seconds=7, window_seconds=60, exceeded=True)
    assert state.headers() == {
        "RateLimit-Limit": "10",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "7",
        "RateLimit-Policy": "10;w=60",
        "Retry-After": "7",
    }


async def test_stale_answers_are_served_while_one_background_fetch_renews_them() -> None:
    cache = ResponseCache(ttl_seconds=0.05, stale_seconds=5)
    version = 0
    started = asyncio.Event()
    release = asyncio.Event()

    async def fetch() -> bytes:
        nonlocal version
        version += 1
        if version > 1:
            started.set()
            await release.wait()  # a slow backend
        return f"v{version}".encode()

    assert (await cache.get_or_fetch("k", fetch)).body == b"v1"
    await asyncio.sleep(0.06)
    # Expired: answered at once from the stale entry, while one renewal runs.
    answers = [await asyncio.wait_for(cache.get_or_fetch("k", fetch), 0.5) for _ in range(5)]
    assert {a.body for a in answers} == {b"v1"}
    await asyncio.wait_for(started.wait(), 1)
    release.set()
    for _ in range(50):
        await asyncio.sleep(0.01)
        if (await cache.get_or_fetch("k", fetch)).body == b"v2":
            break
    assert (await cache.get_or_fetch("k", fetch)).body == b"v2" and version == 2


def test_the_fast_station_json_is_the_models_json_byte_for_byte() -> None:
    from chargewatch.partner_api.convert import station_dict, station_out, to_json
    from chargewatch.v1 import telemetry_pb2

    station = telemetry_pb2.Station(
        station_id="CW-A-0001",
        tenant_id="partner-a",
        site_id="ams",
        security_profile=common_pb2.SECURITY_PROFILE_2_TLS_BASIC,
        ocpp_version=common_pb2.OCPP_VERSION_2_0_1,
        registration_status=common_pb2.REGISTRATION_STATUS_ACCEPTED,
        online=True,
        vendor="V",
        name="Amsterdam 1",
    )
    station.location.latitude, station.location.longitude = 52.37, 4.89
    station.last_seen.FromMicroseconds(1_764_547_200_123_456)
    station.registered_at.FromSeconds(1_764_547_200)
    charging = station.connectors.add(evse_id=1, connector_id=1, status=common_pb2.CONNECTOR_STATUS_CHARGING)
    charging.status_since.FromSeconds(1_764_547_300)
    charging.last_reading_at.FromSeconds(1_764_547_310)
    charging.last_energy_wh, charging.last_power_w, charging.max_power_w = 1234.5, 7000.0, 22000.0
    station.connectors.add(
        evse_id=2, connector_id=1, error_code="GroundFailure", status=common_pb2.CONNECTOR_STATUS_FAULTED
    )
    assert to_json(station_dict(station)) == station_out(station).model_dump_json().encode()
