"""Generate a labelled synthetic set: bundles on clean backgrounds -> rendered, gated images + COCO.

Resumable: every sample has a deterministic id `<spec_hash>-<seed>-<index>`; a finished sample
(its PNG and its record JSON, both written atomically) is skipped on rerun. `generate_range` writes
the samples of some indices (a campaign runs ranges in parallel); `assemble_set` builds the COCO
file and summary from the finished ones; `generate_set` does both over a whole set.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm

from conditioning.errors import DefectforgeError
from pipeline.models.weights_check import read_json_object
from pipeline.render import Job, RenderConfig, Rendered, render

if TYPE_CHECKING:
    from pipeline.labels.style import AnnotationStyle


@dataclass
class GenerationSummary:
    """What one `generate_set` run produced."""

    out_dir: str
    count: int
    generated_now: int
    skipped: int
    placement_failed: int
    images_in_coco: int
    image_pass_rate: float
    instance_pass_rate: float
    strict_rejected: int  # instances rejected by the flip / direction rules that min_contrast alone passed
    unlabelled: int  # instances that changed no pixel of their dilated mask: no label written
    mean_box_changed: float  # changed fraction of each mask's tight box
    mean_coco_box_changed: float  # changed fraction of each written COCO box (real DeepPCB: about 0.11)
    images_per_second: float
    seconds: float
    revision: str


@dataclass
class RangeResult:
    """What one `generate_range` call did."""

    ids: list[str]  # the sample ids of its indices, in order
    revision: str
    todo: int  # samples that were unfinished when it started
    placement_failed: int  # of those, samples no background could take
    seconds: float


def render_settings(config: RenderConfig | dict | None, *, origin: str = "generation settings",
                    prefix: str = "") -> RenderConfig:
    """The render settings; a wrong value fails as `origin: <prefix>field: message (got value)`."""
    from pydantic import ValidationError

    if isinstance(config, RenderConfig):
        return config
    try:
        return RenderConfig(**(config or {}))
    except ValidationError as error:
        problems = "; ".join(f"{prefix}{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e.get('input')!r})"
                             for e in error.errors())
        raise DefectforgeError(f"{origin}: {problems}") from None


def generate_set(
    dataset: str,
    spec_path: str | Path,
    model_dir: str | Path,
    count: int,
    out_dir: str | Path,
    *,
    seed: int = 0,
    budget_path: str | Path | None = None,
    config: RenderConfig | dict | None = None,
    keep_rejected: bool = False,
    progress: bool = True,
) -> GenerationSummary:
    """Write `count` samples to `out_dir/images`, `annotations.json` (COCO) and `summary.json`
    (backgrounds per `config.onto`: clean ones, or the budget's real defect images)."""
    run = generate_range(dataset, spec_path, model_dir, range(count), out_dir, seed=seed,
                         budget_path=budget_path, config=config, progress=progress)
    return assemble_set(dataset, model_dir, out_dir, run, keep_rejected=keep_rejected)


def generate_range(
    dataset: str,
    spec_path: str | Path,
    model_dir: str | Path,
    indices: range,
    out_dir: str | Path,
    *,
    seed: int,
    budget_path: str | Path | None = None,
    config: RenderConfig | dict | None = None,
    backend: Any = None,
    revision: str | None = None,
    progress: bool = True,
) -> RangeResult:
    """Render and write the unfinished samples of `indices` (PNG, then record JSON, both atomic).

    `backend`: the model of `model_dir` already loaded on its device (None: load it here);
    `revision`: its `model_revision` when the caller has it (hashing large weights is slow).
    """
    from conditioning.spec import check_classes, load_library
    from pipeline.data.prepared import PreparedDataset
    from pipeline.labels.real_examples import examples_for
    from pipeline.labels.style import learn_style
    from pipeline.models import load_backend, model_revision
    from pipeline.training_data import background_pool, budget_records, defective_backgrounds

    cfg = render_settings(config)
    out, model_dir = Path(out_dir), Path(model_dir)
    # 1. spec, dataset, unfinished sample ids; then the k real images (label style, real shapes),
    #    the model and backgrounds (budget clean references)
    library = load_library(spec_path)
    prepared = PreparedDataset(dataset)
    check_classes(library, prepared.info.class_names)
    started = time.time()
    ids = {i: f"{library.content_hash}-{seed}-{i:06d}" for i in indices}
    todo = [i for i, sid in ids.items() if not (out / "records" / f"{sid}.json").is_file()]
    if not todo:  # a finished range: no model to load, nothing to render
        return RangeResult(list(ids.values()), revision or model_revision(model_dir), 0, 0, 0.0)
    _check_learned(library, model_dir)
    real = budget_records(prepared, budget_path)  # before the model: a spec it cannot serve fails fast
    style = learn_style(real, library.foreground)  # boxes as the k real images' annotators drew
    real_sizes = {name: c.sizes for name, c in style.classes.items()}  # size `learned` regions
    examples = examples_for(library, real)  # shape `real` defects
    if backend is None:
        backend = load_backend(model_dir).to("cuda" if torch.cuda.is_available() else "cpu")
    _check_model_classes(backend.classes, library.classes, model_dir)
    revision = revision or model_revision(model_dir)
    if backend.name == "sd15":
        backend.config.prompts.update({d.class_name: d.prompt for d in reversed(library.defects) if d.prompt})
    cfg = _with_card(cfg, model_dir)
    if prepared.manifest.get("greyscale") and cfg.greyscale is None:
        cfg = cfg.model_copy(update={"greyscale": True})
    if cfg.onto == "clean":
        backgrounds, existing = background_pool(prepared, budget_path, neighbours=cfg.pool_neighbours, seed=seed), {}
    else:
        backgrounds, existing = defective_backgrounds(prepared, budget_path)
    if not backgrounds:
        raise DefectforgeError(
            f"dataset {dataset!r}: no clean reference or defect-free train image to draw defects on; "
            "set `clean_reference: inpaint` in its dataset.yaml and prepare it again (--force)"
        )
    # 2. the samples still to do, in batches
    failed = 0
    bar = tqdm(total=len(todo), desc="generate", disable=not progress)
    for start in range(0, len(todo), cfg.batch_size):
        chunk = todo[start : start + cfg.batch_size]
        jobs, metas = _bundles(library, backgrounds, ids, chunk, seed, existing, real_sizes, examples)
        failed += len(chunk) - len(jobs)
        for job, meta, result in zip(jobs, metas, render(backend, jobs, cfg), strict=True):
            _write_sample(out, job, meta, result, (backend.name, revision), style, cfg)
        bar.update(len(chunk))
    bar.close()
    return RangeResult(list(ids.values()), revision, len(todo), failed, time.time() - started)


def finished_records(out_dir: str | Path, ids: list[str]) -> list[dict]:
    """The record JSONs of the finished samples among `ids`, in order."""
    files = [Path(out_dir) / "records" / f"{sid}.json" for sid in ids]
    return [_read_record(file) for file in files if file.is_file()]


def _read_record(file: Path) -> dict:
    record = json.loads(file.read_text())
    if any("bbox" not in instance for instance in record["instances"]):
        raise DefectforgeError(
            f"{file}: a sample record without instance `bbox` (written by an older defectforge, "
            "whose boxes followed another rule); generate into a fresh --out folder."
        )
    return record


def assemble_set(
    dataset: str, model_dir: str | Path, out_dir: str | Path, run: RangeResult, *, keep_rejected: bool = False
) -> GenerationSummary:
    """Write `annotations.json` (COCO: the gate-passed finished samples of `run.ids`, or all with
    `keep_rejected`) and `summary.json`; returns the summary."""
    from pipeline.data.atomic import write_json
    from pipeline.data.coco_writer import write_coco
    from pipeline.data.prepared import PreparedDataset

    out, prepared = Path(out_dir), PreparedDataset(dataset)
    records = finished_records(out, run.ids)
    kept = [_image_record(out, rec, prepared) for rec in records if rec["passed"] or keep_rejected]
    write_coco(out / "annotations.json", kept, prepared.info.coco_categories(),
               info={"description": "defectforge synthetic set", "revision": run.revision})
    instances = [i for rec in records for i in rec["instances"]]
    verdicts = [i["gate"] for i in instances]
    generated = run.todo - run.placement_failed
    summary = GenerationSummary(
        out_dir=str(out), count=len(run.ids), generated_now=generated, skipped=len(run.ids) - run.todo,
        placement_failed=run.placement_failed, images_in_coco=len(kept),
        image_pass_rate=round(sum(rec["passed"] for rec in records) / max(1, len(records)), 4),
        instance_pass_rate=_mean(verdicts, "passed"),
        strict_rejected=sum(not v["passed"] and v["contrast_rule_passed"] for v in verdicts),
        unlabelled=sum(i["rle"] is None for i in instances), mean_box_changed=_mean(verdicts, "box_changed"),
        mean_coco_box_changed=_mean([v for v in verdicts if "coco_box_changed" in v], "coco_box_changed"),
        images_per_second=round(generated / run.seconds, 3) if run.seconds > 0 else 0.0,
        seconds=round(run.seconds, 2), revision=run.revision,
    )
    write_json(out / "summary.json", asdict(summary))
    return summary


def _with_card(cfg: RenderConfig, model_dir: Path) -> RenderConfig:
    """`cfg` with the model card's palette and class directions where it sets none."""
    file = model_dir / "model_card.json"
    card = read_json_object(file, "the model card") if file.is_file() else {}
    update = {key: card[field] for key, field in (("palette", "palette"), ("directions", "class_directions"))
              if getattr(cfg, key) is None and card.get(field)}
    return RenderConfig(**{**cfg.model_dump(), **update}) if update else cfg


def _check_model_classes(model_classes: list[str], spec_classes: list[str], model_dir: Path) -> None:
    if list(model_classes) != list(spec_classes):
        raise DefectforgeError(
            f"{model_dir}: the model was trained on classes {model_classes}, the spec has "
            f"{spec_classes}; train a model on this dataset (`defectforge train`)."
        )


def _check_learned(library, model_dir: Path) -> None:
    """A spec with `kind: learned` defects needs a model trained on loose regions."""
    from conditioning.masks.learned import LEARNED

    names = [d.name for d in library.defects if d.kind == LEARNED]
    file = model_dir / "model_card.json"
    card = read_json_object(file, "the model card") if file.is_file() else {}
    if names and not card.get("train_config", {}).get("learned_regions"):
        raise DefectforgeError(
            f"{model_dir}: defects {names} are `kind: learned`, but this model was not trained to draw "
            "shapes in loose regions; train one with `learned_regions: true` (a --config YAML of "
            "`defectforge train`, or `train:` of a campaign)."
        )


def _bundles(library, backgrounds: list[Path], ids: dict[int, str], chunk: list[int], seed: int,
             existing: dict[str, list], real_sizes: dict[str, list], examples: dict[str, list]):
    """Conditioning bundles of the chunk's samples: sample i starts from backgrounds[i mod n], as
    the procedural arm does, so a set covers them as evenly as placement allows; its defects come
    from its own seed; on a real defect image (`existing`: its instances) new defects keep away from its own;
    `real_sizes` (per class, the real defect boxes) size `learned` regions, `examples` (per class,
    the real defects' shapes) shape `real` defects."""
    from conditioning.bundle import bundle_on_backgrounds
    from conditioning.masks.learned import LEARNED
    from pipeline.data.records import defect_pixels, load_rgb

    def occupied(path: Path):
        return defect_pixels(existing[str(path)]) if existing else None

    jobs, metas = [], []
    for index in chunk:
        sample_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
        try:
            background_path, background, bundle = bundle_on_backgrounds(
                library, backgrounds, index, sample_seed, load_rgb, image_id=ids[index], occupied=occupied,
                real_sizes=real_sizes, real_examples=examples)
        except DefectforgeError:
            continue
        instances = [(d.class_name, d.mask, float(d.severity)) for d in bundle.instances]
        jobs.append(Job(background, instances, sample_seed, [d.kind == LEARNED for d in bundle.instances]))
        kept = [{"class_name": i.class_name, "rle": i.to_rle(), "bbox": list(i.bbox_xywh)}
                for i in existing.get(str(background_path), [])]
        metas.append({"id": ids[index], "background": str(background_path), "spec_hash": bundle.spec_hash,
                      "seed": sample_seed, "kinds": [d.kind for d in bundle.instances], "kept": kept})
    return jobs, metas


def _write_sample(out: Path, job: Job, meta: dict, result: Rendered, model: tuple[str, str],
                  style: AnnotationStyle, cfg: RenderConfig) -> None:
    """The PNG, then the record JSON (its presence marks the sample finished). Each instance's label
    is its rendered label mask (`rle`; None when nothing changed) and the box `style` draws around it
    (`bbox`), fixed here once; its intended mask is kept as `spec_rle`."""
    from pipeline.data.atomic import write_json, write_png
    from pipeline.data.records import encode_mask
    from pipeline.gate import change_map

    backend_name, revision = model
    image_file = out / "images" / f"{meta['id']}.png"
    write_png(image_file, result.image[..., 0] if cfg.greyscale else result.image)
    changed = change_map(result.image, job.background) > cfg.gate.change_threshold
    foreground = style.foreground(job.background)
    instances = []
    for index, ((c, m, s), label, kind, v, a) in enumerate(
        zip(job.instances, result.labels, meta["kinds"], result.verdicts, result.attempts, strict=True)
    ):
        instance = {"class_name": c, "kind": kind, "severity": s, "rle": None, "bbox": None,
                    "spec_rle": encode_mask(m), "attempts": a, "gate": v.to_json()}
        if label.any():
            box = style.box_for(c, label, np.random.default_rng([meta["seed"], index]), foreground)
            x, y, w, h = (int(round(b)) for b in box)
            instance.update(rle=encode_mask(label), bbox=[float(b) for b in box])
            instance["gate"]["coco_box_changed"] = round(float(changed[y : y + h, x : x + w].mean()), 4)
        instances.append(instance)
    write_json(out / "records" / f"{meta['id']}.json", {
        **meta, "file": image_file.name, "height": result.image.shape[0], "width": result.image.shape[1],
        "generator": f"defectforge-{backend_name}", "revision": revision, "instances": instances,
        "passed": all(v.passed for v in result.verdicts),
    })


def _image_record(out: Path, rec: dict, prepared):
    """One finished sample's record JSON as a COCO image record (its labelled instances, with their
    stored boxes), with its provenance and gate."""
    from pipeline.data.records import KEPT_REAL, ImageRecord, InstanceRecord

    instances = [InstanceRecord(i["class_name"], prepared.info.category_id(i["class_name"]), rle=i["rle"],
                                bbox_xywh=i["bbox"],
                                extra={"gate": i["gate"], "severity": i["severity"], "kind": i["kind"],
                                       "attempts": i["attempts"]})
                 for i in rec["instances"] if i["rle"] is not None]
    instances += [InstanceRecord(k["class_name"], prepared.info.category_id(k["class_name"]), tuple(k["bbox"]),
                                 rle=k["rle"], extra={KEPT_REAL: True}) for k in rec.get("kept", [])]
    provenance = {"source": "defectforge", "spec_hash": rec["spec_hash"], "seed": rec["seed"],
                  "generator": rec["generator"], "revision": rec["revision"], "sample_id": rec["id"],
                  "gate_passed": rec["passed"]}
    return ImageRecord(out / "images" / rec["file"], Path(rec["background"]), rec["width"], rec["height"],
                       instances, provenance)


def _mean(verdicts: list[dict], key: str) -> float:
    return round(float(np.mean([v[key] for v in verdicts])) if verdicts else 0.0, 4)

