"""Content cache keys for Prefect tasks: a hash of the named inputs, never of time."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any


def content_hash(values: Any, length: int = 16) -> str:
    """sha256 of the canonical JSON of `values` (paths as strings), first `length` hex chars."""
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def key_on(*names: str) -> Callable[[Any, dict[str, Any]], str]:
    """A `cache_key_fn` hashing the task's name and the parameters `names` (content ids, ranges)."""

    def cache_key(context: Any, parameters: dict[str, Any]) -> str:
        task_name = context.task.name if context is not None else "task"
        return f"{task_name}-" + content_hash({name: parameters.get(name) for name in names}, 32)

    return cache_key
