"""Region mask files of a spec: confined to the spec's folder, bounded, decodable images."""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from PIL import Image

from conditioning.errors import DefectforgeError

MAX_MASK_BYTES = 50_000_000
"""Largest region mask file read (a 4k x 4k PNG is a few MB)."""
MAX_MASK_PIXELS = 64_000_000
"""Largest region mask, in pixels, decoded."""


def region_mask_problem(base_dir: Path, mask: str) -> str | None:
    """Why `mask` (relative to `base_dir`, the spec's folder) is not a usable mask; None if it is."""
    fix = "give a PNG path relative to the spec file, inside its folder"
    if not mask.strip() or "\x00" in mask:
        return f"empty or invalid path; {fix}"
    pure = PurePosixPath(mask)
    if pure.is_absolute() or PureWindowsPath(mask).is_absolute() or mask.startswith("~"):
        return f"absolute path `{_short(mask)}` is not allowed; {fix}"
    if ".." in pure.parts or ".." in PureWindowsPath(mask).parts:
        return f"`..` in `{_short(mask)}` leaves the spec's folder; {fix}"
    base = base_dir.resolve()
    path = (base / mask).resolve()
    if not path.is_relative_to(base):
        return f"`{_short(mask)}` resolves outside the spec's folder (a link?); {fix}"
    if not path.is_file():
        return f"mask file `{_short(mask)}` not found in {base}; {fix}"
    if path.stat().st_size > MAX_MASK_BYTES:
        return f"mask file `{_short(mask)}` is larger than {MAX_MASK_BYTES:,} bytes"
    return _decode_problem(path, mask)


def region_mask_path(base_dir: Path, mask: str) -> Path:
    """The checked file of a region mask; DefectforgeError naming the problem otherwise."""
    problem = region_mask_problem(base_dir, mask)
    if problem:
        raise DefectforgeError(f"region mask `{_short(mask)}`: {problem}")
    return (base_dir.resolve() / mask).resolve()


def _decode_problem(path: Path, mask: str) -> str | None:
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_MASK_PIXELS:
                return (
                    f"mask `{_short(mask)}` is {image.width}x{image.height} pixels "
                    f"(at most {MAX_MASK_PIXELS:,})"
                )
            image.convert("L").load()
    except Exception as error:  # noqa: BLE001 - any decoder failure means "not an image"
        return f"mask file `{_short(mask)}` cannot be decoded as an image ({type(error).__name__})"
    return None


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."
