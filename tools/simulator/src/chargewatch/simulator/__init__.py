"""Charge point simulator (OCPP 1.6J and 2.0.1).

Run it with `chargewatch-sim`, or in-process: `await Fleet(stations, SimulatorOptions(url=...)).run(10)`;
`FleetResult.report` (and `--report PATH`) holds every session's energy, the faults and offline periods.
"""

from chargewatch.simulator.fleet import (
    Fleet,
    FleetResult,
    SimulatedStation,
    SimulatorOptions,
    StationConfig,
    generated_fleet,
    load_fleet,
)
from chargewatch.simulator.report import Report
from chargewatch.simulator.scenarios import SCENARIOS, ScenarioOptions
from chargewatch.simulator.stats import Stats
from chargewatch.simulator.tokens import generate_tokens, load_tokens

__all__ = [
    "SCENARIOS",
    "Fleet",
    "FleetResult",
    "Report",
    "ScenarioOptions",
    "SimulatedStation",
    "SimulatorOptions",
    "StationConfig",
    "Stats",
    "generate_tokens",
    "generated_fleet",
    "load_fleet",
    "load_tokens",
]
