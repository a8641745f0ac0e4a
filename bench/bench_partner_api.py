"""Partner API: requests per second and p99 latency of GET /v1/stations (a page of 100) and of a
station's detail, served by one partner-api process (services/partner-api).

The whole platform runs (no simulator), with 150 stations registered the way an operator does it;
the partner-api process is pinned to core 0 and the load generator to core 1 (`sched_setaffinity`),
so the API has one core. Every request is what a partner back end sends: a real access token from
the development identity provider (checked once, then from the principal cache), its rate-limit count
(far from the limit counted in-process and added to Redis every 100 ms), the tenant-scoped response
cache (1 s fresh, then served while one background fetch renews it) with its ETag, the request id
and trace id headers, one OpenTelemetry server span and the latency histogram. Baseline, same run,
same core: a bare FastAPI/uvicorn endpoint (httptools, uvloop) returning the same bytes with no
auth, no Redis and no cache.

The load generator keeps `CONNECTIONS` HTTP/1.1 keep-alive connections busy (closed loop) for
`DURATION` seconds after a warm-up, on 127.0.0.1 only; latency is per request, p99 over the run.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import Measurement, record, write_section

TITLE = "Partner API (services/partner-api)"
RUNS = 3
CONNECTIONS = 24
DURATION = 8.0
WARMUP = 2.0
STATIONS = 150
API_CORE = 0
LOAD_CORE = 1


# -- the load generator (run in its own process on the other core) ----------------------------------
async def _worker(host: str, port: int, request: bytes, until: float, warm_until: float, out: list[float]) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    errors = 0
    try:
        while True:
            started = time.perf_counter()
            if started >= until:
                return errors
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            if status_line[9:12] != b"200":
                errors += 1
            if started >= warm_until:
                out.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _load(url: str, token: str, connections: int, duration: float, warmup: float) -> dict[str, float]:
    parts = httpx.URL(url)
    target = parts.raw_path.decode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    request = f"GET {target} HTTP/1.1\r\nHost: {parts.host}:{parts.port}\r\n{auth}Accept: application/json\r\n\r\n"
    latencies: list[float] = []
    start = time.perf_counter()
    warm_until = start + warmup
    until = warm_until + duration
    errors = await asyncio.gather(
        *(
            _worker(parts.host, parts.port or 80, request.encode(), until, warm_until, latencies)
            for _ in range(connections)
        )
    )
    latencies.sort()
    return {
        "rps": len(latencies) / duration,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
        "errors": float(sum(errors)),
    }


def load(url: str, token: str) -> dict[str, float]:
    """Run the load generator in a separate process on LOAD_CORE and return its figures."""
    argv = [sys.executable, "-m", "bench.bench_partner_api", "--load", url, str(CONNECTIONS), str(DURATION)]
    reply = subprocess.run(
        argv,
        input=token,
        capture_output=True,
        text=True,
        timeout=DURATION + WARMUP + 60,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    figures: dict[str, float] = json.loads(reply.stdout.strip().splitlines()[-1])
    if figures["errors"]:
        raise RuntimeError(f"{url}: {figures['errors']:.0f} requests did not answer 200")
    return figures


# -- the baseline server ---------------------------------------------------------------------------
_BASELINE = """
import sys, uvicorn, uvloop
from fastapi import FastAPI, Response
page, detail = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
app = FastAPI()

@app.get("/page")
async def list_page() -> Response:
    return Response(page, media_type="application/json")

@app.get("/detail")
async def one() -> Response:
    return Response(detail, media_type="application/json")

