"""The gateway's message path in one process, no sockets: for comparing two versions of the code.

`python -m bench.gateway_inprocess` drives `Dispatcher.handle` with the benchmark's MeterValues
(5 sampled values) from 200 sessions at once, through a real Redis on a free port, with the
gateway's settings and its deployed tracing (one message in ten sampled, MeterValues capped by
the per-action ratio), and prints the CPU time per message. On these shared machines that figure
moves by 10 to 20% from minute to minute, far more than most changes to the code do.

With `--callgrind` it runs itself under valgrind's callgrind, counting only the instructions
executed while the messages are handled (instrumentation is switched on and off around them with
`callgrind_control`), and prints instructions per message: the same from one run to the next
within about 0.2%, whatever the machine is doing, and 30 to 40 s for 4,000 messages. Compare two
versions of the code by running it on each (e.g. a `git worktree` of the older one, its source
directories first on PYTHONPATH). Instructions are not time (cache misses, syscalls and the
socket side are not in it), so the full benchmark (`make bench`) still has the last word.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import uvloop
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from bench.gateway_load import meter_values_payload
from chargewatch.devstack.processes import start_redis
from chargewatch.ocpp_gateway.authorization import Authorizer
from chargewatch.ocpp_gateway.authz_stream import AuthorizeChannel
from chargewatch.ocpp_gateway.config import GatewaySettings
from chargewatch.ocpp_gateway.dispatch import Dispatcher
from chargewatch.ocpp_gateway.events import GatewayEvents
from chargewatch.ocpp_gateway.protocol import OcppVersion
from chargewatch.ocpp_gateway.sessions import StationIdentity, StationSession
from chargewatch.ocpp_gateway.transactions import TransactionStore
from chargewatch.rpc import stream_channel
from chargewatch.service.memory import tune_garbage_collector
from chargewatch.service.redis_client import redis_client
from chargewatch.streams import EventPublisher
from chargewatch.v1 import authz_pb2_grpc, common_pb2

SESSIONS: Final = 200
WARM_UP_MESSAGES: Final = 3
# As helm/ocpp-gateway/values.yaml deploys the gateway (OTEL_TRACES_SAMPLER_ARG).
TRACE_RATIO: Final = 0.1
# Set in the child valgrind runs: switch instrumentation on around the measured messages.
_UNDER_CALLGRIND: Final = "CW_BENCH_UNDER_CALLGRIND"


def _callgrind_control(switch: str) -> None:
    subprocess.run(["callgrind_control", "-i", switch, str(os.getpid())], check=True, capture_output=True)


async def _handle_messages(redis_url: str, per_session: int) -> float:
    """Handle `per_session` MeterValues from each session; the process CPU seconds they took."""
    settings = GatewaySettings(
        redis_url=redis_url,
        rate_limit_messages_per_second=100_000,
        rate_limit_burst=100_000,
        client_secret=secrets.token_urlsafe(18),  # never sent: nothing here calls authz
    )
    stream_redis = redis_client(redis_url, max_connections=4, timeout_seconds=5, socket_timeout=None)
    redis = redis_client(redis_url, max_connections=8, timeout_seconds=5)
    publisher = EventPublisher(stream_redis, partitions=settings.stream_partitions, max_len=settings.stream_max_len)
    events = GatewayEvents(publisher, "bench-in-process")
    # MeterValues never ask authz: its channel is made (lazily, never connected) only to build the dispatcher.
    authz_channel = stream_channel(settings.authz_target)
    dispatcher = Dispatcher(
        settings,
        events,
        authorizer=Authorizer.from_settings(
            AuthorizeChannel(authz_pb2_grpc.AuthzStub(authz_channel)), redis, events, settings
        ),
        transactions=TransactionStore(redis, retention_hours=settings.transaction_retention_hours),
    )
    dispatcher.warm()
    tune_garbage_collector(settings.gc_young_threshold)
    profile = common_pb2.SECURITY_PROFILE_1_BASIC
    sessions = [
        StationSession(
            StationIdentity(f"BENCH-{index:05d}", "bench-tenant", "bench-site", profile),
            OcppVersion.V16,
            None,  # type: ignore[arg-type]  # nothing is sent to the station
            remote_address="127.0.0.1",
            connected_at=datetime.now(UTC),
            gateway_instance="bench-in-process",
        )
        for index in range(SESSIONS)
    ]
    payload = meter_values_payload()

    async def station(session: StationSession, prefix: str, count: int) -> None:
        for number in range(count):
            answer = await dispatcher.handle(
                session, b'[2,"%s-%d","MeterValues",%s]' % (prefix.encode(), number, payload)
            )
            if answer is None or not answer.startswith(b"[3,"):
                raise RuntimeError(f"not a CALLRESULT: {answer!r}")

    try:
        await asyncio.gather(*(station(s, f"warm{i}", WARM_UP_MESSAGES) for i, s in enumerate(sessions)))
        counting = os.environ.get(_UNDER_CALLGRIND) == "1"
        if counting:
            _callgrind_control("on")
        started = time.process_time()
        await asyncio.gather(*(station(s, f"m{i}", per_session) for i, s in enumerate(sessions)))
        spent = time.process_time() - started
        if counting:
            _callgrind_control("off")
        return spent
    finally:
        await publisher.aclose()
        await stream_redis.aclose()
        await redis.aclose()
        await authz_channel.close(None)


def _measure(per_session: int) -> float:
    base = Path(tempfile.mkdtemp(prefix="bench-gateway-inprocess-"))
    redis_process = start_redis(log_dir=base)
    try:
        return uvloop.run(_handle_messages(f"redis://127.0.0.1:{redis_process.port}/0", per_session))
    finally:
        redis_process.stop()
        shutil.rmtree(base, ignore_errors=True)


def _instructions(per_session: int) -> int:
    """Run this module under callgrind; the instructions counted while the messages were handled."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("--callgrind needs valgrind (and callgrind_control) on PATH")
    with tempfile.TemporaryDirectory(prefix="bench-gateway-callgrind-") as directory:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={directory}/callgrind.out",
                sys.executable,
                "-m",
                "bench.gateway_inprocess",
                "--messages",
                str(per_session),
            ],
            env={**os.environ, _UNDER_CALLGRIND: "1"},
            capture_output=True,
            text=True,
            check=False,
        )
    collected = re.search(r"Collected : ([\d,]+)", done.stderr)
    if done.returncode != 0 or collected is None:
        raise SystemExit(f"the run under callgrind failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    return int(collected.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100, help="MeterValues per session (200 sessions)")
    parser.add_argument("--callgrind", action="store_true", help="count instructions per message under callgrind")
    options = parser.parse_args()
    if options.messages < 1:
        parser.error("--messages must be at least 1")
    trace.set_tracer_provider(TracerProvider(sampler=ParentBased(TraceIdRatioBased(TRACE_RATIO))))
    total = SESSIONS * options.messages
    if options.callgrind:
        print(f"{_instructions(options.messages) / total:,.0f} instructions per MeterValues ({total:,} messages)")
        return
    spent = _measure(options.messages)
    if os.environ.get(_UNDER_CALLGRIND) != "1":
        print(f"{spent / total * 1e6:.1f} us of CPU per MeterValues ({total:,} messages)")


if __name__ == "__main__":
    main()
