"""Check a saved model folder's files before torch reads them, so a broken one is named."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from conditioning.errors import DefectforgeError

MAX_HEADER_BYTES = 100_000_000
"""safetensors' own limit on the JSON header."""


def read_json_object(file: Path, what: str) -> dict[str, Any]:
    """A JSON object from `file`; DefectforgeError naming the file and what it should hold."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise DefectforgeError(
            f"{file}: cannot read {what}: {type(error).__name__}: {error}; "
            "retrain the model or restore the file"
        ) from None
    if not isinstance(data, dict):
        raise DefectforgeError(f"{file}: {what} must be a JSON object (got {type(data).__name__})")
    return data


def check_safetensors(folder: Path) -> None:
    """Every `*.safetensors` under `folder` has a readable header and all the bytes it declares."""
    for file in sorted(folder.rglob("*.safetensors")):
        problem = safetensors_problem(file)
        if problem:
            raise DefectforgeError(
                f"{file}: broken weights file ({problem}); retrain the model or restore the file"
            )


def safetensors_problem(file: Path) -> str | None:
    """Why `file` is not a whole safetensors file (truncated, bad header); None if it is."""
    size = file.stat().st_size
    with file.open("rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            return f"{size} bytes, shorter than a header"
        (length,) = struct.unpack("<Q", head)
        if length > min(MAX_HEADER_BYTES, size - 8):
            return f"header of {length} bytes does not fit in the file's {size} bytes (truncated?)"
        try:
            header = json.loads(handle.read(length))
        except ValueError:
            return "header is not JSON"
    if not isinstance(header, dict):
        return "header is not a JSON object"
    ends = [
        entry["data_offsets"][1]
        for name, entry in header.items()
        if name != "__metadata__" and isinstance(entry, dict) and "data_offsets" in entry
    ]
    needed = 8 + length + max(ends, default=0)
    if size < needed:
        return f"{size} bytes, its header declares {needed} (truncated)"
    return None
