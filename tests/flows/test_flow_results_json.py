"""Prefect task results are stored as JSON, never pickled (a shared results folder carries no code)."""

from __future__ import annotations

from prefect import Task

from flows import tasks
from pipeline.offline import OFFLINE_FLAGS


def test_every_persisted_task_result_is_json():
    persisted = [t for t in vars(tasks).values() if isinstance(t, Task) and t.persist_result]
    assert len(persisted) >= 6
    assert {t.name: t.result_serializer for t in persisted} == {t.name: "json" for t in persisted}
    assert OFFLINE_FLAGS["PREFECT_RESULTS_DEFAULT_SERIALIZER"] == "json"
