"""The comparison arms: one function per arm, one signature, one registry.

Each arm gets the k real training images and returns the synthetic set it adds (None for the
real-only reference). Every synthetic set is written as COCO (pipeline/data/coco_writer) and
lists the files it read, so the leakage guard can check them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from tqdm.auto import tqdm

from conditioning.errors import DefectforgeError
from eval.synthetic import (
    MIN_INSTANCE_PIXELS,
    SyntheticSet,
    instances_from_masks,
    synthetic_count,
    write_synthetic,
)
from pipeline.data.records import ImageRecord, InstanceRecord, defect_pixels
from pipeline.labels.style import AnnotationStyle, grow_box, learn_style
from pipeline.labels.visible import changed_pixels, visible_mask


@dataclass(frozen=True)
class ArmInputs:
    """What every arm may use: the k real images (with clean references) and its settings."""

    dataset: str
    train: list[ImageRecord]
    categories: list[dict[str, Any]]
    out_dir: Path
    seed: int
    ratio: float
    spec_path: Path | None = None
    generated: Path | None = None
    generator_model: Path | None = None
    budget_path: Path | None = None
    onto: Literal["clean", "defective"] = "clean"
    """Where the copypaste, procedural and (generated here) diffusion arms draw: the k images'
    clean references, or the k real defect images themselves (new defects clear of the real
    ones, whose labels are kept: `pipeline.data.records.InstanceRecord.kept_real`)."""

    @property
    def count(self) -> int:
        return synthetic_count(self.ratio, len(self.train))

    def samples(self, arm: str) -> Iterable[int]:
        """The sample indices 0..count-1, with a progress bar (a set of thousands takes minutes)."""
        return tqdm(range(self.count), desc=f"{arm} seed {self.seed}", unit="image")

    def backgrounds(self) -> list[ImageRecord]:
        """The k images the arm draws on (`onto`): those with a clean reference, or with defects."""
        if self.onto == "defective":
            return [r for r in self.train if r.instances]
        return [r for r in self.train if r.clean_path is not None]

    def background_path(self, record: ImageRecord) -> Path:
        """The image a drawn sample starts from (recorded as its clean reference, as generation does)."""
        return record.image_path if self.onto == "defective" else record.clean_path

    def background_image(self, record: ImageRecord) -> np.ndarray:
        return record.load_image() if self.onto == "defective" else record.load_clean()

    def kept(self, record: ImageRecord) -> list[InstanceRecord]:
        """The real labels a drawn image keeps: the background's own defects (`onto: defective`)."""
        return [i.kept_on_drawn_image() for i in record.instances] if self.onto == "defective" else []

    def occupied(self, record: ImageRecord) -> np.ndarray | None:
        """Pixels new defects keep clear of: the background's own defects (`onto: defective`)."""
        return defect_pixels(record.instances) if self.onto == "defective" else None

    def style(self, polarity: str | None) -> AnnotationStyle:
        """The annotation style of the k real images (every synthetic box is drawn in it), with
        each real box's lean toward or away from the part's foreground when `polarity` is given."""
        return learn_style(self.train, polarity)

    def rng(self, index: int) -> np.random.Generator:
        """The random stream of sample `index` of this seed (labels of one sample)."""
        return np.random.default_rng([self.seed, index])

    def provenance(self, arm: str, index: int, spec_hash: str | None = None) -> dict[str, Any]:
        return {"source": arm, "spec_hash": spec_hash, "seed": self.seed, "generator": arm,
                "revision": None, "sample": index}


ArmFn = Callable[[ArmInputs], SyntheticSet | None]


def real_only(inputs: ArmInputs) -> None:
    """The reference: the k real images and nothing else."""
    return None


def augment(inputs: ArmInputs) -> SyntheticSet:
    """Real images re-drawn through classic albumentations transforms; each label keeps its real
    box, carried through the transform."""
    from eval.augment import augment_record, build_transform

    transform = build_transform(inputs.seed)
    samples, sources = [], []
    for i in inputs.samples("augment"):
        record = inputs.train[i % len(inputs.train)]
        image, instances = augment_record(transform, record)
        samples.append((image, instances, inputs.provenance("augment", i)))
        sources.append(record.image_path)
    return write_synthetic(inputs.out_dir, samples, inputs.categories, inputs=sources)


def copypaste(inputs: ArmInputs) -> SyntheticSet:
    """Real defects (by mask) pasted onto the clean references of the k images (or onto the k
    defect images, clear of their own defects: `onto`); each label is the pixels the paste changed,
    boxed with the margins its real annotator drew."""
    from eval.copypaste import cut_patches, paste_defects

    patches = cut_patches(inputs.train)
    backgrounds = inputs.backgrounds()
    if not patches or not backgrounds:
        raise DefectforgeError(
            f"dataset {inputs.dataset!r}: the copy-paste arm needs training images with defects "
            "and clean references; drop `copypaste` from --arms for this dataset"
        )
    per_image = [len(r.instances) for r in inputs.train if r.instances]
    ids = {c["name"]: int(c["id"]) for c in inputs.categories}
    rng = np.random.default_rng(inputs.seed)
    samples, clean_paths = [], []
    for i in inputs.samples("copypaste"):
        record = backgrounds[i % len(backgrounds)]
        chosen = [patches[j] for j in rng.choice(len(patches), int(rng.choice(per_image)))]
        background = inputs.background_image(record)
        image, pasted = paste_defects(background, chosen, rng, occupied=inputs.occupied(record))
        changed = changed_pixels(image, background)
        instances = inputs.kept(record)
        for patch, mask in pasted:
            label = visible_mask(mask, changed)
            if int(label.sum()) >= MIN_INSTANCE_PIXELS:
                instances.append(InstanceRecord(patch.class_name, ids[patch.class_name],
                                                grow_box(label, patch.margins), mask=label))
        samples.append((image, instances, inputs.provenance("copypaste", i)))
        clean_paths.append(inputs.background_path(record))
    return write_synthetic(inputs.out_dir, samples, inputs.categories, inputs=_sources(inputs, clean_paths),
                           clean_paths=clean_paths)


