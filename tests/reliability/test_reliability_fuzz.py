"""Seeded fuzzing (hypothesis, derandomized): 1,000 hostile specs and 100 hostile COCO files per
run; each must give a located error, no traceback, no hang over 5 s, no read outside its folder.
The cases run in one long-lived worker process (`eval.reliability.fuzz_worker`), as in the long
form `python -m eval.bench_reliability`."""

from __future__ import annotations

import os
import random
import signal
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from eval.reliability.fuzz_run import fuzz, prepare_folder
from eval.reliability.fuzz_worker import FuzzWorker
from eval.reliability.spec_fuzz import SPEC_MUTATIONS, base_specs, mutated_spec

SPECS, COCO_FILES, LIMIT_S = 1000, 100, 5.0
SEEDED = settings(max_examples=1, derandomize=True, database=None, deadline=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
"""One hypothesis example, the same every run: it draws the run's first seed, case i uses seed
first + i. No shrinking (it would rerun the whole loop): a failure names its cases' seeds."""


def _fuzz(kind: str, first: int, count: int):
    with tempfile.TemporaryDirectory() as scratch:
        return fuzz(kind, range(first, first + count), Path(scratch), LIMIT_S)


@pytest.mark.slow
@SEEDED
@given(st.integers(0, 2**32 - 1))
def test_hostile_specs_are_all_located_errors(first):
    tally = _fuzz("spec", first, SPECS)
    assert tally.total == SPECS
    assert dict(tally.outcomes) == {"located": SPECS}, tally.examples


@SEEDED
@given(st.integers(0, 2**32 - 1))
def test_hostile_coco_files_are_all_located_problems(first):
    tally = _fuzz("coco", first, COCO_FILES)
    assert tally.total == COCO_FILES
    assert dict(tally.outcomes) == {"located": COCO_FILES}, tally.examples


def test_a_case_that_never_answers_is_a_hang_and_the_next_case_gets_a_fresh_worker(tmp_path):
    with FuzzWorker(prepare_folder(tmp_path), limit=1.0) as worker:
        assert worker.run("coco", 0)[1].outcome == "located"
        stuck = worker.pid
        os.kill(stuck, signal.SIGSTOP)  # as a loader stuck in C code: it can never answer
        assert worker.run("coco", 1)[1].outcome == "hang"
        assert worker.run("coco", 1)[1].outcome == "located"
        assert worker.pid != stuck


def test_a_worker_that_dies_is_a_crash_and_the_next_case_gets_a_fresh_worker(tmp_path):
    with FuzzWorker(prepare_folder(tmp_path), limit=LIMIT_S) as worker:
        assert worker.run("spec", 0)[1].outcome == "located"
        dead = worker.pid
        os.kill(dead, signal.SIGSEGV)  # as a segfault inside a C extension
        mutation, result = worker.run("spec", 1)
        assert (mutation, result.outcome) == ("spec", "crash"), result
        assert "-11" in result.detail
        assert worker.run("spec", 1)[1].outcome == "located"
        assert worker.pid != dead


def test_the_unmutated_inputs_are_accepted(tmp_path):
    """The fuzzer's findings mean something only if its starting points are valid."""
    from conditioning.spec import load_library
    from eval.reliability.coco_fuzz import base_coco
    from pipeline.data.atomic import write_json
    from pipeline.data.coco_check import check_coco

    case = prepare_folder(tmp_path)
    for index, text in enumerate(base_specs()):
        (case / f"base{index}.yaml").write_text(text)
        load_library(case / f"base{index}.yaml")
    assert check_coco(write_json(case / "base.json", base_coco(4))).ok


def test_every_mutation_kind_is_exercised():
    rng, bases = random.Random(0), base_specs()
    with tempfile.TemporaryDirectory() as scratch:
        case = prepare_folder(Path(scratch))
        seen = {mutated_spec(rng, bases, case)[0].split("+")[-1] for _ in range(300)}
    assert seen == set(SPEC_MUTATIONS)
