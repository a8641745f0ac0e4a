"""OCPP gateway: one process, MeterValues throughput and latency, memory per station, a reconnect storm.

Three servers, measured in the same run, one after the other, each pinned to core 0 while the
load generator (`bench.gateway_load`, raw RFC 6455 sockets), Redis and the authz stand-in share
core 1; all three run on uvloop:
- ChargeWatch's gateway (`python -m chargewatch.ocpp_gateway`): handshake authentication through
  authz over gRPC (a station authz accepted moments ago is recognised without asking again, as
  the gateway is deployed: `CW_GATEWAY_AUTH_CACHE_SECONDS`), Redis ownership leases, compiled
  schema validation of every request and answer, rate limit and replay checks, a trace per CALL,
  meter readings converted and flagged, and every fact published on its Redis stream before the
  answer is sent;
- a minimal CSMS on the `ocpp` package (`bench.gateway_baselines ocpp`): its ChargePoint class,
  jsonschema validation, no publishing, no authentication;
- a bare `websockets` server (`bench.gateway_baselines bare`): parse and answer, nothing else —
  the ceiling of one Python process.

authz is a stand-in answering AuthenticateStation from memory over a real gRPC server
(`bench.gateway_authz`; real authz verifies Argon2 hashes, which is authz's cost, not the
gateway's). The gateway runs with its Helm chart's trace sampling and its own default ratio per
action (one message in ten traced end to end with a recorded span, MeterValues one in a hundred;
the others carry their unsampled trace context); no exporter is configured. The gateway's
per-station rate limit is raised for the benchmark (each station keeps one call in flight, far
above the 10/s a real station is allowed); the bucket is still checked.

Per run, each server in turn (gateway, bare, `ocpp` CSMS: the two the tightest ratio compares
follow each other): a fresh process; 10,000 stations connect and boot at once (at most
300 handshakes in flight, as after a gateway restart: their first connection); once that has
settled, every socket drops at once (a network or load balancer failure) and all 10,000
reconnect and boot again, at most 300 handshakes in flight — the time until the last one is
booted is the reconnect storm's. With all of them connected, the server's resident memory less
its idle memory, per station. Then, the three servers still running (idle but for the one under
load), load windows taking turns (gateway, bare, `ocpp` CSMS; three times): 200 stations send
MeterValues (5 sampled values each), paced at 5 calls/s each (1,000/s: the answer latency
without queueing), then each with one call always in flight (the throughput, and the server's
CPU time per call: its utime + stime over the window, divided by the calls answered). This
machine's speed drifts by as much as 2x within minutes (other tenants): the windows of the
three servers are a few seconds apart, and each ratio is the median of the ratios of figures
measured together (the same window round, or the same run's storm), not of medians taken
minutes apart. Throughput and latency figures are medians of 9 windows (3 runs x 3), storm and
memory figures of 3 runs. For the gateway, the number of entries on the meter
stream is checked against the answers counted. The load generator's own CPU is recorded too:
near 100% of its core, it rather than the server would set the pace.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import redis

from bench.gateway_load import PASSWORD_VARIABLE
from bench.harness import Measurement, record, write_section
from chargewatch.devstack.processes import ManagedProcess, free_port, start_process, start_redis, wait_for_port
from chargewatch.streams import StreamFamily, stream_name

TITLE: Final = "OCPP gateway (services/ocpp-gateway)"
RUNS: Final = int(os.environ.get("CW_BENCH_GATEWAY_RUNS", "3"))
# Load windows per server and run, the servers' windows taking turns.
WINDOWS: Final = int(os.environ.get("CW_BENCH_GATEWAY_WINDOWS", "3"))
STORM_STATIONS: Final = int(os.environ.get("CW_BENCH_GATEWAY_STORM_STATIONS", "10000"))
STORM_CONCURRENCY: Final = 300
LOAD_STATIONS: Final = 200
PACED_RATE: Final = 5.0
PACED_SECONDS: Final = 2.0
SATURATED_SECONDS: Final = 3.0
# The gateway and the bare server one after the other: their ratios are the closest to their targets.
KINDS: Final = ("gateway", "bare", "ocpp")
BASELINE_NAMES: Final = {"ocpp": "`ocpp`-package CSMS", "bare": "bare WebSocket server"}
ROOT: Final = Path(__file__).resolve().parent.parent


def _cores() -> tuple[int | None, int | None]:
    """(server core, load core), or no pinning on a single-core machine."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    return available[0], available[1]


SERVER_CPU, LOAD_CPU = _cores()


