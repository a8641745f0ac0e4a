"""The two servers the gateway is measured against, in the same run, on the same core.

- `ocpp`: a minimal CSMS written directly on the `ocpp` package, the way its documentation
  shows: a v16 `ChargePoint` per connection with `@on` handlers answering BootNotification,
  Heartbeat and MeterValues, served with `websockets`. It validates every message with the
  package's jsonschema path and publishes nothing.
- `bare`: a `websockets` server that parses each frame with orjson and answers a CALLRESULT
  without validation, authentication or publishing: the ceiling of one Python process.

Both use the gateway's WebSocket settings (no compression, 64 KiB frames, 60 s pings, a listen
queue of 4096) and accept any station id on `/ocpp/{station_id}` without credentials.

Run: `python -m bench.gateway_baselines {ocpp,bare} --port PORT`; SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import signal
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import orjson
import uvloop
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, RegistrationStatus
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

HEARTBEAT_INTERVAL_SECONDS: Final = 300
_SERVER_OPTIONS: Final[dict[str, Any]] = {
    "subprotocols": [Subprotocol("ocpp1.6")],
    "compression": None,
    "max_size": 65_536,
    "ping_interval": 60.0,
    "ping_timeout": 30.0,
    "close_timeout": 5.0,
    "server_header": None,
    "backlog": 4096,  # the gateway's CW_GATEWAY_OCPP_LISTEN_BACKLOG
}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- the minimal CSMS on the ocpp package ------------------------------------------------------------
class MinimalCsms(ChargePoint):  # type: ignore[misc]  # ocpp ships no type information
    @on(Action.boot_notification)  # type: ignore[misc]
    async def on_boot_notification(
        self, charge_point_vendor: str, charge_point_model: str, **kwargs: Any
    ) -> call_result.BootNotification:
        return call_result.BootNotification(
            current_time=_now(), interval=HEARTBEAT_INTERVAL_SECONDS, status=RegistrationStatus.accepted
        )

    @on(Action.heartbeat)  # type: ignore[misc]
    async def on_heartbeat(self) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=_now())

    @on(Action.meter_values)  # type: ignore[misc]
    async def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **kwargs: Any
    ) -> call_result.MeterValues:
        return call_result.MeterValues()


async def ocpp_session(connection: ServerConnection) -> None:
    path = connection.request.path if connection.request is not None else "/"
    charge_point = MinimalCsms(path.rstrip("/").rsplit("/", 1)[-1], connection)
    with contextlib.suppress(ConnectionClosed):
        await charge_point.start()


# -- the bare server: parse and answer ---------------------------------------------------------------
def _bare_answer(action: str) -> dict[str, Any]:
    if action == "BootNotification":
        return {"status": "Accepted", "currentTime": _now(), "interval": HEARTBEAT_INTERVAL_SECONDS}
    if action == "Heartbeat":
        return {"currentTime": _now()}
    return {}


async def bare_session(connection: ServerConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        while True:
            frame = orjson.loads(await connection.recv(decode=False))
            if frame[0] == 2:
                await connection.send(orjson.dumps([3, frame[1], _bare_answer(frame[2])]), text=True)


SESSIONS: Final[dict[str, Callable[[ServerConnection], Awaitable[None]]]] = {
    "ocpp": ocpp_session,
    "bare": bare_session,
}


async def serve_until_stopped(kind: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(SESSIONS[kind], "127.0.0.1", port, **_SERVER_OPTIONS):
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway_baselines", description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=sorted(SESSIONS))
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, hard), hard))
    # uvloop, as the gateway's `python -m chargewatch.ocpp_gateway` uses.
    uvloop.run(serve_until_stopped(options.kind, options.port))


if __name__ == "__main__":
    main()
