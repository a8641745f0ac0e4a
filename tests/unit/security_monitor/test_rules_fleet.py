"""Rules across stations: connection storms per tenant, and operator-side command rates and principals."""

from __future__ import annotations

from tests.unit.security_monitor.support import T0, engine, ev, rules, run


def test_a_storm_is_many_reconnects_of_one_tenant() -> None:
    target = engine({"storm_min_stations": 3})
    stations = [f"A-{i}" for i in range(4)]
    # First connections are not reconnects.
    assert run(target, [ev.connected(s, T0, tenant_id="partner-a") for s in stations]) == []
    run(target, [ev.disconnected(s, T0 + 100, tenant_id="partner-a") for s in stations])
    found = run(target, [ev.connected(s, T0 + 102 + i, tenant_id="partner-a") for i, s in enumerate(stations)])
    assert rules(found) == ["connection-storm", "connection-storm"]  # at the 3rd and 4th station
    storm = found[-1]
    assert (storm.subject_kind, storm.subject_id, storm.tenant_id) == ("tenant", "partner-a", "partner-a")
    assert sorted(storm.station_ids) == stations


def test_reconnects_of_different_tenants_or_long_after_are_no_storm() -> None:
    target = engine({"storm_min_stations": 3})
    events = []
    for i, tenant in enumerate(["partner-a", "partner-b", "partner-c"]):
        events += [ev.connected(f"S-{i}", T0, tenant_id=tenant), ev.disconnected(f"S-{i}", T0 + 10, tenant_id=tenant)]
        events.append(ev.connected(f"S-{i}", T0 + 12, tenant_id=tenant))
    # One station of partner-a reconnects after ten minutes: not a reconnect storm either.
    events += [ev.connected("L-1", T0, tenant_id="partner-a"), ev.disconnected("L-1", T0 + 1, tenant_id="partner-a")]
    events.append(ev.connected("L-1", T0 + 600, tenant_id="partner-a"))
    assert run(target, events) == []


def test_a_burst_of_resets_by_one_principal() -> None:
    target = engine({"command_burst": 5, "command_burst_stations": 100})
    found = run(target, [ev.command(f"S-{i % 2}", T0 + i, "RESET", principal="ops-script") for i in range(5)])
    assert rules(found) == ["operator-command-burst"]
    assert found[0].subject_kind == "principal" and found[0].subject_id == "ops-script"


def test_commands_to_many_stations_are_a_burst() -> None:
    target = engine({"command_burst": 100, "command_burst_stations": 3})
    found = run(target, [ev.command(f"S-{i}", T0 + i, "CHANGE_AVAILABILITY") for i in range(3)])
    assert rules(found) == ["operator-command-burst"]


def test_reads_are_never_a_burst() -> None:
    target = engine({"command_burst": 3, "command_burst_stations": 3})
    assert run(target, [ev.command(f"S-{i}", T0 + i, "GET_CONFIGURATION") for i in range(10)]) == []


def test_a_partner_issuing_a_firmware_update_is_unusual() -> None:
    target = engine()
    found = run(
        target,
        [
            ev.command(
                "S-1", T0, "UPDATE_FIRMWARE", principal="partner-a-user", roles=("partner",), tenant_id="partner-a"
            )
        ],
    )
    assert "unusual-command-principal" in rules(found)
    unusual = next(d for d in found if d.rule == "unusual-command-principal")
    assert unusual.tenant_id == "partner-a"


def test_a_new_operator_issuing_resets_after_learning() -> None:
    target = engine({"principal_learning_commands": 3})
    learned = [ev.command("S-1", T0 + i, "RESET", principal="alice") for i in range(4)]
    assert run(target, learned) == []
    found = run(target, [ev.command("S-1", T0 + 10, "RESET", principal="mallory")])
    assert rules(found) == ["unusual-command-principal"]
    assert "never issued RESET" in found[0].explanation
