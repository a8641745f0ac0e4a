"""Access rules: brute force, spraying, unknown stations, TLS failures, new certificates and addresses,
token enumeration — each fires at its threshold, not before, and explains itself with its evidence."""

from __future__ import annotations

from chargewatch.v1 import common_pb2, events_pb2
from tests.unit.security_monitor.support import T0, engine, ev, rules, run

HIGH = common_pb2.SEVERITY_HIGH
MEDIUM = common_pb2.SEVERITY_MEDIUM
LOW = common_pb2.SEVERITY_LOW


def wrong_password(station: str, at: float, address: str = "203.0.113.9") -> events_pb2.EventEnvelope:
    return ev.security(station, at, "InvalidCredentials", address=address)


def test_brute_force_fires_at_the_fifth_failure_within_a_minute() -> None:
    target = engine()
    assert run(target, [wrong_password("AMS-1", T0 + i) for i in range(4)]) == []
    found = run(target, [wrong_password("AMS-1", T0 + 4)])
    assert rules(found) == ["station-brute-force"]
    alert = found[0]
    assert (alert.subject_kind, alert.subject_id, alert.severity) == ("station", "AMS-1", HIGH)
    assert alert.tenant_id == "partner-a"  # from the station directory: refusals carry no tenant
    assert len(alert.evidence) == 5
    assert "5 wrong passwords for AMS-1" in alert.explanation and "203.0.113.9" in alert.explanation


def test_failures_spread_beyond_the_window_are_not_brute_force() -> None:
    target = engine()
    found = run(target, [wrong_password("AMS-1", T0 + i * 20) for i in range(10)])
    assert found == []


def test_one_address_failing_as_many_stations_is_spraying() -> None:
    target = engine()
    found = run(target, [wrong_password(f"CP-{i}", T0 + i, "198.51.100.7") for i in range(5)])
    assert rules(found) == ["credential-spraying"]
    assert found[0].subject_kind == "address" and found[0].subject_id == "198.51.100.7"
    assert found[0].tenant_id == ""  # an address belongs to no tenant: operators only
    assert len(found[0].station_ids) == 5


def test_unknown_station_ids_from_one_address_escalate_to_enumeration() -> None:
    target = engine()
    assert run(target, [ev.security("GHOST-1", T0, "UnknownStation", address="192.0.2.1")] * 1) == []
    first = run(target, [ev.security(f"GHOST-{i}", T0 + i, "UnknownStation", address="192.0.2.1") for i in (2, 3)])
    assert rules(first) == ["unknown-station"] and first[0].severity == LOW
    more = run(target, [ev.security(f"GHOST-{i}", T0 + i, "UnknownStation", address="192.0.2.1") for i in range(4, 7)])
    assert more[-1].severity == MEDIUM and "enumeration" in more[-1].explanation


def test_repeated_tls_failures_from_one_address() -> None:
    target = engine({"tls_failures": 3})
    found = run(target, [ev.security("", T0 + i, "TlsHandshakeFailed", address="192.0.2.50") for i in range(3)])
    assert rules(found) == ["tls-handshake-failures"]
    assert found[0].subject_id == "192.0.2.50"


def test_a_known_station_with_a_new_certificate() -> None:
    target = engine()
    assert run(target, [ev.connected("AMS-1", T0, profile=3, certificate="aa" * 32)]) == []
    assert run(target, [ev.connected("AMS-1", T0 + 60, profile=3, certificate="aa" * 32)]) == []
    found = run(target, [ev.connected("AMS-1", T0 + 120, profile=3, certificate="bb" * 32)])
    assert rules(found) == ["station-new-certificate"]
    assert found[0].attributes["certificate_sha256"] == "bb" * 32


def test_a_certificate_naming_another_station_is_reported_for_the_station() -> None:
    target = engine()
    found = run(
        target,
        [
            ev.security(
                "AMS-1", T0, "InvalidClientCertificate", address="192.0.2.9", attributes={"certificate_sha256": "cc"}
            )
        ],
    )
    assert "station-new-certificate" in rules(found)


def test_a_new_network_is_reported_only_after_learning() -> None:
    target = engine({"new_address_learning_connections": 3})
    # While learning, a second network is just learned.
    assert (
        run(target, [ev.connected("AMS-1", T0, address="10.0.0.5"), ev.connected("AMS-1", T0 + 1, address="10.9.0.5")])
        == []
    )
    run(target, [ev.connected("AMS-1", T0 + 2 + i, address="10.0.0.6") for i in range(3)])
    # Same /24 as before: not new.
    assert run(target, [ev.connected("AMS-1", T0 + 10, address="10.0.0.77")]) == []
    found = run(target, [ev.connected("AMS-1", T0 + 20, address="172.16.4.4")])
    assert rules(found) == ["station-new-address"]
    assert found[0].attributes["network"] == "172.16.4.0/24"


def test_many_unknown_tokens_at_one_station_is_enumeration() -> None:
    target = engine({"token_enumeration_tokens": 4})
    refused = [
        ev.authorization(
            "AMS-1", T0 + i, f"04AA{i:010X}", status=events_pb2.AUTHORIZATION_STATUS_INVALID, reason="unknown_token"
        )
        for i in range(4)
    ]
    found = run(target, refused)
    assert rules(found) == ["token-enumeration"]
    # The same token again and again is not enumeration.
    target = engine({"token_enumeration_tokens": 4})
    again = [
        ev.authorization(
            "AMS-1", T0 + i, "04AA0000000000", status=events_pb2.AUTHORIZATION_STATUS_INVALID, reason="unknown_token"
        )
        for i in range(10)
    ]
    assert run(target, again) == []


def test_disabled_rules_do_not_fire() -> None:
    target = engine(disabled=["station-brute-force"])
    assert run(target, [wrong_password("AMS-1", T0 + i) for i in range(10)]) == []
