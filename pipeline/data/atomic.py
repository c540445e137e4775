"""Atomic, byte-reproducible file writes (temp file in the same folder, fsync, then `os.replace`).

Every file defectforge writes goes through `write_bytes`: the temp file gets the permissions a
plain `open()` would give under the user's umask (mkstemp alone gives 0600, unreadable to a team
sharing `runs/`), and its bytes reach the disk before the rename makes it visible."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 3]
"""Fixed PNG settings: the same pixels always give the same bytes."""


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically; creates the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o666 & ~current_umask())
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def current_umask() -> int:
    """The process umask, read without changing it (Linux: /proc/self/status)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    with _UMASK_LOCK:  # elsewhere: set and restore, under a lock
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()


def json_bytes(data: Any) -> bytes:
    """Canonical JSON: sorted keys, 1-space indent, trailing newline."""
    return (json.dumps(data, sort_keys=True, indent=1) + "\n").encode()


def write_json(path: str | Path, data: Any) -> Path:
    """Write canonical JSON atomically."""
    return write_bytes(path, json_bytes(data))


def png_bytes(image: np.ndarray) -> bytes:
    """Encode an RGB (HxWx3) or grey (HxW) uint8 image as PNG with fixed settings."""
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    pixels = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", pixels, PNG_PARAMS)
    if not ok:
        raise ValueError("PNG encoding failed")
    return encoded.tobytes()


def write_png(path: str | Path, image: np.ndarray) -> str:
    """Write a PNG atomically; returns the sha256 hex of its bytes."""
    data = png_bytes(image)
    write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """sha256 hex of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fresh_temp_dir(target: Path) -> Path:
    """An empty sibling folder to build `target` in (stale ones of dead processes removed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for old in target.parent.glob(f".{target.name}.tmp-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    return tmp


def swap_dir(tmp: Path, target: Path, *, overwrite: bool = False) -> None:
    """Put the finished folder `tmp` in place of `target` by renames (old one removed after).

    A non-empty `target` is only replaced when defectforge wrote it (it holds `OWNED_MARKER`)
    or `overwrite` is set; `tmp` gets the marker, so the next run may replace it."""
    check_replaceable(target, overwrite=overwrite)
    write_bytes(tmp / OWNED_MARKER, b"written by defectforge; replaced on the next run\n")
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


OWNED_MARKER = ".defectforge-output"
"""File in every folder defectforge builds whole (and may therefore replace)."""


def check_replaceable(target: Path, *, overwrite: bool = False) -> None:
    """DefectforgeError unless `target` is absent, an empty folder, ours, or `overwrite` is set."""
    from conditioning.errors import DefectforgeError

    if overwrite or not target.exists() or (target / OWNED_MARKER).is_file():
        return
    if not target.is_dir():
        raise DefectforgeError(f"{target}: exists and is not a folder; choose another output path")
    if any(target.iterdir()):
        raise DefectforgeError(
            f"{target}: folder is not empty and was not written by defectforge; choose another "
            "output folder, or pass --overwrite to replace its contents"
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