config = uvicorn.Config(
    app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning", access_log=False, http="httptools"
)
uvloop.run(uvicorn.Server(config).serve())
"""


def _pin(pid: int, core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > core:
        os.sched_setaffinity(pid, {core})


def run() -> str:
    from chargewatch.devstack.platform import Platform, PlatformConfig, Ports
    from chargewatch.devstack.processes import free_port, start_process

    with tempfile.TemporaryDirectory(prefix="bench-partner-api-") as tmp:
        ports = Ports.free()
        platform = Platform(
            PlatformConfig(
                run_dir=Path(tmp) / "platform",
                ports=ports,
                stations=STATIONS,
                simulate=False,
                log_level="WARNING",
                extra_env={"CW_PARTNER_API_RATE_LIMIT_PER_MINUTE": "100000000"},
            )
        )
        platform.start()
        baseline = None
        try:
            api = platform.service_process("partner-api")
            _pin(api.pid, API_CORE)
            reply = httpx.post(
                platform.token_url,
                data={"grant_type": "client_credentials"},
                auth=("chargewatch-services", "dev-chargewatch-services-secret"),
            )
            reply.raise_for_status()
            token = reply.json()["access_token"]
            list_url = f"{platform.api_url}/v1/stations?limit=100"
            detail_url = f"{platform.api_url}/v1/stations/{platform.fleet[0].station_id}"
            headers = {"Authorization": f"Bearer {token}"}
            page = httpx.get(list_url, headers=headers).content
            detail = httpx.get(detail_url, headers=headers).content
            assert len(json.loads(page)["items"]) == 100
            (Path(tmp) / "page.json").write_bytes(page)
            (Path(tmp) / "detail.json").write_bytes(detail)
            port = free_port()
            baseline = start_process(
                "baseline",
                [
                    sys.executable,
                    "-c",
                    _BASELINE,
                    str(Path(tmp) / "page.json"),
                    str(Path(tmp) / "detail.json"),
                    str(port),
                ],
                port=port,
            )
            _pin(baseline.pid, API_CORE)
            base = f"http://127.0.0.1:{port}"
            results: dict[str, list[dict[str, float]]] = {k: [] for k in ("list", "list0", "detail", "detail0")}
            for _ in range(RUNS):
                results["list"].append(load(list_url, token))
                results["list0"].append(load(f"{base}/page", ""))
                results["detail"].append(load(detail_url, token))
                results["detail0"].append(load(f"{base}/detail", ""))
        finally:
            if baseline is not None:
                baseline.stop()
            platform.stop()

    def series(key: str, figure: str) -> list[float]:
        return [r[figure] for r in results[key]]

    measurements = [
        Measurement(
            "GET /v1/stations (100 stations, one process)",
            "req/s",
            series("list", "rps"),
            "bare FastAPI, same bytes",
            series("list0", "rps"),
            target=">= 1,500 req/s",
        ),
        Measurement(
            "GET /v1/stations p99",
            "ms",
            series("list", "p99_ms"),
            "bare FastAPI",
            series("list0", "p99_ms"),
            higher_is_better=False,
            target="< 50 ms",
        ),
        Measurement(
            "GET /v1/stations/{id}",
            "req/s",
            series("detail", "rps"),
            "bare FastAPI, same bytes",
            series("detail0", "rps"),
        ),
        Measurement(
            "GET /v1/stations/{id} p99",
            "ms",
            series("detail", "p99_ms"),
            "bare FastAPI",
            series("detail0", "p99_ms"),
            higher_is_better=False,
        ),
    ]
    description = __doc__ or ""
    description += (
        f"\nPage size: {len(page):,} bytes; detail: {len(detail):,} bytes; {CONNECTIONS} connections, "
        f"{DURATION:.0f} s per run after {WARMUP:.0f} s of warm-up. p50 of the list: "
        f"{statistics.median(series('list', 'p50_ms')):.1f} ms (baseline "
        f"{statistics.median(series('list0', 'p50_ms')):.1f} ms).\n"
    )
    section = write_section(TITLE, description, measurements)
    record(TITLE, section)
    return section


def _main() -> None:
    if len(sys.argv) >= 5 and sys.argv[1] == "--load":
        _pin(0, LOAD_CORE)
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:  # pragma: no cover
            runner = asyncio.run
        token = sys.stdin.read().strip()
        figures = runner(_load(sys.argv[2], token, int(sys.argv[3]), float(sys.argv[4]), WARMUP))
        sys.stdout.write(json.dumps(figures) + "\n")
        return
    sys.stdout.write(run() + "\n")


if __name__ == "__main__":
    _main()
