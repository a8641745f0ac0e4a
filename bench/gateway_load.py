"""Load generator of the gateway benchmark: many raw WebSocket stations driven from one core.

`bench_gateway` runs it in its own process (`python -m bench.gateway_load <mode> ...`), pinned to
the core the server under test does not use; it prints one JSON line with its figures. It speaks
just enough RFC 6455 for OCPP-J: an HTTP/1.1 upgrade with Basic credentials, masked text frames
out (with an all-zero masking key: legal, and the server still unmasks every byte), unfragmented
frames in, pings answered. The `websockets` and `ocpp` clients spend more per message than the
servers under test, so a benchmark built on them would measure the client.

Modes:
- probe: one station boots and sends one call of `--action`; prints whether a CALLRESULT came back.
- measure: `--stations` stations boot, then each sends `--paced-rate` calls per second (answer
  latency without queueing), then each keeps one call in flight (OCPP-J allows one outstanding
  CALL per station) for the throughput and the latency under full load.
- storm: `--stations` stations connect and boot, at most `--concurrency` handshakes at a time, and
  keep their sockets open; the figures are printed. With `--hold` the generator then reads
  commands on stdin, answering each with a JSON line: `drop` closes every socket at once (a
  network or load balancer failure), `connect` connects and boots every station again (the
  reconnect storm); the sockets close when stdin does (so the caller can read the server's
  memory while every station is connected).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import resource
import sys
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, cast

import orjson
import uvloop

PASSWORD_VARIABLE: Final = "CW_BENCH_STATION_PASSWORD"  # noqa: S105 - the variable's name, not a secret
STATION_PREFIX: Final = "BENCH-"
SUBPROTOCOL: Final = "ocpp1.6"

_WS_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_ZERO_MASK: Final = b"\x00\x00\x00\x00"
_MAX_HANDSHAKE_BYTES: Final = 16_384
_OPCODE_TEXT: Final = 0x1
_OPCODE_CLOSE: Final = 0x8
_OPCODE_PING: Final = 0x9
_OPCODE_PONG: Final = 0xA
_CLOSE_NORMAL: Final = b"\x03\xe8"
_ANSWER_TIMEOUT_SECONDS: Final = 30.0
_CONNECT_ATTEMPTS: Final = 5


def station_id(index: int) -> str:
    return f"{STATION_PREFIX}{index:05d}"


def _now_text() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def boot_payload(index: int) -> bytes:
    return orjson.dumps(
        {
            "chargePointVendor": "ChargeWatch",
            "chargePointModel": "Bench-DC-150",
            "chargePointSerialNumber": f"SN-{index:08d}",
            "firmwareVersion": "4.2.1",
            "meterType": "Eastron SDM630",
        }
    )


def meter_values_payload() -> bytes:
    """A periodic 1.6 MeterValues of a charging DC station: energy register, power, current, voltage, SoC."""
    stamp = _now_text()
    return orjson.dumps(
        {
            "connectorId": 1,
            "transactionId": 4711,
            "meterValue": [
                {
                    "timestamp": stamp,
                    "sampledValue": [
                        {
                            "value": "152344.5",
                            "context": "Sample.Periodic",
                            "measurand": "Energy.Active.Import.Register",
                            "location": "Outlet",
                            "unit": "Wh",
                        },
                        {"value": "48210.0", "measurand": "Power.Active.Import", "location": "Outlet", "unit": "W"},
                        {"value": "121.4", "measurand": "Current.Import", "location": "Outlet", "unit": "A"},
                        {"value": "397.2", "measurand": "Voltage", "location": "Outlet", "unit": "V"},
                        {"value": "63", "measurand": "SoC", "location": "EV", "unit": "Percent"},
                    ],
                }
            ],
        }
    )


def payload_for(action: str) -> bytes:
    if action == "MeterValues":
        return meter_values_payload()
    if action == "Heartbeat":
        return b"{}"
    raise ValueError(f"the load generator does not send {action}")


def _frame(opcode: int, payload: bytes) -> bytes:
    """A client frame: FIN, the opcode, the mask bit with a zero key (so the payload goes as it is)."""
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | opcode, 0x80 | size))
    elif size < 65_536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
    return header + _ZERO_MASK + payload


class HandshakeError(Exception):
    """The server refused the upgrade (or broke the protocol before it)."""


class StationClosed(Exception):
    """The socket closed while an answer was awaited."""


@dataclass
class Endpoint:
    host: str
    port: int
    path: str
    password: str

    @classmethod
    def parse(cls, url: str, password: str) -> Endpoint:
        if not url.startswith("ws://"):
            raise ValueError(f"only ws:// URLs are supported, got {url}")
        authority, _, path = url.removeprefix("ws://").partition("/")
        host, _, port = authority.rpartition(":")
        if host not in {"127.0.0.1", "localhost"}:
            raise ValueError(f"the load generator only targets 127.0.0.1, got {host}")
        return cls(host, int(port), "/" + path.strip("/"), password)


class Station(asyncio.Protocol):
    """One charge point's socket; answers are handed to a waiter (boot, probe) or to the driver."""

    def __init__(self, index: int, endpoint: Endpoint) -> None:
        self.index = index
        self.station_id = station_id(index)
        self.endpoint = endpoint
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.closed = False
        self.key = base64.b64encode(os.urandom(16))
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.waiter: asyncio.Future[bytes] | None = None
        self.driver: Driver | None = None
        self.message_id = ""
        self.sequence = 0
        self.sent_at = 0.0

    # -- asyncio.Protocol --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = transport = cast(asyncio.Transport, transport)
        credentials = base64.b64encode(f"{self.station_id}:{self.endpoint.password}".encode()).decode()
        request = (
            f"GET {self.endpoint.path}/{self.station_id} HTTP/1.1\r\n"
            f"Host: {self.endpoint.host}:{self.endpoint.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {self.key.decode()}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {SUBPROTOCOL}\r\n"
            f"Authorization: Basic {credentials}\r\n\r\n"
        )
        transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded and not self._read_handshake():
            return
        self._read_frames()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(HandshakeError(f"connection lost before the upgrade: {exc}"))
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(StationClosed(str(exc)))
        if self.driver is not None:
            self.driver.lost(self)

    # -- handshake and frames ----------------------------------------------------------------------
    def _read_handshake(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > _MAX_HANDSHAKE_BYTES:
                self._fail_handshake("oversized handshake answer")
            return False
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 4]
        status_line, *header_lines = head.split("\r\n")
        if not status_line.startswith("HTTP/1.1 101"):
            self._fail_handshake(status_line)
            return False
        headers = {
            name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)
        }
        expected = base64.b64encode(hashlib.sha1(self.key + _WS_GUID).digest()).decode()  # noqa: S324 (RFC 6455)
        if headers.get("sec-websocket-accept") != expected or headers.get("sec-websocket-protocol") != SUBPROTOCOL:
            self._fail_handshake("wrong Sec-WebSocket-Accept or subprotocol")
            return False
        self.upgraded = True
        self.opened.set_result(None)
        return True

    def _fail_handshake(self, reason: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(HandshakeError(reason))
        if self.transport is not None:
            self.transport.abort()

    def _read_frames(self) -> None:
        buffer = self.buffer
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            size, start = second & 0x7F, 2
            if size == 126:
                if len(buffer) < 4:
                    return
                size, start = int.from_bytes(buffer[2:4], "big"), 4
            elif size == 127:
                if len(buffer) < 10:
                    return
                size, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + size:
                return
            if second & 0x80 or not first & 0x80:
                raise HandshakeError("the server sent a masked or fragmented frame, which this client does not read")
            payload = bytes(buffer[start : start + size])
            del buffer[: start + size]
            opcode = first & 0x0F
            if opcode == _OPCODE_TEXT:
                self._answer(payload)
            elif opcode == _OPCODE_PING and self.transport is not None:
                self.transport.write(_frame(_OPCODE_PONG, payload))
            elif opcode == _OPCODE_CLOSE and self.transport is not None:
                self.transport.close()

    def _answer(self, payload: bytes) -> None:
        latency = time.perf_counter() - self.sent_at
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(payload)
        elif self.driver is not None:
            self.driver.answered(self, payload, latency)

    # -- calls -------------------------------------------------------------------------------------
    def send_call(self, action: bytes, payload: bytes) -> None:
        if self.transport is None or self.closed:
            return
        self.sequence += 1
        self.message_id = f"{self.index}-{self.sequence}"
        message = b'[2,"' + self.message_id.encode() + b'","' + action + b'",' + payload + b"]"
        self.sent_at = time.perf_counter()
        self.transport.write(_frame(_OPCODE_TEXT, message))

    async def call(self, action: str, payload: bytes) -> list[Any]:
        """Send one CALL and wait for its answer (decoded)."""
        self.waiter = asyncio.get_running_loop().create_future()
        self.send_call(action.encode(), payload)
        answer = orjson.loads(await asyncio.wait_for(self.waiter, _ANSWER_TIMEOUT_SECONDS))
        if not isinstance(answer, list) or len(answer) < 3 or answer[1] != self.message_id:
            raise HandshakeError(f"unexpected answer to {action}: {answer!r:.200}")
        return answer

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(_frame(_OPCODE_CLOSE, _CLOSE_NORMAL))
            self.transport.close()


@dataclass
class Driver:
    """Keeps every station sending: paced (`interval` seconds apart) or with one call always in flight."""

    action: bytes
    payload: bytes
    interval: float | None
    counting: bool = False
    running: bool = True
    answered_calls: int = 0
    errors: int = 0
    lost_stations: int = 0
    latencies: array[float] = field(default_factory=lambda: array("d"))

    def answered(self, station: Station, payload: bytes, latency: float) -> None:
        if self.counting:
            answer = orjson.loads(payload)
            if answer[0] == 3 and answer[1] == station.message_id:
                self.answered_calls += 1
                self.latencies.append(latency)
            else:
                self.errors += 1
        if not self.running:
            return
        if self.interval is None:
            station.send_call(self.action, self.payload)
        else:
            delay = station.sent_at + self.interval - time.perf_counter()
            asyncio.get_running_loop().call_later(max(delay, 0.0), station.send_call, self.action, self.payload)

    def lost(self, station: Station) -> None:
        if self.running:
            self.lost_stations += 1

    def window(self) -> None:
        """Start a counting window afresh."""
        self.answered_calls = 0
        self.errors = 0
        self.latencies = array("d")
        self.counting = True


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of another process (the server under test), from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Fleet:
    endpoint: Endpoint
    stations: list[Station] = field(default_factory=list)
    failed_attempts: int = 0

    async def connect(self, index: int, *, boot: bool = True) -> Station:
        """Connect and boot one station, retrying (as a station does) when the server turns it away."""
        loop = asyncio.get_running_loop()
        last_error: Exception | None = None
        for attempt in range(_CONNECT_ATTEMPTS):
            station = Station(index, self.endpoint)
            try:
                await loop.create_connection(lambda s=station: s, self.endpoint.host, self.endpoint.port)  # type: ignore[misc]
                await asyncio.wait_for(station.opened, _ANSWER_TIMEOUT_SECONDS)
                if boot:
                    answer = await station.call("BootNotification", boot_payload(index))
                    if answer[0] != 3 or answer[2].get("status") != "Accepted":
                        raise HandshakeError(f"BootNotification not accepted: {answer!r:.200}")
            except (OSError, HandshakeError, StationClosed, TimeoutError) as error:
                last_error = error
                self.failed_attempts += 1
                station.close()
                await asyncio.sleep(0.05 * 2**attempt)
                continue
            self.stations.append(station)
            return station
        raise HandshakeError(f"{station_id(index)} could not connect: {last_error}")

    async def connect_all(self, count: int, concurrency: int, *, boot: bool = True) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(index: int) -> None:
            async with gate:
                await self.connect(index, boot=boot)

        async with asyncio.TaskGroup() as group:
            for index in range(count):
                group.create_task(one(index))

    def close(self) -> None:
        for station in self.stations:
            station.close()


async def probe(endpoint: Endpoint, action: str) -> dict[str, Any]:
    fleet = Fleet(endpoint)
    station = await fleet.connect(0)
    answer = await station.call(action, payload_for(action))
    fleet.close()
    return {"mode": "probe", "action": action, "answer": answer, "supported": answer[0] == 3}


async def _window(driver: Driver, warmup: float, seconds: float, server_pid: int | None) -> dict[str, float]:
    driver.counting = False
    await asyncio.sleep(warmup)
    driver.window()
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    server_started = process_cpu_seconds(server_pid) if server_pid is not None else 0.0
    await asyncio.sleep(seconds)
    driver.counting = False
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    latencies = sorted(driver.latencies)
    report = {
        "rate": driver.answered_calls / elapsed,
        "answered": driver.answered_calls,
        "errors": driver.errors,
        "p50_us": percentile(latencies, 0.50) * 1e6,
        "p99_us": percentile(latencies, 0.99) * 1e6,
        # Share of its core the load generator used: near 1.0 it, not the server, would be the limit.
        "client_cpu": cpu / elapsed,
    }
    if server_pid is not None:
        server_cpu = process_cpu_seconds(server_pid) - server_started
        report["server_cpu"] = server_cpu / elapsed
        # CPU time of the server per answered call (its utime + stime; insensitive to other load).
        report["server_cpu_us_per_call"] = server_cpu / max(driver.answered_calls, 1) * 1e6
    return report


async def measure(endpoint: Endpoint, action: str, options: argparse.Namespace) -> dict[str, Any]:
    fleet = Fleet(endpoint)
    await fleet.connect_all(options.stations, options.concurrency)
    interval = 1.0 / options.paced_rate
    driver = Driver(action.encode(), payload_for(action), interval)
    loop = asyncio.get_running_loop()
    for position, station in enumerate(fleet.stations):
        station.driver = driver
        # Spread the first calls over one interval so the paced load is even, not in bursts.
        loop.call_later(interval * position / len(fleet.stations), station.send_call, driver.action, driver.payload)
    paced = await _window(driver, options.warmup, options.paced_seconds, options.server_pid)
    driver.interval = None  # every station sends its next call as soon as the previous is answered
    saturated = await _window(driver, options.warmup, options.seconds, options.server_pid)
    driver.running = False
    fleet.close()
    return {
        "mode": "measure",
        "action": action,
        "stations": len(fleet.stations),
        "paced": paced,
        "saturated": saturated,
        "lost_stations": driver.lost_stations,
        "failed_attempts": fleet.failed_attempts,
    }


async def _connect_wave(fleet: Fleet, options: argparse.Namespace, wave: str) -> dict[str, Any]:
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    await fleet.connect_all(options.stations, options.concurrency)
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    return {
        "mode": "storm",
        "wave": wave,
        "stations": len(fleet.stations),
        "seconds": elapsed,
        "failed_attempts": fleet.failed_attempts,
        # Share of its core the load generator used while the stations connected.
        "client_cpu": cpu / elapsed,
    }


async def storm(endpoint: Endpoint, options: argparse.Namespace) -> dict[str, Any]:
    """Connect and boot every station; with --hold, then obey stdin: "drop", "connect", end of input."""
    fleet = Fleet(endpoint)
    report = await _connect_wave(fleet, options, "first")
    if options.hold:
        sys.stdout.write(json.dumps(report) + "\n")
        sys.stdout.flush()
        reader = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while command := (await reader.readline()).strip():  # until the caller closes our stdin
            if command == b"drop":
                # Every socket at once, as when a network path or a load balancer fails.
                dropped = len(fleet.stations)
                fleet.close()
                fleet = Fleet(endpoint)
                await asyncio.sleep(0.2)  # let the close frames leave
                report = {"mode": "storm", "dropped": dropped}
            elif command == b"connect":
                report = await _connect_wave(fleet, options, "again")
            else:
                raise SystemExit(f"unknown command {command!r}")
            sys.stdout.write(json.dumps(report) + "\n")
            sys.stdout.flush()
    fleet.close()
    await asyncio.sleep(0.2)  # let the close frames leave
    return report


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway_load", description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["probe", "measure", "storm"])
    parser.add_argument("--url", required=True, help="ws://127.0.0.1:PORT/ocpp (the station id is appended)")
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    parser.add_argument("--action", default="MeterValues", choices=["MeterValues", "Heartbeat"])
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=100, help="handshakes in flight at most")
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds before each counting window")
    parser.add_argument("--paced-rate", type=float, default=5.0, help="calls per second per station when paced")
    parser.add_argument("--paced-seconds", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=4.0, help="length of the full-load window")
    parser.add_argument("--hold", action="store_true", help="storm: keep the sockets open until stdin closes")
    parser.add_argument(
        "--server-pid", type=int, default=None, help="measure: also report this process's CPU time per answered call"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    options = _arguments(argv)
    if options.cpu is not None:
        os.sched_setaffinity(0, {options.cpu})
    _raise_fd_limit()
    password = os.environ.get(PASSWORD_VARIABLE, "")
    if not password:
        raise SystemExit(f"set {PASSWORD_VARIABLE} to the stations' password")
    endpoint = Endpoint.parse(options.url, password)
    runners: dict[str, Callable[[], Any]] = {
        "probe": lambda: probe(endpoint, options.action),
        "measure": lambda: measure(endpoint, options.action, options),
        "storm": lambda: storm(endpoint, options),
    }
    report = uvloop.run(runners[options.mode]())
    if not (options.mode == "storm" and options.hold):
        sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
