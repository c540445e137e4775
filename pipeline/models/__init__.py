"""Generator backends behind one interface: `compact` (in-project, CPU) and `sd15` (pretrained)."""

from __future__ import annotations

from pathlib import Path

from conditioning.errors import DefectforgeError
from pipeline.models.base import CropBatch, GeneratorBackend, model_revision, read_model_meta

BACKENDS = ("compact", "sd15")


def create_backend(name: str, classes: list[str], config: dict | None = None) -> GeneratorBackend:
    """A fresh (untrained or pretrained-base) backend of kind `name`."""
    if name == "compact":
        from pipeline.models.compact import CompactBackend

        return CompactBackend.create(classes, config or {})
    if name == "sd15":
        from pipeline.models.sd15 import SD15Backend

        return SD15Backend.create(classes, config or {})
    raise DefectforgeError(f"backend: unknown value {name!r}; choose one of {', '.join(BACKENDS)}.")


def load_backend(path: str | Path) -> GeneratorBackend:
    """Load a saved generator folder (any backend)."""
    meta = read_model_meta(Path(path))
    if meta["backend"] == "compact":
        from pipeline.models.compact import CompactBackend

        return CompactBackend.load(Path(path))
    if meta["backend"] == "sd15":
        from pipeline.models.sd15 import SD15Backend

        return SD15Backend.load(Path(path))
    raise DefectforgeError(f"{path}: backend {meta['backend']!r} unknown; choose one of {BACKENDS}.")


__all__ = ["BACKENDS", "CropBatch", "GeneratorBackend", "create_backend", "load_backend", "model_revision"]
