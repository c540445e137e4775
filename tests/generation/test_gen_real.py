"""`kind: real` through generation: each defect's mask is one of the budget's real defects, turned
or mirrored, on a part that matches the clean part it was cut from; the label is what was drawn."""

import json

import numpy as np
import pytest

from conditioning.bundle import foreground_mask
from conditioning.masks.real import TOLERANCE
from conditioning.spec import load_library
from pipeline.data.prepared import PreparedDataset
from pipeline.data.records import decode_mask, load_rgb
from pipeline.generate import generate_set
from pipeline.labels.real_examples import real_examples
from pipeline.train import train_generator
from pipeline.training_data import budget_records


def _real_spec(classes: list[str], present: list[str]) -> str:
    defects = "".join(f"  - {{name: {c}-real, class: {c}, kind: real, count: [0, 1]}}\n" for c in present)
    return f"product: pcb\nclasses: [{', '.join(classes)}]\nmin_per_image: 1\ndefects:\n{defects}"


def _lands_on_its_part(example, mask: np.ndarray, foreground: np.ndarray) -> bool:
    """Whether `mask` (HxW) is `example`'s mask put somewhere on the image, on a part that
    differs from the example's own clean part in at most TOLERANCE of its pixels."""
    ey, ex = (int(a.min()) for a in np.nonzero(example.mask))
    ys, xs = np.nonzero(mask)
    y, x = int(ys.min()) - ey, int(xs.min()) - ex
    h, w = example.mask.shape
    if y < 0 or x < 0 or y + h > mask.shape[0] or x + w > mask.shape[1] or mask.sum() != example.mask.sum():
        return False
    placed = np.zeros_like(mask)
    placed[y : y + h, x : x + w] = example.mask
    return np.array_equal(placed, mask) and (foreground[y : y + h, x : x + w] != example.context).mean() <= TOLERANCE


@pytest.mark.slow
def test_gen_real_shapes_come_from_the_budget_and_land_on_a_matching_part(tmp_path, tiny_line, kit):
    spec, budget = tiny_line
    library = load_library(spec)
    records = budget_records(PreparedDataset("tiny"), budget)
    examples = real_examples(records, library.foreground)
    spec.write_text(_real_spec(library.classes, sorted(examples)))
    train = {"model": kit.tiny, "base_steps": 2, "control_steps": 2, "batch_size": 4, "clean_crops": 8}
    model = train_generator("tiny", budget, tmp_path / "model", config=train, progress=False)
    out = tmp_path / "gen"
    generate_set("tiny", spec, model, 4, out, seed=1, budget_path=budget, keep_rejected=True, progress=False,
                 config={"batch_size": 4, "gate": {"retries": 1}})
    drawn = 0
    for file in (out / "records").iterdir():
        record = json.loads(file.read_text())
        foreground = foreground_mask(load_rgb(record["background"]), library.foreground)
        for instance in record["instances"]:
            assert instance["kind"] == "real"
            mask = decode_mask(instance["spec_rle"])
            # 1. the mask is one of its class's real defects, turned or mirrored, 2. on a part
            # that matches the clean part around that real defect
            assert any(_lands_on_its_part(t, mask, foreground)
                       for e in examples[instance["class_name"]] for t in map(e.turned, range(8)))
            # 3. the label is the drawn pixels inside the mask
            if instance["rle"] is not None:
                assert not (decode_mask(instance["rle"]) & ~mask).any()
            drawn += 1
    assert drawn >= 4

