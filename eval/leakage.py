"""Leakage guard: no test image may reach training or generation, and synthetic arms may only
read the k training images and their clean references.

Images are compared by a hash of their decoded pixels, so a renamed or re-encoded copy of a
test image is still caught.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path

from conditioning.errors import DefectforgeError
from pipeline.data.records import load_rgb


def pixel_hash(path: Path) -> str:
    """sha256 (first 16 hex) of an image's decoded RGB pixels and shape."""
    if not Path(path).is_file():
        raise DefectforgeError(f"{path}: image listed as a training or generation input is missing")
    stat = Path(path).stat()
    return _pixel_hash(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=65536)
def _pixel_hash(path: str, mtime_ns: int, size: int) -> str:
    pixels = load_rgb(path)
    digest = hashlib.sha256(str(pixels.shape).encode())
    digest.update(pixels.tobytes())
    return digest.hexdigest()[:16]


class LeakageGuard:
    """Knows the test images and the allowed inputs (the k images and their clean references)."""

    def __init__(self, test_images: Iterable[Path], allowed_inputs: Iterable[Path] = ()) -> None:
        self.test = {pixel_hash(Path(p)): Path(p) for p in test_images}
        self.allowed = {pixel_hash(Path(p)) for p in allowed_inputs}

    def check_no_test(self, paths: Iterable[Path], role: str) -> int:
        """Fail if any of `paths` has the pixels of a test image; returns how many were checked."""
        count = 0
        for path in paths:
            match = self.test.get(pixel_hash(Path(path)))
            if match is not None:
                raise DefectforgeError(
                    f"{path}: leakage: this {role} image has the same pixels as test image "
                    f"{match}. Remove it from the {role} data (or from the test split) and rerun."
                )
            count += 1
        return count

    def check_inputs(self, paths: Iterable[Path], role: str) -> int:
        """Fail unless every input is one of the k training images or their clean references."""
        paths = list(paths)
        self.check_no_test(paths, role)
        for path in paths:
            if pixel_hash(Path(path)) not in self.allowed:
                raise DefectforgeError(
                    f"{path}: leakage: the {role} read an image that is not one of the k real "
                    "training images or their clean references. Generate from the same budget "
                    "(--budget PATH) or regenerate the set from it."
                )
        return len(paths)
