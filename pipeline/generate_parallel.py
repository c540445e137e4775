"""A generated set drawn by several processes side by side (`defectforge generate --workers N`).

The set's deterministic sample ids are split into ranges of whole batches, so each range renders
the batches a single process would: the same images, drawn N at a time. Each process loads the
model once onto its device (a GPU when there is one) and writes finished samples atomically, so
an interrupted run resumes; the parent assembles the COCO file when every range is done.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

if TYPE_CHECKING:
    from pipeline.generate import GenerationSummary, RangeResult

SPAWN = multiprocessing.get_context("spawn")  # no fork of a parent holding torch threads
BATCHES_PER_RANGE = 2
"""Batches a process renders before it takes the next range (small ranges spread the work evenly)."""


@lru_cache(maxsize=2)
def cached_backend(model_dir: str, revision: str) -> Any:
    """The generator of `model_dir` at `revision`, loaded once per process onto its device (a model
    retrained in place has a new revision, so it is reloaded)."""
    import torch

    from pipeline.models import load_backend

    return load_backend(model_dir).to("cuda" if torch.cuda.is_available() else "cpu")


def generate_set_in_processes(
    dataset: str,
    spec_path: str | Path,
    model_dir: str | Path,
    count: int,
    out_dir: str | Path,
    *,
    workers: int,
    seed: int = 0,
    budget_path: str | Path | None = None,
    config: dict[str, Any] | None = None,
    keep_rejected: bool = False,
    progress: bool = True,
) -> GenerationSummary:
    """`pipeline.generate.generate_set` with `workers` processes drawing its ranges; the summary's
    images/s is the set's wall-clock rate."""
    from pipeline.generate import RangeResult, assemble_set, render_settings
    from pipeline.models import model_revision
    from pipeline.threads import available_cores

    settings = render_settings(config)  # wrong settings fail here, before any process starts
    revision = model_revision(model_dir)
    size = settings.batch_size * BATCHES_PER_RANGE
    ranges = [range(start, min(start + size, count)) for start in range(0, count, size)]
    threads = max(1, available_cores() // workers)
    started, runs = time.time(), {}
    bar = tqdm(total=count, desc=f"generate ({workers} processes)", disable=not progress)
    with ProcessPoolExecutor(max_workers=max(1, min(workers, len(ranges))), mp_context=SPAWN,
                             initializer=_start_worker, initargs=(threads,)) as pool:
        futures = {pool.submit(draw_range, dataset, str(spec_path), str(model_dir), indices, str(out_dir),
                               seed, budget_path and str(budget_path), settings.model_dump(), revision): indices.start
                   for indices in ranges}
        try:
            for future in as_completed(futures):
                runs[futures[future]] = run = future.result()
                bar.update(len(run.ids))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            bar.close()
    done = [runs[start] for start in sorted(runs)]
    run = RangeResult([sid for r in done for sid in r.ids], revision, sum(r.todo for r in done),
                      sum(r.placement_failed for r in done), time.time() - started)
    return assemble_set(dataset, model_dir, out_dir, run, keep_rejected=keep_rejected)


def _start_worker(threads: int) -> None:
    """A drawing process: its share of the cores as torch threads."""
    from pipeline.threads import use_threads

    use_threads(threads)


def draw_range(dataset: str, spec_path: str | Path, model_dir: str | Path, indices: range, out_dir: str | Path,
               seed: int, budget_path: str | Path | None, settings: dict[str, Any] | None,
               revision: str) -> RangeResult:
    """The unfinished samples of `indices`, rendered with this process's cached model (`revision`:
    `pipeline.models.model_revision`, computed once by the caller: hashing large weights is slow)."""
    from pipeline.generate import generate_range

    return generate_range(dataset, spec_path, model_dir, indices, out_dir, seed=seed, budget_path=budget_path,
                          config=settings, backend=cached_backend(str(model_dir), revision), revision=revision,
                          progress=False)
