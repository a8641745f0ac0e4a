"""`chargewatch-sim`: run a simulated fleet of charge points against an OCPP endpoint.

Driver tokens: `--tokens FILE` (one hex RFID uid per line, optionally with the tenant the card is
registered to: drivers then present the cards of their station's tenant), else `--token-count`/
`--token-seed` generate the same uids everywhere (`--write-tokens FILE` saves the pool in use).
Fault and offline schedules: `STATION:CONNECTOR@START+DURATION[=ErrorCode]` and `STATION@START+DURATION`,
comma separated; without one, the faults/offline scenarios derive a schedule from `--seed` and print it.
Made-up stations (`--stations N`) use `--password` when the CSMS already knows them; without it,
they are first registered on the local development platform (`make run`) through its partner API
as its development operator, under ids tagged for this run, and so are the drivers' cards (dealt
to the tenants as the stations are). Drivers charge by default: each connector idles 60 s on
average, then a session with an RFID card, meter values every 10 s (`--session-every 0`: none).
It prints what each action sent and had answered with the answers' p50 and p99 latency, then the run's;
sessions still running when the run ends are stopped then, together (that burst is the stops' tail).
Exit status: 1 when anything unexpected went wrong (refusals a scenario expects are not errors).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from chargewatch.simulator.fleet import (
    DEFAULT_CONNECT_WINDOW,
    OCPP_VERSIONS,
    Fleet,
    FleetResult,
    SimulatorOptions,
    generated_fleet,
    load_fleet,
)
from chargewatch.simulator.provision import (
    DEFAULT_API,
    DEFAULT_IDP,
    DEV_OPERATOR,
    provision,
    provision_tokens,
    run_tag,
)
from chargewatch.simulator.scenarios import SCENARIOS, ScenarioOptions
from chargewatch.simulator.schedule import parse_fault_schedule, parse_offline_schedule
from chargewatch.simulator.tokens import (
    DEFAULT_TOKEN_COUNT,
    DEFAULT_TOKEN_SEED,
    generate_tokens,
    load_token_pool,
    write_tokens,
)


def _connectors(text: str) -> int | None:
    if text == "mixed":
        return None
    value = int(text)
    if not 1 <= value <= 16:
        raise argparse.ArgumentTypeError("connectors must be between 1 and 16, or 'mixed'")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("a share is between 0 and 1")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="chargewatch-sim", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="ws://127.0.0.1:9000/ocpp", help="OCPP endpoint; the station id is appended")
    parser.add_argument("--ca-file", help="wss://: CA bundle that signed the CSMS certificate")
    parser.add_argument("--cert-file", help="wss://: client certificate (security profile 3)")
    parser.add_argument("--key-file", help="wss://: key of the client certificate")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--fleet", type=Path, help='JSON file: {"stations": [{"station_id", "password", ...}]}')
    source.add_argument("--stations", type=int, help="make up this many stations")
    parser.add_argument(
        "--password", default="", help="password of made-up stations; without it they are registered on --api"
    )
    parser.add_argument("--api", default=DEFAULT_API, help="partner API of the local platform that registers them")
    parser.add_argument("--idp", default=DEFAULT_IDP, help="realm URL of the local platform's identity provider")
    parser.add_argument("--operator", default=DEV_OPERATOR, help="operator that registers them (development user)")
    parser.add_argument("--prefix", default="SIM", help="station id prefix of made-up stations")
    parser.add_argument(
        "--ocpp-version", default="1.6", choices=[*OCPP_VERSIONS, "mixed"], help="OCPP version of made-up stations"
    )
    parser.add_argument("--share-201", type=_share, help="with --ocpp-version mixed: share of 2.0.1 stations")
    parser.add_argument(
        "--connectors", type=_connectors, default=2, help="connectors per made-up station, or 'mixed' for 1-4"
    )
    parser.add_argument("--duration", type=float, default=0.0, help="seconds to run; 0 runs until SIGINT/SIGTERM")
    parser.add_argument(
        "--connect-spread",
        type=float,
        default=None,
        help="seconds over which the first connections are spread (default: 20 stations a second, at most 60)",
    )
    parser.add_argument(
        "--connect-window",
        type=int,
        default=DEFAULT_CONNECT_WINDOW,
        help="most stations trying their first connection at once (0: no bound); reconnections are never held",
    )
    parser.add_argument(
        "--status-change-every", type=float, default=30.0, help="mean seconds between status changes (0: none)"
    )
    parser.add_argument(
        "--session-every",
        type=float,
        default=60.0,
        help="mean idle seconds before a connector charges (0: no sessions)",
    )
    parser.add_argument("--session-duration", type=float, default=120.0, help="mean seconds a session lasts")
    parser.add_argument("--meter-interval", type=float, default=10.0, help="seconds between meter values")
    parser.add_argument(
        "--heartbeat-cap", type=float, default=0.0, help="cap on the heartbeat interval the CSMS gives (0: none)"
    )
    parser.add_argument("--tokens", type=Path, help="file of RFID uids the drivers present (one hex uid a line)")
    parser.add_argument(
        "--token-count",
        type=int,
        default=None,
        help=f"generated tokens (no --tokens; default: one per station, at least {DEFAULT_TOKEN_COUNT})",
    )
    parser.add_argument("--token-seed", type=int, default=DEFAULT_TOKEN_SEED, help="seed of the generated tokens")
    parser.add_argument("--write-tokens", type=Path, help="write the token pool in use to this file and go on")
    parser.add_argument("--scenario", default="normal", choices=sorted(SCENARIOS), help="station behaviour")
    parser.add_argument("--fault-schedule", default="", help="faults: STATION:CONNECTOR@START+DURATION[=Code],...")
    parser.add_argument("--offline-schedule", default="", help="offline: STATION@START+DURATION,...")
    parser.add_argument("--share", type=_share, default=0.2, help="share of stations a scenario affects")
    parser.add_argument("--attempts", type=int, default=20, help="brute-force: wrong passwords per station id")
    parser.add_argument("--flood-rate", type=float, default=200.0, help="flood: messages per second per station")
    parser.add_argument("--flood-stations", type=int, default=3, help="flood: stations that flood")
    parser.add_argument("--storm-at", type=float, help="storm: seconds after the start (default: a third of the run)")
    parser.add_argument("--clone-token", default="", help="token-clone: the RFID to clone (default: first token)")
    parser.add_argument("--report", type=Path, help="write sessions, energy, faults and offline periods here (JSON)")
    parser.add_argument("--seed", type=int, default=None, help="random seed, for repeatable runs")
    parser.add_argument("--log-level", default="WARNING", help="log level on stderr")
    args = parser.parse_args(argv)
    if args.connect_window < 0:
        parser.error("--connect-window cannot be negative")
    if args.stations is not None and args.stations < 1:
        parser.error("--stations needs a positive count")
    if args.url.startswith("wss://") and bool(args.cert_file) != bool(args.key_file):
        parser.error("--cert-file and --key-file go together")
    try:
        parse_fault_schedule(args.fault_schedule)
        parse_offline_schedule(args.offline_schedule)
    except ValueError as error:
        parser.error(str(error))
    return args


def _tokens(args: argparse.Namespace, stations: int) -> tuple[list[str], dict[str, str]]:
    """The drivers' cards, and the tenant of each whose tenant is known (from the token file)."""
    if args.tokens:
        return load_token_pool(args.tokens)
    count = args.token_count if args.token_count is not None else max(DEFAULT_TOKEN_COUNT, stations)
    return generate_tokens(count, args.token_seed), {}


