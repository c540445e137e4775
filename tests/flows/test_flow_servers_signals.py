"""`defectforge servers` stopped by SIGTERM (a service manager, `kill`) stops both servers too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _pids_serving(port: int) -> list[int]:
    """Processes whose command line names `--port <port>` (left-over servers, for clean-up)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--port" in args and str(port).encode() in args and entry.name.isdigit():
            found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_sigterm_stops_both_servers(tmp_path, free_port):
    env = {**os.environ, "DEFECTFORGE_STATE": str(tmp_path / "state"), "PYTHONUNBUFFERED": "1"}
    for key in ("PREFECT_API_URL", "PREFECT_HOME", "MLFLOW_TRACKING_URI"):
        env.pop(key, None)
    ports = [free_port, free_port + 1 if free_port < 65000 else free_port - 1]
    command = [sys.executable, "-m", "flows.cli", "servers", "--prefect-port", str(ports[0]),
               "--mlflow-port", str(ports[1])]  # fmt: skip
    parent = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120  # both server processes started (healthy or not yet)
        while time.monotonic() < deadline and not all(_pids_serving(p) for p in ports):
            assert parent.poll() is None, parent.stdout.read()
            time.sleep(0.2)
        assert all(_pids_serving(port) for port in ports)
        parent.send_signal(signal.SIGTERM)
        parent.wait(60)
        left = {port: _pids_serving(port) for port in ports}
        assert left == {port: [] for port in ports}, f"servers still running: {left}"
    finally:
        if parent.poll() is None:
            parent.kill()
        for port in ports:  # what a broken stop left behind, so the suite stays clean
            for pid in _pids_serving(port):
                os.kill(pid, signal.SIGKILL)
