"""Charge point simulator (OCPP 1.6J and 2.0.1).

Run it with `chargewatch-sim`, or in-process: `await Fleet(stations, SimulatorOptions(url=...)).run(10)`.
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
from chargewatch.simulator.stats import Stats

__all__ = [
    "Fleet",
    "FleetResult",
    "SimulatedStation",
    "SimulatorOptions",
    "StationConfig",
    "Stats",
    "generated_fleet",
    "load_fleet",
]
