"""Test session set-up: offline flags, tool state under runs/test-state, outputs in a temp folder."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DEFECTFORGE_STATE", str(PROJECT_ROOT / "runs" / "test-state"))
if "DEFECTFORGE_RUNS" not in os.environ:
    # Made here, so removed here when the session ends; a folder the caller named is left alone.
    os.environ["DEFECTFORGE_RUNS"] = tempfile.mkdtemp(prefix="defectforge-test-runs-")
    atexit.register(shutil.rmtree, os.environ["DEFECTFORGE_RUNS"], ignore_errors=True)

from pipeline.offline import configure_offline_environment  # noqa: E402

configure_offline_environment()


# --- real-browser tests: Debian's Chromium driven by Playwright; servers on free local ports ---

import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402

import pytest  # noqa: E402

CHROMIUM = os.environ.get("DEFECTFORGE_CHROMIUM", "/usr/bin/chromium")
TEST_ARTIFACTS = Path(os.environ.get("DEFECTFORGE_TEST_ARTIFACTS",
                                     PROJECT_ROOT / "runs" / "test-artifacts"))
"""Screenshots of the browser tests (under runs/, next to runs/test-state)."""


@pytest.fixture
def screenshot_dir() -> Path:
    """Where browser tests save their screenshots (kept as test artifacts)."""
    TEST_ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return TEST_ARTIFACTS


@pytest.fixture
def browser_page():
    """A Chromium page (1600x1100), skipped with a reason where no browser is installed."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).is_file()):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        try:
            yield page
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def local_server(tmp_path):
    """Start a command that serves on 127.0.0.1:PORT (`{port}` in its args); waits until `path`
    answers; stops it at the end. Its output goes to a log file shown on failure."""
    started = []

    def start(args: list[str], path: str = "/", env: dict | None = None,
              timeout: float = 180) -> str:
        port = free_port()
        log = tmp_path / f"server-{port}.log"
        process = subprocess.Popen([sys.executable, *(a.format(port=port) for a in args)],
                                   stdout=log.open("wb"), stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})}, cwd=PROJECT_ROOT,
                                   start_new_session=True)
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(url + path, timeout=5)
                return url
            except OSError:
                time.sleep(1)
        pytest.fail(f"server did not answer {url}{path} in {timeout} s:\n{log.read_text()[-3000:]}")

    yield start
    for process in started:  # the server and its workers: the process group it leads
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def one_torch_thread():
    """Tiny models run fastest on one thread, and the shared 2-core machine stays usable."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --- private runs/ and datasets/ folders for tests that prepare product lines ---


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh DEFECTFORGE_RUNS for this test."""
    path = tmp_path / "runs"
    monkeypatch.setenv("DEFECTFORGE_RUNS", str(path))
    return path


@pytest.fixture
def write_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`write_dataset(name, yaml_text)` -> dataset.yaml in a private DEFECTFORGE_DATASETS."""
    import textwrap

    root = tmp_path / "datasets"
    monkeypatch.setenv("DEFECTFORGE_DATASETS", str(root))

    def write(name: str, text: str) -> Path:
        path = root / name / "dataset.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return write
