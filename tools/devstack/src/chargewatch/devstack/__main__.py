"""`chargewatch-dev run`: the whole platform locally, on the embedded defaults.

Prints the addresses and demo credentials, then runs until Ctrl-C or SIGTERM and stops every
process it started.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from chargewatch.devstack.platform import Platform, PlatformConfig
from chargewatch.devstack.trace_sink import TraceSink

DEMO_USERS = (
    ("operator", "operator", "whole fleet, registers stations"),
    ("partner-a", "partner", "tenant partner-a only"),
    ("partner-b", "partner", "tenant partner-b only"),
    ("sre", "sre", "whole fleet, read"),
    ("analyst", "security-analyst", "whole fleet, alerts"),
)


def _print(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def banner(platform: Platform, traces: Path | None) -> None:
    info = platform.summary()
    _print("\nChargeWatch is running (development mode).\n")
    _print(f"  Partner API        {info['api']}   (docs: {info['docs']})")
    _print(f"  OCPP endpoint      {info['ocpp']}")
    _print(f"  Identity provider  {info['identity_provider']}")
    for service, address in info["grpc"].items():
        _print(f"  gRPC {service:<17} {address}")
    _print(f"  Redis / MongoDB    {info['redis']}  {info['mongo']}")
    _print(f"  Logs               {info['logs']}")
    if traces is not None:
        _print(f"  Traces (JSON)      {traces}")
    _print(f"  Simulated fleet    {len(platform.fleet)} stations, credentials in {info['fleet']}")
    _print("\nDemo users (development only; password = user name):")
    for user, role, scope in DEMO_USERS:
        _print(f"  {user:<10} role {role:<17} {scope}")
    _print("\nTry:")
    extract = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    _print(
        "  TOKEN=$(curl -s -d grant_type=password -d client_id=chargewatch-cli -d username=operator "
        f"-d password=operator {info['token_url']} | {extract})"
    )
    _print(f'  curl -s -H "Authorization: Bearer $TOKEN" {info["api"]}/v1/stations')
    _print("\nCtrl-C stops everything.\n")


def run(options: argparse.Namespace) -> int:
    run_dir = Path(options.run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    sink: TraceSink | None = None
    traces_file: Path | None = None
    otlp = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not otlp and not options.no_traces:
        traces_file = run_dir / "traces.jsonl"
        traces_file.unlink(missing_ok=True)
        sink = TraceSink(file=traces_file)
        sink.start()
        otlp = sink.endpoint

    platform = Platform(
        PlatformConfig(
            run_dir=run_dir,
            stations=options.stations,
            mongo_url=os.environ.get("MONGO_URL") or None,
            keycloak_url=os.environ.get("KEYCLOAK_URL") or None,
            otlp_endpoint=otlp,
            simulate=not options.no_sim,
            status_change_every=options.status_change_every,
            log_level=options.log_level,
        )
    )
    _print("Starting Redis, the MongoDB-wire store, the identity provider and six services...")
    try:
        platform.start()
    except Exception as exc:
        _print(f"start-up failed: {exc}\nlogs: {platform.log_dir}")
        if sink is not None:
            sink.stop()
        return 1
    banner(platform, traces_file)
    try:
        while not stop.wait(1.0):
            dead = [p.name for p in platform.processes if not p.alive()]
            if dead:
                _print(f"stopped unexpectedly: {', '.join(dead)} (see {platform.log_dir})")
                break
    finally:
        _print("Stopping...")
        platform.stop()
        if sink is not None:
            sink.stop()
        _print("Stopped.")
    return 0


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(prog="chargewatch-dev", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the whole platform with a simulated fleet")
    run_parser.add_argument("--stations", type=int, default=20, help="simulated charge points (default 20)")
    run_parser.add_argument(
        "--status-change-every", type=float, default=30.0, help="mean seconds between status changes"
    )
    run_parser.add_argument("--no-sim", action="store_true", help="provision the fleet but do not simulate it")
    run_parser.add_argument("--no-traces", action="store_true", help="do not collect traces to .run/traces.jsonl")
    run_parser.add_argument("--run-dir", default=".run", help="state, logs and fleet credentials (default .run)")
    run_parser.add_argument("--log-level", default="INFO")
    options = parser.parse_args()
    sys.exit(run(options))


if __name__ == "__main__":
    main()
