"""Atomic writes: the user's umask decides the permissions, bytes are fsynced before the rename,
and the writers that used to bypass the helper now go through it."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from pipeline.data import atomic


@pytest.fixture
def umask():
    """umask(value) for the rest of the test; the old one comes back after."""
    before = os.umask(0o022)
    os.umask(before)
    yield os.umask
    os.umask(before)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_files_get_the_users_umask(tmp_path, umask, mask, mode):
    umask(mask)
    paths = [
        atomic.write_bytes(tmp_path / "a.bin", b"x"),
        atomic.write_json(tmp_path / "b.json", {"a": 1}),
    ]
    atomic.write_png(tmp_path / "c.png", np.zeros((4, 4), np.uint8))
    for path in [*paths, tmp_path / "c.png"]:
        assert stat.S_IMODE(path.stat().st_mode) == mode


def test_bytes_are_fsynced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    atomic.write_bytes(tmp_path / "a.bin", b"data")
    assert events == ["fsync", "replace"]
    assert (tmp_path / "a.bin").read_bytes() == b"data"


def test_model_files_and_figures_go_through_the_helper(tmp_path, monkeypatch):
    from eval.figures import _save
    from pipeline.models import create_backend

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(
        os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd))[1]
    )
    tiny = {"resolution": 16, "block_out_channels": (8, 16), "token_dim": 16, "inference_steps": 2}
    create_backend("compact", ["a", "b"], tiny).save(tmp_path / "m")
    import matplotlib.pyplot as plt

    _save(plt.figure(), plt, tmp_path / "fig.png")
    names = [os.path.basename(path) for path in synced]
    assert any(name.startswith(".defectforge_model.json.") for name in names), names
    assert any(name.startswith(".fig.png.") for name in names), names
