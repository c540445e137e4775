"""Local Prefect and MLflow servers on 127.0.0.1, their state under the project's state root."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from conditioning.errors import DefectforgeError
from pipeline.paths import state_root

HOST = "127.0.0.1"


@dataclass
class Server:
    """One started server: its process, the URL to export, and its health endpoint."""

    name: str
    process: subprocess.Popen
    url: str
    health_url: str
    env_var: str
    log_path: Path


def _executable(name: str) -> str:
    """The console script next to this interpreter (the venv's), else on PATH."""
    candidate = Path(sys.executable).with_name(name)
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise DefectforgeError(
            f"`{name}` not found next to {sys.executable} or on PATH; install the project"
        )
    return found


def _spawn(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def start_prefect_server(port: int, prefect_home: Path | None = None) -> Server:
    """`prefect server start` on 127.0.0.1:port; its database lives in `prefect_home`."""
    home = prefect_home or state_root() / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    args = [_executable("prefect"), "server", "start", "--host", HOST, "--port", str(port)]
    process = _spawn(args, env, home / "server.log")
    url = f"http://{HOST}:{port}/api"
    return Server("Prefect", process, url, f"{url}/health", "PREFECT_API_URL", home / "server.log")


def start_mlflow_server(port: int, mlflow_dir: Path | None = None) -> Server:
    """`mlflow server` on 127.0.0.1:port with a sqlite store and artifacts under `mlflow_dir`."""
    root = mlflow_dir or state_root()
    root.mkdir(parents=True, exist_ok=True)
    args = [
        _executable("mlflow"), "server", "--host", HOST, "--port", str(port),
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", str(root / "mlartifacts"),
    ]  # fmt: skip
    process = _spawn(args, {**os.environ}, root / "mlflow-server.log")
    url = f"http://{HOST}:{port}"
    return Server(
        "MLflow", process, url, f"{url}/health", "MLFLOW_TRACKING_URI", root / "mlflow-server.log"
    )


def wait_healthy(server: Server, timeout: float = 120.0) -> None:
    """Poll the health endpoint until it answers 200; raise with the log path if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(server.health_url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise DefectforgeError(
        f"{server.name} server did not answer {server.health_url}; see {server.log_path}"
    )


@contextlib.contextmanager
def interrupt_on_termination() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise KeyboardInterrupt like Ctrl-C does, so the
    caller's `finally` stops the servers (the default action would exit and leave them running)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop(server: Server, timeout: float = 20.0) -> None:
    """Terminate the server's process group, then kill it if it lingers."""
    if server.process.poll() is not None:
        return
    os.killpg(server.process.pid, 15)
    try:
        server.process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, 9)
        server.process.wait()
