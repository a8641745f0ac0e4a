"""`chargewatch-sim`: run a simulated fleet of charge points against an OCPP endpoint."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from chargewatch.simulator.fleet import OCPP_VERSIONS, Fleet, FleetResult, SimulatorOptions, generated_fleet, load_fleet
from chargewatch.simulator.scenarios import SCENARIOS


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="chargewatch-sim", description=__doc__)
    parser.add_argument("--url", default="ws://127.0.0.1:9000/ocpp", help="OCPP endpoint; the station id is appended")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--fleet", type=Path, help='JSON file: {"stations": [{"station_id", "password", ...}]}')
    source.add_argument("--stations", type=int, help="make up this many stations (with --password)")
    parser.add_argument("--password", default="", help="password of made-up stations")
    parser.add_argument("--prefix", default="SIM", help="station id prefix of made-up stations")
    parser.add_argument(
        "--ocpp-version", default="1.6", choices=[*OCPP_VERSIONS, "mixed"], help="OCPP version of made-up stations"
    )
    parser.add_argument("--connectors", type=int, default=2, help="connectors per made-up station")
    parser.add_argument("--duration", type=float, default=0.0, help="seconds to run; 0 runs until SIGINT/SIGTERM")
    parser.add_argument(
        "--status-change-every", type=float, default=30.0, help="mean seconds between status changes (0: none)"
    )
    parser.add_argument(
        "--heartbeat-cap", type=float, default=0.0, help="cap on the heartbeat interval the CSMS gives (0: none)"
    )
    parser.add_argument("--scenario", default="normal", choices=sorted(SCENARIOS), help="station behaviour")
    parser.add_argument("--seed", type=int, default=None, help="random seed, for repeatable runs")
    parser.add_argument("--log-level", default="WARNING", help="log level on stderr")
    args = parser.parse_args(argv)
    if args.stations is not None and (args.stations < 1 or not args.password):
        parser.error("--stations needs a positive count and --password")
    return args


async def run(args: argparse.Namespace) -> FleetResult:
    if args.fleet is not None:
        stations = load_fleet(args.fleet)
    else:
        stations = generated_fleet(
            args.stations,
            password=args.password,
            prefix=args.prefix,
            ocpp_version=args.ocpp_version,
            connectors=args.connectors,
        )
    options = SimulatorOptions(
        url=args.url, status_change_every=args.status_change_every, heartbeat_cap=args.heartbeat_cap
    )
    fleet = Fleet(stations, options, scenario=args.scenario, seed=args.seed)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, fleet.stop)
    print(f"simulating {len(stations)} stations against {args.url} (scenario {args.scenario})", flush=True)  # noqa: T201
    return await fleet.run(args.duration)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The ocpp package logs every message at INFO.
    logging.getLogger("ocpp").setLevel(max(logging.WARNING, logging.getLogger().level))
    result = asyncio.run(run(args))
    print(result.summary(), flush=True)  # noqa: T201
    sys.exit(1 if result.errors else 0)


if __name__ == "__main__":
    main()