def _pinned(cpu: int | None, argv: Sequence[str]) -> list[str]:
    # taskset execs the command with the affinity set, so every thread it starts inherits it.
    return ["taskset", "-c", str(cpu), *argv] if cpu is not None else list(argv)


def _pin_threads(pid: int, cpu: int | None) -> None:
    """Pin every thread of an already running process (Redis starts its own before we see it)."""
    if cpu is None:
        return
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(task.name), {cpu})


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_idle(pid: int, *, busy_share: float = 0.05, interval: float = 0.5, limit: float = 60.0) -> None:
    """Wait until the process uses less than `busy_share` of a core (e.g. done closing 10,000 sockets)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = _cpu_seconds(pid)
        time.sleep(interval)
        if (_cpu_seconds(pid) - before) / interval < busy_share:
            return


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _wait_ready(url: str, process: ManagedProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.log_text()[-4000:]}")
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(url, timeout=2) as response,  # noqa: S310 - a loopback URL we built
        ):
            if response.status == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{process.name} not ready at {url}:\n{process.log_text()[-4000:]}")


@dataclass
class Infrastructure:
    base: Path
    redis: ManagedProcess
    redis_url: str
    authz: ManagedProcess
    authz_port: int
    password: str


@contextlib.contextmanager
def _infrastructure() -> Iterator[Infrastructure]:
    base = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    password = secrets.token_urlsafe(18)
    redis_process = start_redis(log_dir=base)
    _pin_threads(redis_process.pid, LOAD_CPU)
    authz_port = free_port()
    authz: ManagedProcess | None = None
    try:
        authz = start_process(
            "bench-authz",
            _pinned(
                LOAD_CPU,
                [
                    sys.executable,
                    "-m",
                    "bench.gateway_authz",
                    "--port",
                    str(authz_port),
                    "--stations",
                    str(STORM_STATIONS),
                ],
            ),
            env={PASSWORD_VARIABLE: password, "OTEL_TRACES_EXPORTER": "none"},
            log_dir=base,
            port=authz_port,
            cwd=ROOT,
        )
        yield Infrastructure(
            base, redis_process, f"redis://127.0.0.1:{redis_process.port}/0", authz, authz_port, password
        )
    finally:
        if authz is not None:
            authz.stop()
        redis_process.stop()


def _start_server(kind: str, infra: Infrastructure) -> tuple[ManagedProcess, int]:
    """One server under test, pinned to the server core, ready; returns it and its OCPP port."""
    port = free_port()
    if kind == "gateway":
        grpc_port, ops_port = free_port(), free_port()
        env = {
            # Development mode only so that the gRPC caller check may be off (no identity provider here;
            # the benchmark sends no gRPC calls); the gateway's OCPP path does not depend on the mode.
            "CHARGEWATCH_MODE": "development",
            "REDIS_URL": infra.redis_url,
            "CW_GATEWAY_OCPP_HOST": "127.0.0.1",
            "CW_GATEWAY_OCPP_PORT": str(port),
            "CW_GATEWAY_GRPC_HOST": "127.0.0.1",
            "CW_GATEWAY_GRPC_PORT": str(grpc_port),
            "CW_GATEWAY_OPS_HOST": "127.0.0.1",
            "CW_GATEWAY_OPS_PORT": str(ops_port),
            "CW_GATEWAY_AUTHZ_TARGET": f"127.0.0.1:{infra.authz_port}",
            "CW_GATEWAY_REQUIRE_CALLER_TOKEN": "false",  # no identity provider in this benchmark
            "CW_GATEWAY_GATEWAY_INSTANCE": "bench-gateway",
            "CW_GATEWAY_RATE_LIMIT_MESSAGES_PER_SECOND": "100000",
            "CW_GATEWAY_RATE_LIMIT_BURST": "100000",
            "OTEL_TRACES_EXPORTER": "none",
            # As helm/ocpp-gateway/values.yaml deploys it.
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.1",
        }
        process = start_process(
            "ocpp-gateway",
            _pinned(SERVER_CPU, [sys.executable, "-m", "chargewatch.ocpp_gateway"]),
            env=env,
            log_dir=infra.base,
            port=ops_port,
            cwd=ROOT,
        )
        try:
            _wait_ready(f"http://127.0.0.1:{ops_port}/readyz", process)
            wait_for_port(port, process=process.popen)
        except BaseException:
            process.stop()
            raise
        return process, port
    process = start_process(
        f"baseline-{kind}",
        _pinned(SERVER_CPU, [sys.executable, "-m", "bench.gateway_baselines", kind, "--port", str(port)]),
        log_dir=infra.base,
        port=port,
        cwd=ROOT,
    )
    return process, port


def _load_argv(mode: str, port: int, extra: Sequence[str]) -> list[str]:
    argv = [sys.executable, "-m", "bench.gateway_load", mode, "--url", f"ws://127.0.0.1:{port}/ocpp", *extra]
    if LOAD_CPU is not None:
        argv += ["--cpu", str(LOAD_CPU)]
    return argv


def _load_env(infra: Infrastructure) -> dict[str, str]:
    return {**os.environ, PASSWORD_VARIABLE: infra.password}


@dataclass
class Storm:
    first_seconds: float
    again_seconds: float
    bytes_per_station: float
    # Share of its core the load generator used during the reconnect wave (near 1: it was the limit).
    client_cpu: float


def _storm(port: int, server: ManagedProcess, infra: Infrastructure) -> Storm:
    """Every station connects and boots; all drop at once and reconnect; memory with all connected."""
    _wait_idle(server.pid)  # started and settled before its idle memory is read
    idle = _rss_bytes(server.pid)
    load = subprocess.Popen(
        _load_argv(
            "storm",
            port,
            ["--stations", str(STORM_STATIONS), "--concurrency", str(STORM_CONCURRENCY), "--hold"],
        ),
        env=_load_env(infra),
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if load.stdout is None or load.stdin is None:
        raise RuntimeError("the load generator's pipes are missing")
    stdin, stdout = load.stdin, load.stdout

    def answer() -> dict[str, Any]:
        line = stdout.readline()
        if not line:
            load.wait(30)
            raise RuntimeError(f"storm failed: {load.stderr.read().decode() if load.stderr else ''}")
        report: dict[str, Any] = json.loads(line)
        if report.get("stations", STORM_STATIONS) != STORM_STATIONS:
            raise RuntimeError(f"only {report['stations']} of {STORM_STATIONS} stations connected")
        return report

    def command(text: str) -> dict[str, Any]:
        stdin.write(text.encode() + b"\n")
        stdin.flush()
        return answer()

    first = answer()
    # Settled (the first logins' events published, leases written) before they all drop.
    _wait_idle(server.pid)
    command("drop")
    # The 10,000 disconnections (leases released, events published) are over before they return.
    _wait_idle(server.pid)
    again = command("connect")
    _wait_idle(server.pid)  # answers sent, buffers drained: what remains is the sessions' own memory
    connected = _rss_bytes(server.pid)
    stdin.close()
    load.wait(60)
    _wait_idle(server.pid)
    return Storm(
        float(first["seconds"]),
        float(again["seconds"]),
        (connected - idle) / STORM_STATIONS,
        float(again["client_cpu"]),
    )


def _measure(port: int, infra: Infrastructure, server_pid: int) -> dict[str, Any]:
    extra = [
        "--server-pid",
        str(server_pid),
        "--stations",
        str(LOAD_STATIONS),
        "--paced-rate",
        str(PACED_RATE),
        "--paced-seconds",
        str(PACED_SECONDS),
        "--seconds",
        str(SATURATED_SECONDS),
    ]
    done = subprocess.run(
        _load_argv("measure", port, extra),
        env=_load_env(infra),
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.decode()[-4000:]}")
    report: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    for window in ("paced", "saturated"):
        if report[window]["errors"]:
            raise RuntimeError(f"{report[window]['errors']} CALLERRORs in the {window} window: {report}")
    if report["lost_stations"]:
        raise RuntimeError(f"{report['lost_stations']} stations lost their socket: {report}")
    return report


def _meter_entries(client: redis.Redis) -> int:
    return int(client.xlen(stream_name(StreamFamily.METER, 0)))


@dataclass
class Figures:
    rate: list[float] = field(default_factory=list)
    p50_us: list[float] = field(default_factory=list)
    p99_us: list[float] = field(default_factory=list)
    saturated_p99_us: list[float] = field(default_factory=list)
    cpu_us_per_call: list[float] = field(default_factory=list)
    client_cpu: list[float] = field(default_factory=list)
    first_storm_seconds: list[float] = field(default_factory=list)
    storm_seconds: list[float] = field(default_factory=list)
    storm_client_cpu: list[float] = field(default_factory=list)
    bytes_per_station: list[float] = field(default_factory=list)


def _one_run(infra: Infrastructure, client: redis.Redis, results: dict[str, Figures]) -> None:
    """Each server started and stormed in turn; then their load windows, interleaved; then all stopped."""
    servers: dict[str, tuple[ManagedProcess, int]] = {}
    try:
        for kind in KINDS:
            server, port = servers[kind] = _start_server(kind, infra)
            storm = _storm(port, server, infra)
            figures = results[kind]
            figures.first_storm_seconds.append(storm.first_seconds)
            figures.storm_seconds.append(storm.again_seconds)
            figures.storm_client_cpu.append(storm.client_cpu * 100)
            figures.bytes_per_station.append(storm.bytes_per_station)
            sys.stderr.write(f"{kind}: storm {storm}\n")
        # The servers not under load sit idle (no station connected) on the same core.
        for _ in range(WINDOWS):
            for kind, (server, port) in servers.items():
                _load_window(kind, server, port, infra, client, results[kind])
    finally:
        for server, _ in servers.values():
            server.stop()
    client.flushall()


def _load_window(
    kind: str, server: ManagedProcess, port: int, infra: Infrastructure, client: redis.Redis, figures: Figures
) -> None:
    before = _meter_entries(client) if kind == "gateway" else 0
    report = _measure(port, infra, server.pid)
    if kind == "gateway":
        published = _meter_entries(client) - before
        answered = report["paced"]["answered"] + report["saturated"]["answered"]
        # Every answered MeterValues was published first (warm-up answers add a few more).
        if published < answered:
            raise RuntimeError(f"{answered} MeterValues answered but only {published} published")
    saturated = report["saturated"]
    figures.rate.append(saturated["rate"])
    figures.p50_us.append(report["paced"]["p50_us"])
    figures.p99_us.append(report["paced"]["p99_us"])
    figures.saturated_p99_us.append(saturated["p99_us"])
    figures.cpu_us_per_call.append(saturated["server_cpu_us_per_call"])
    figures.client_cpu.append(saturated["client_cpu"] * 100)
    sys.stderr.write(f"{kind}: {json.dumps(saturated)}\n")


NO_TARGETS: Final = ("—", "—")


def _ms(seconds: list[float]) -> list[float]:
    return [s * 1000 for s in seconds]


def _measurements(results: dict[str, Figures]) -> list[Measurement]:
    ours, ocpp, bare = results["gateway"], results["ocpp"], results["bare"]
    paced_total = int(LOAD_STATIONS * PACED_RATE)
    rows: list[Measurement] = []

    def both(
        name: str,
        unit: str,
        pick: Callable[[Figures], list[float]],
        *,
        higher: bool,
        targets: tuple[str, str] = NO_TARGETS,
    ) -> None:
        """The gateway's figure twice: against the `ocpp` CSMS (targets[0]) and the bare server (targets[1])."""
        for baseline, figures, target in (("ocpp", ocpp, targets[0]), ("bare", bare, targets[1])):
            rows.append(
                Measurement(
                    name,
                    unit,
                    pick(ours),
                    BASELINE_NAMES[baseline],
                    pick(figures),
                    higher_is_better=higher,
                    target=target,
                    paired=True,
                )
            )

    both(
        "MeterValues answered/s, one process (validated, published)",
        "msg/s",
        lambda f: f.rate,
        higher=True,
        targets=(">= 10,000/s and >= 4x", ">= 40% of the ceiling"),
    )
    both("server CPU per MeterValues at full load (us)", "us", lambda f: f.cpu_us_per_call, higher=False)
    both(f"answer latency p50 at {paced_total:,} msg/s (us)", "us", lambda f: f.p50_us, higher=False)
    both(f"answer latency p99 at {paced_total:,} msg/s (us)", "us", lambda f: f.p99_us, higher=False)
    both("answer latency p99 at full load (us)", "us", lambda f: f.saturated_p99_us, higher=False)
    both(
        "memory per connected station (bytes)",
        "B",
        lambda f: f.bytes_per_station,
        higher=False,
        targets=("<= 24 KiB", "<= 24 KiB"),
    )
    both(
        f"{STORM_STATIONS:,} stations reconnected and booted (ms)",
        "ms",
        lambda f: _ms(f.storm_seconds),
        higher=False,
        targets=("—", "<= 1.25x the bare server"),
    )
    both(
        f"{STORM_STATIONS:,} stations' first connection and boot (ms)",
        "ms",
        lambda f: _ms(f.first_storm_seconds),
        higher=False,
    )
    both("load generator's core used at full load (%)", "%", lambda f: f.client_cpu, higher=False)
    both("load generator's core used during the reconnect (%)", "%", lambda f: f.storm_client_cpu, higher=False)
    return rows


def run() -> str:
    results = {kind: Figures() for kind in KINDS}
    with _infrastructure() as infra:
        client = redis.Redis.from_url(infra.redis_url)
        try:
            for _ in range(RUNS):
                _one_run(infra, client, results)
        finally:
            client.close()
    section = write_section(TITLE, __doc__ or "", _measurements(results))
    record(TITLE, section)
    return section


if __name__ == "__main__":
    sys.stdout.write(run() + "\n")