def build_fleet(args: argparse.Namespace) -> Fleet:
    if args.fleet is not None:
        stations = load_fleet(args.fleet)
    else:
        stations = generated_fleet(
            args.stations,
            password=args.password,
            prefix=args.prefix if args.password else f"{args.prefix}-{run_tag()}",
            ocpp_version=args.ocpp_version,
            connectors=args.connectors,
            share_201=args.share_201,
        )
    tokens, token_tenants = _tokens(args, len(stations))
    if args.fleet is None and not args.password:
        # The development users' password is their name (see the README); an override comes from the environment.
        operator_password = os.environ.get("CHARGEWATCH_SIM_OPERATOR_PASSWORD", args.operator)
        login = {"api": args.api, "idp": args.idp, "user": args.operator, "password": operator_password}
        stations = provision(stations, **login)
        # Cards dealt to the tenants as the stations are, so drivers charge at their own tenant's stations.
        token_tenants = provision_tokens(tokens, **login)
        print(  # noqa: T201
            f"registered {len(stations)} stations and {len(tokens)} driver cards on {args.api}", flush=True
        )
    if args.write_tokens:
        write_tokens(args.write_tokens, tokens, token_tenants)
    options = SimulatorOptions(
        url=args.url,
        connect_spread=args.connect_spread,
        connect_window=args.connect_window,
        status_change_every=args.status_change_every,
        heartbeat_cap=args.heartbeat_cap,
        session_every=args.session_every,
        session_duration=args.session_duration,
        meter_interval=args.meter_interval,
        ca_file=args.ca_file,
        cert_file=args.cert_file,
        key_file=args.key_file,
    )
    scenario_options = ScenarioOptions(
        fault_schedule=args.fault_schedule,
        offline_schedule=args.offline_schedule,
        share=args.share,
        attempts=args.attempts,
        flood_rate=args.flood_rate,
        flood_stations=args.flood_stations,
        storm_at=args.storm_at,
        clone_token=args.clone_token,
    )
    return Fleet(
        stations, options, scenario=args.scenario, seed=args.seed, tokens=tokens, token_tenants=token_tenants,
        scenario_options=scenario_options,
    )  # fmt: skip


async def run(args: argparse.Namespace) -> FleetResult:
    fleet = build_fleet(args)
    fleet.prepare(args.duration)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, fleet.stop)
    print(  # noqa: T201
        f"simulating {len(fleet.simulated)} stations against {args.url} (scenario {args.scenario}, "
        f"{len(fleet.tokens)} tokens)",
        flush=True,
    )
    for key, value in fleet.report.scenario.items():
        print(f"scenario {key}: {value}", flush=True)  # noqa: T201
    return await fleet.run(args.duration)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The ocpp package logs every message at INFO.
    logging.getLogger("ocpp").setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        result = asyncio.run(run(args))
    except (ValueError, OSError) as error:
        print(f"chargewatch-sim: {error}", file=sys.stderr)  # noqa: T201
        sys.exit(2)
    print(result.summary(), flush=True)  # noqa: T201
    if args.report:
        result.report.write(args.report)
        print(f"report written to {args.report}", flush=True)  # noqa: T201
    sys.exit(1 if result.errors else 0)


if __name__ == "__main__":
    main()
