"""Service lifecycle.

Start order: ops endpoints (liveness answers at once), gRPC server (health NOT_SERVING),
dependency probes (health turns SERVING once every dependency answers), workers.
On SIGTERM or SIGINT: health NOT_SERVING so load balancers stop sending work, workers are
asked to stop and finish what they hold (a stream consumer acknowledges only what it
finished), the gRPC server gets the grace period for in-flight calls, then shutdown hooks run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc

from chargewatch.auth import AccessTokenValidator, CallerAuthenticator
from chargewatch.config import CallerTokenSettings, ServiceSettings
from chargewatch.observability import OpsServer, setup_observability
from chargewatch.rpc import CallerAuthentication, GrpcServer

log = logging.getLogger(__name__)

DependencyProbe = Callable[[], Awaitable[bool]]
_PROBE_TIMEOUT_SECONDS = 2.0


@dataclass
class Worker:
    """A long-running coroutine (a stream consumer, a WebSocket server) with a way to stop it."""

    name: str
    run: Callable[[], Awaitable[None]]
    stop: Callable[[], Any]
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class ServiceRuntime:
    def __init__(
        self, name: str, settings: ServiceSettings, *, version: str = "0.1.0", ops_server: bool = True
    ) -> None:
        self.name = name
        self.settings = settings
        self.observability = setup_observability(name, version=version, log_level=settings.log_level)
        self.grpc: GrpcServer | None = None
        self.ops: OpsServer | None = (
            OpsServer(settings.ops_host, settings.ops_port, self.readiness) if ops_server else None
        )
        self._probes: dict[str, DependencyProbe] = {}
        self._state: dict[str, bool] = {}
        self._workers: list[Worker] = []
        self._shutdown_hooks: list[Callable[[], Awaitable[Any]]] = []
        self._stop = asyncio.Event()
        self._draining = False
        self._serving = False

    # -- wiring ---------------------------------------------------------------------------
    def depends_on(self, name: str, probe: DependencyProbe) -> None:
        """Readiness and gRPC health follow this probe: SERVING only while every probe is true."""
        self._probes[name] = probe
        self._state[name] = False

    def authenticate_callers(self, settings: CallerTokenSettings) -> None:
        """Every gRPC call must carry a valid access token (docs/architecture.md, "Who calls whom"); off
        only when `require_caller_token` is false, which the settings refuse in production. Call it
        before adding the gRPC services; readiness waits for the identity provider's keys."""
        if not settings.require_caller_token:
            return
        validator = AccessTokenValidator(settings.issuer, settings.api_audience)
        self.on_shutdown(validator.close)
        self.depends_on("identity-provider-keys", validator.ready)
        self.grpc = GrpcServer(
            settings.grpc_host,
            settings.grpc_port,
            caller_authentication=CallerAuthentication(CallerAuthenticator(validator)),
        )

    def add_grpc_service(
        self, add_to_server: Callable[[Any, grpc.aio.Server], None], servicer: Any, full_name: str
    ) -> None:
        if self.grpc is None:
            self.grpc = GrpcServer(self.settings.grpc_host, self.settings.grpc_port)
        self.grpc.add_service(add_to_server, servicer, full_name)

    def add_worker(self, name: str, run: Callable[[], Awaitable[None]], stop: Callable[[], Any]) -> None:
        self._workers.append(Worker(name, run, stop))

    def on_shutdown(self, hook: Callable[[], Awaitable[Any]]) -> None:
        """Hooks run last, in reverse order of registration (close clients after their users)."""
        self._shutdown_hooks.append(hook)

    # -- state ----------------------------------------------------------------------------
    def readiness(self) -> Mapping[str, bool]:
        checks = dict(self._state)
        checks["accepting"] = not self._draining
        return checks

    @property
    def ready(self) -> bool:
        return all(self.readiness().values())

    def request_stop(self) -> None:
        self._stop.set()

    async def _probe_once(self) -> None:
        async def check(name: str, probe: DependencyProbe) -> tuple[str, bool]:
            try:
                return name, bool(await asyncio.wait_for(probe(), _PROBE_TIMEOUT_SECONDS))
            except Exception:  # a failing probe means "not ready", whatever it raised
                return name, False

        results = await asyncio.gather(*(check(n, p) for n, p in self._probes.items()))
        for name, ok in results:
            if self._state.get(name) != ok:
                log.log(
                    logging.INFO if ok else logging.WARNING,
                    "dependency %s",
                    "up" if ok else "down",
                    extra={"dependency": name},
                )
            self._state[name] = ok
        serving = self.ready
        if self.grpc is not None and serving != self._serving:
            await self.grpc.set_serving(serving)
        self._serving = serving

    async def _probe_loop(self) -> None:
        while not self._stop.is_set():
            await self._probe_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.health_check_interval_seconds)

    # -- lifecycle ------------------------------------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        if self.ops is not None:
            await self.ops.start()
        if self.grpc is not None:
            await self.grpc.start()
        await self._probe_once()
        probe_task = asyncio.create_task(self._probe_loop(), name="dependency-probes")
        for worker in self._workers:
            worker.task = asyncio.create_task(self._run_worker(worker), name=worker.name)
        log.info("service started", extra={"ready": self.ready})
        await self._stop.wait()
        await self._drain(probe_task)

    async def _run_worker(self, worker: Worker) -> None:
        try:
            await worker.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            # A worker dying is a process-level failure: stop so Kubernetes restarts us
            # instead of running half a service.
            log.exception("worker crashed", extra={"worker": worker.name})
            self.request_stop()

    async def _drain(self, probe_task: asyncio.Task[None]) -> None:
        grace = self.settings.shutdown_grace_seconds
        log.info("draining", extra={"grace_seconds": grace})
        self._draining = True
        probe_task.cancel()
        if self.grpc is not None:
            await self.grpc.set_serving(False)
        for worker in self._workers:
            with contextlib.suppress(Exception):
                result = worker.stop()
                if asyncio.iscoroutine(result):
                    await result
        tasks = [w.task for w in self._workers if w.task is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                log.warning("worker did not finish within the grace period", extra={"worker": task.get_name()})
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self.grpc is not None:
            await self.grpc.stop(grace)
        for hook in reversed(self._shutdown_hooks):
            try:
                await hook()
            except Exception:
                log.exception("shutdown hook failed")
        if self.ops is not None:
            await self.ops.stop()
        log.info("stopped")
        self.observability.shutdown()
