"""The behaviour model, and the small parts: maintenance windows, parameters, profiles, risk, merging."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chargewatch.security_monitor import risk
from chargewatch.security_monitor.alerts import merge
from chargewatch.security_monitor.anomaly import WINDOW_FEATURES, EwStat, FeatureModel, FleetPrior
from chargewatch.security_monitor.catalogue import RULES, Parameters, check_rule_ids
from chargewatch.security_monitor.engine import DetectionEngine, MaintenanceWindows, version_key
from chargewatch.security_monitor.model import Detection, EvidenceItem
from chargewatch.security_monitor.monitor import SeenEvents
from chargewatch.security_monitor.profiles import StationProfile, network_of
from chargewatch.security_monitor.synthetic import Events, NormalFleet
from chargewatch.v1 import common_pb2, events_pb2
from tests.unit.security_monitor.support import T0, engine, ev, run


def test_normal_fleet_traffic_raises_nothing_and_a_flood_window_is_an_anomaly() -> None:
    fleet = NormalFleet(30, seed=3)
    target = DetectionEngine(locations=fleet.locations().get)
    found = run(target, fleet.generate(12 * 3600))
    assert found == [], Counter(d.rule for d in found)
    station = fleet.stations[4]
    profile = target.stations[station.station_id]
    assert profile.window is not None and profile.window.learned >= 24
    injected = Events("inj")
    start = target.watermark + 5
    burst = [injected.heartbeat(station.station_id, start + i * 0.6, tenant_id=station.tenant_id) for i in range(400)]
    after = [injected.heartbeat(station.station_id, start + 1000, tenant_id=station.tenant_id)]
    found = run(target, [*burst, *after])
    assert [d.rule for d in found] == ["station-behaviour-anomaly"]
    anomaly = found[0]
    assert anomaly.attributes["feature"] == "messages" and anomaly.anomaly_score > 0.9999
    assert anomaly.evidence and "messages was 400" in anomaly.explanation


def test_an_anomalous_window_is_not_learned() -> None:
    fleet = FleetPrior(WINDOW_FEATURES)
    model = FeatureModel(WINDOW_FEATURES, 0.05)
    quiet = dict.fromkeys(WINDOW_FEATURES, 0.0) | {"messages": 5.0}
    for _ in range(30):
        model.learn(quiet, fleet)
    loud = quiet | {"messages": 5000.0}
    score = model.score(loud, fleet)
    assert score.score > 0.9999 and score.top.name == "messages"
    assert model.score(quiet, fleet).score == 0.0


def test_ew_stat_follows_a_level_shift_and_restores_from_its_state() -> None:
    stat = EwStat(0.1)
    for _ in range(100):
        stat.update(1.0)
    assert stat.mean == pytest.approx(1.0) and stat.std == pytest.approx(0.0)
    for _ in range(100):
        stat.update(3.0)
    assert stat.mean == pytest.approx(3.0, abs=1e-3)
    again = EwStat.from_state(0.1, stat.state())
    assert (again.mean, again.var, again.n) == (stat.mean, stat.var, stat.n)


def test_fleet_prior_restores_from_its_state() -> None:
    prior = FleetPrior(["messages"])
    for value in (1.0, 2.0, 3.0, 4.0):
        prior.update("messages", value)
    restored = FleetPrior(["messages"])
    restored.restore(prior.state())
    assert restored.baseline("messages") == pytest.approx(prior.baseline("messages"))


def test_station_profile_round_trips_through_its_document() -> None:
    target = engine()
    run(target, [ev.connected("AMS-1", T0, address="10.1.2.3", profile=3, certificate="ab" * 32)])
    run(target, [ev.boot("AMS-1", T0 + 1, firmware="3.1")])
    run(target, [ev.heartbeat("AMS-1", T0 + 400 * i) for i in range(3)])
    profile = target.stations["AMS-1"]
    doc = profile.document()
    assert all("." not in key for key in doc)  # MongoDB field names
    back = StationProfile.from_document(doc, 0.05)
    assert back.addresses == profile.addresses and back.networks == {"10.1.2.0/24": profile.networks["10.1.2.0/24"]}
    assert back.certificates == profile.certificates and back.firmware_version == "3.1"
    assert back.window is not None and back.window.learned == profile.window.learned  # type: ignore[union-attr]


def test_maintenance_windows() -> None:
    windows = MaintenanceWindows(["1-5 22:00-02:00", "6,7 03:00-04:00"], "Europe/Amsterdam")
    monday = datetime(2027, 1, 4, tzinfo=UTC)  # 01:00 in Amsterdam is 00:00 UTC
    # Past midnight belongs to the previous evening's window: Monday 01:30 is Sunday night (not listed).
    assert not windows.allows((monday + timedelta(minutes=30)).timestamp())
    assert windows.allows((monday + timedelta(days=1, minutes=30)).timestamp())  # Tue 01:30 local
    assert not windows.allows((monday - timedelta(hours=1, minutes=30)).timestamp())  # Sun 22:30 local
    assert windows.allows((monday + timedelta(hours=22)).timestamp())  # Mon 23:00 local
    assert windows.allows((monday + timedelta(days=5, hours=2, minutes=30)).timestamp())  # Sat 03:30 local
    assert not windows.allows((monday + timedelta(hours=10)).timestamp())
    assert MaintenanceWindows([]).allows(T0)
    with pytest.raises(ValueError, match="not like"):
        MaintenanceWindows(["every night"])
    with pytest.raises(ValueError, match="not like"):
        MaintenanceWindows(["8 01:00-02:00"])


def test_parameters_and_rule_ids_are_checked() -> None:
    assert Parameters({"brute_force_failures": 3})["brute_force_failures"] == 3
    with pytest.raises(ValueError, match="unknown rule parameters: nope"):
        Parameters({"nope": 1})
    with pytest.raises(ValueError, match="must be a number"):
        Parameters({"brute_force_failures": -1})
    with pytest.raises(ValueError, match="unknown rules"):
        check_rule_ids(["station-brute-force", "made-up"])
    assert len({r.rule_id for r in RULES}) == len(RULES)
    assert all(r.description and r.title for r in RULES)


def test_version_keys_and_networks() -> None:
    assert version_key("2.10.3-rc1") == (2, 10, 3, 1)
    assert version_key("2.9") < version_key("2.10")  # type: ignore[operator]
    assert version_key("beta") is None
    assert network_of("10.1.2.3") == "10.1.2.0/24"
    assert network_of("2001:db8:1:2::5") == "2001:db8:1::/48"
    assert network_of("not-an-ip") == "not-an-ip"


def test_risk_combines_severities_and_decays() -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    fresh = {"_id": "a", "severity": common_pb2.SEVERITY_HIGH, "state": 1, "last_seen_at": now, "station_ids": ["S"]}
    old = fresh | {"_id": "b", "last_seen_at": now - timedelta(hours=24)}
    acked = fresh | {"_id": "c", "state": events_pb2.ALERT_STATE_ACKNOWLEDGED}
    closed = fresh | {"_id": "d", "state": events_pb2.ALERT_STATE_RESOLVED}
    assert risk.contribution(fresh, now) == 40.0
    assert risk.contribution(old, now) == pytest.approx(20.0)
    assert risk.contribution(acked, now) == 20.0
    scores = risk.station_risks([fresh, old, acked, closed], {"S": 0.5, "T": 0.95}, now)
    assert scores["S"].score == pytest.approx(100 * (1 - 0.6 * 0.8 * 0.8), abs=0.01)
    assert scores["S"].alert_ids == ["a", "b", "c"] and scores["S"].highest == common_pb2.SEVERITY_HIGH
    assert scores["T"].score == pytest.approx(10.0)
    assert risk.combine([100.0, 5.0]) == 100.0


def test_merge_folds_detections_of_one_key() -> None:
    def detection(event_id: str, severity: int, at: float) -> Detection:
        item = EvidenceItem(event_id, "security.event", "S", at, "x")
        return Detection("station-brute-force", severity, "station", "S", "", f"at {at}", [item], at, ("S",))

    merged = merge([detection("e1", 3, 1.0), detection("e2", 4, 2.0), detection("e1", 3, 1.0)])
    assert len(merged) == 1
    assert [e.event_id for e in merged[0].evidence] == ["e1", "e2"]
    assert merged[0].severity == 4 and merged[0].explanation == "at 1.0"


def test_seen_events_stay_bounded() -> None:
    seen = SeenEvents(generation=3)
    for i in range(7):
        seen.add(f"e{i}")
    assert "e6" in seen and "e3" in seen and "e0" not in seen


def test_sweep_closes_quiet_windows_and_forgets_idle_ones() -> None:
    target = engine()
    run(target, [ev.security("X", T0, "InvalidCredentials", address="192.0.2.1")])
    assert "X" in target.failures_by_station
    target.sweep(T0 + 7200)
    assert "X" not in target.failures_by_station and "192.0.2.1" not in target.failures_by_address


def test_the_security_docs_explain_every_rule_and_parameter() -> None:
    text = (Path(__file__).parents[3] / "docs" / "security.md").read_text()
    for rule in RULES:
        assert f"`{rule.rule_id}`" in text, rule.rule_id
        for parameter in rule.parameters:
            assert f"`{parameter.name}`" in text, parameter.name
        if rule.mitre_technique:
            assert f"{rule.mitre_technique} {rule.mitre_name}" in text