def procedural(inputs: ArmInputs) -> SyntheticSet:
    """The spec's masks (conditioning.bundle) painted onto clean references (or onto the k defect
    images, clear of their own defects: `onto`), no model; each label is what the paint visibly
    changed, boxed in the dataset's annotation style."""
    from conditioning.bundle import bundle_on_backgrounds
    from conditioning.masks.learned import LEARNED
    from conditioning.spec import load_library
    from eval.procedural import class_colours, paint_instances
    from pipeline.labels.real_examples import examples_for

    library = load_library(_spec(inputs))
    learned = [d.name for d in library.defects if d.kind == LEARNED]
    if learned:
        raise DefectforgeError(
            f"{_spec(inputs)}: defects {learned} are `kind: learned` (a region a model draws the "
            "shape in); the procedural arm paints spec shapes only: give it a spec without them "
            "(--spec PATH) or drop `procedural` from --arms")
    colours = class_colours(inputs.train)
    backgrounds = inputs.backgrounds()
    if not backgrounds:
        lacking = "defect images in its budget" if inputs.onto == "defective" else (
            "clean references (draw onto the real defect images instead: --onto defective)")
        raise DefectforgeError(
            f"dataset {inputs.dataset!r} has no {lacking}; drop `procedural` from --arms")
    style = inputs.style(library.foreground)
    examples = examples_for(library, inputs.train)
    rng = np.random.default_rng(inputs.seed)
    samples, clean_paths = [], []
    for i in inputs.samples("procedural"):
        record, background, bundle = bundle_on_backgrounds(
            library, backgrounds, i, inputs.seed * 1_000_003 + i, inputs.background_image,
            seed_step=7919, occupied=inputs.occupied, real_examples=examples)
        masks = [(d.class_name, d.mask, d.severity) for d in bundle.instances]
        image = paint_instances(background, masks, colours, rng)
        changed = changed_pixels(image, background)
        instances = inputs.kept(record) + instances_from_masks(
            [(n, visible_mask(m, changed)) for n, m, _ in masks], inputs.categories, style, inputs.rng(i),
            style.foreground(background))
        samples.append((image, instances, inputs.provenance("procedural", i, bundle.spec_hash)))
        clean_paths.append(inputs.background_path(record))
    return write_synthetic(inputs.out_dir, samples, inputs.categories, inputs=_sources(inputs, clean_paths),
                           clean_paths=clean_paths)


def _sources(inputs: ArmInputs, clean_paths: list[Path]) -> list[Path]:
    """What a drawn set read (for the leakage guard): the k defect images and the backgrounds."""
    return [r.image_path for r in inputs.train if r.instances] + clean_paths


def diffusion(inputs: ArmInputs) -> SyntheticSet:
    """A generated set: `generated` (a folder with annotations.json; a {seed} in its path gives
    each training seed its own set) or made by generate_set.

    Its inputs for the leakage guard: the backgrounds it drew on and, when the model folder is
    known, the images the generator was trained on (model_card.json).
    """
    from eval.generated import SEED_FIELD, generator_training_images, load_generated, set_for_seed

    folder = None if inputs.generated is None else set_for_seed(inputs.generated, inputs.seed)
    shared = folder is not None and SEED_FIELD not in str(inputs.generated)
    if folder is None and inputs.generator_model is not None:
        from pipeline.generate import generate_set

        folder = inputs.out_dir / "generated"
        generate_set(inputs.dataset, _spec(inputs), inputs.generator_model,
                     GENERATE_FACTOR * inputs.count, folder, seed=inputs.seed,
                     budget_path=inputs.budget_path, config={"onto": inputs.onto})
    if folder is None:
        raise DefectforgeError(
            "--arms diffusion needs a generated set: pass --generated DIR (a folder made by "
            "`defectforge generate`) or --generator-model DIR"
        )
    synthetic = load_generated(Path(folder), inputs.out_dir, inputs.count, inputs.categories,
                               inputs.seed, shared=shared)
    if inputs.generator_model is not None:
        synthetic.inputs += generator_training_images(inputs.generator_model, inputs.train)
    return synthetic


GENERATE_FACTOR = 2
"""The diffusion arm generates this many times the images it needs, so that gate rejections do
not shrink its set (a smaller set would change its schedule); it keeps a seeded subset."""


def _spec(inputs: ArmInputs) -> Path:
    if inputs.spec_path is None or not Path(inputs.spec_path).is_file():
        raise DefectforgeError(
            f"{inputs.spec_path}: defect spec not found; pass --spec PATH or add "
            f"datasets/{inputs.dataset}/defects.yaml"
        )
    return Path(inputs.spec_path)


SPEC_ARMS = frozenset({"procedural", "diffusion"})
"""Arms whose synthetic set depends on the defect spec (a changed spec makes their sets stale)."""


DRAWN_ARMS = frozenset({"copypaste", "procedural", "diffusion"})
"""Arms that draw new defects (augment re-draws the real images; real adds nothing)."""


ARMS: dict[str, ArmFn] = {
    "real": real_only,
    "augment": augment,
    "copypaste": copypaste,
    "procedural": procedural,
    "diffusion": diffusion,
}
"""Arm name -> function; `real` is the reference every delta is measured against."""
