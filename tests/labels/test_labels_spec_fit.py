"""`defectforge spec fit` on a planted line: the procedural sample boards, whose real masks are
drawn in code, against a spec whose shapes are far off; the fitted spec's masks, placed afresh
with another seed, must match the real statistics within the parity tolerances."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from conditioning.bundle import foreground_mask
from conditioning.context import context_share
from conditioning.spec import DefectLibrary, IntRange, load_library
from conditioning.spec_edit import edit_text
from flows.cli import app
from pipeline.labels.fit_context import real_contexts
from pipeline.labels.fit_counts import RealCounts, count_changes, observed_count, planned
from pipeline.labels.fit_shapes import fit_shapes
from pipeline.labels.measure import measure_set
from pipeline.labels.shape_sim import simulate
from pipeline.labels.surface import real_records
from pipeline.labels.tolerances import TOLERANCES

PLANTED = """\
name: planted
license: test
format: sample
clean_reference: rendered
classes:
  - {id: 1, name: mousebite}
  - {id: 2, name: copper}
  - {id: 3, name: pin-hole}
layout:
  image_size: 128
  seed: 1
  defects_per_image: [1, 3]
  train: {boards: 40, defect_free: 2}
  test: {boards: 2, defect_free: 0}
"""
FAR_OFF = """\
# yaml-language-server: $schema=../defect-spec.schema.json
# Hand-written notes on this line: they must survive a fit.
product: planted
classes: [mousebite, copper, pin-hole]
min_distance: 6
max_per_image: 9              # a cap, far too high

defects:
  - name: bite                # rows of big bites: too large, too elongated
    class: mousebite
    kind: mousebite
    shape:
      radius: [6, 11]         # 4x the real bite radius
      bites: [4, 6]
    placement: {surface: edge}
    count: [2, 4]
    prompt: bites out of a trace edge

  - name: blob                # long thin blobs where real ones are near round
    class: copper
    kind: spurious_copper
    shape:
      radius: {min: 6, max: 18, dist: normal}
      roughness: [0.2, 0.5]
      aspect: [3, 4]
    placement: {surface: any, border: 10}   # real blobs lie on the substrate
    count: [0, 3]
    prompt: a stray copper blob

  - name: hole                # round and 3x too big
    class: pin-hole
    kind: pin_hole
    shape:
      radius: [4.5, 7.5]
    placement: {surface: foreground}
    count: 2
    prompt: a hole in copper
"""


@pytest.fixture
def planted(runs: Path, write_dataset, tmp_path: Path):
    """The prepared planted line, a k = 30 budget of it and the far-off spec."""
    from pipeline.data.budget import choose_real_budget, save_budget
    from pipeline.data.prepare import prepare_dataset
    from pipeline.data.prepared import PreparedDataset

    write_dataset("planted", PLANTED)
    prepare_dataset("planted", progress=False, workers=1)
    coco = PreparedDataset("planted").coco_path("train")
    budget = save_budget(choose_real_budget(coco, 30, 0), tmp_path / "budget.json")
    spec = tmp_path / "far-off.yaml"
    spec.write_text(FAR_OFF)
    return budget, spec


def _within(real: float, synthetic: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= synthetic / real <= bounds[1]


def _medians(path: Path, records, seed: int) -> dict[str, tuple[float, float]]:
    """Median mask area and elongation per class of the spec's masks placed with `seed`."""
    library = load_library(path)
    grounds = [foreground_mask(r.load_clean(), library.foreground) for r in records]
    placed = simulate(library, grounds, samples=40, seed=seed).defects
    return {spec.class_name: (placed[i].median_area(), placed[i].median_elongation())
            for i, spec in enumerate(library.defects)}


@pytest.mark.slow
def test_fit_brings_far_off_shapes_within_parity_and_keeps_comments(planted, tmp_path):
    budget, spec = planted
    out = tmp_path / "fitted.yaml"
    result = CliRunner().invoke(app, ["spec", "fit", "--dataset", "planted", "--budget",
                                      str(budget), "--spec", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "median mask area" in result.output and "-> after" in result.output
    assert "contexts (window margin; foreground share" in " ".join(result.output.split())
    records = real_records("planted", budget)
    real = measure_set(records, "auto").classes
    targets = {c: (float(np.median(s.area)), float(np.median(s.elongation)))
               for c, s in real.items()}
    counts_only = tmp_path / "counts-only.yaml"  # counts and surfaces fitted, shapes as written
    result = CliRunner().invoke(app, ["spec", "fit", "--dataset", "planted", "--budget",
                                      str(budget), "--spec", str(spec), "--out",
                                      str(counts_only), "--rounds", "0"])
    assert result.exit_code == 0, result.output
    before, after = _medians(counts_only, records, seed=7), _medians(out, records, seed=7)
    for name, (area, elong) in targets.items():
        assert real[name].count >= TOLERANCES.min_instances
        # the far-off spec is out of tolerance, the fitted one within, on unseen placements
        assert not (_within(area, before[name][0], TOLERANCES.area_ratio)
                    and _within(elong, before[name][1], TOLERANCES.elongation_ratio)), name
        assert _within(area, after[name][0], TOLERANCES.area_ratio), (name, area, after[name])
        assert _within(elong, after[name][1], TOLERANCES.elongation_ratio), (name, elong, after)
    # instances per image and class mix from the real counts
    counts = RealCounts.of(records, ["mousebite", "copper", "pin-hole"])
    fitted = load_library(out)
    assert _within(np.mean(counts.per_image), np.mean(planned(fitted).per_image),
                   TOLERANCES.instances_ratio)
    assert fitted.max_per_image == int(np.ceil(np.quantile(counts.per_image, 0.9)))
    for defect in fitted.defects:  # each class drawn as often as the real images hold it
        real_counts = counts.per_class[defect.class_name]
        assert defect.count.model_dump(exclude={"dist"}) == {
            "weights": None, **observed_count(real_counts)}
        assert _within(np.mean(real_counts), np.mean(planned(fitted).per_class[defect.class_name]),
                       TOLERANCES.instances_ratio)
    # only numbers changed: every comment, prompt and name line is kept, the original unchanged
    text = out.read_text()
    for line in FAR_OFF.splitlines():
        if "#" in line:
            assert "#" + line.split("#", 1)[1] in text, line
        elif "prompt" in line or "name:" in line:
            assert line in text.splitlines(), line
    assert f"max_per_image: {fitted.max_per_image}              # a cap, far too high" in text
    assert "# Numbers fitted by `defectforge spec fit --dataset planted --budget" in text
    assert spec.read_text() == FAR_OFF
    assert fitted.defects[1].shape.radius.dist == "normal"
    assert [d.placement.surface for d in fitted.defects] == ["edge", "background", "foreground"]
    # contexts: each defect's margin and share range from its class's real masks, and every mask
    # the fitted spec places keeps to them (a hole's window deep enough in copper, a blob's on substrate)
    contexts = real_contexts(records, fitted.foreground)
    grounds = [foreground_mask(r.load_clean(), fitted.foreground) for r in records]
    for defect in fitted.defects:
        margin, shares = contexts[defect.class_name]
        context = defect.placement.context
        assert context.margin == round(margin, 1)
        assert context.foreground.min <= np.quantile(shares, 0.1) <= np.quantile(shares, 0.9) <= context.foreground.max
    placed = [(one, ground) for i, ground in enumerate(grounds)
              for one in _placed_or_none(fitted, ground, i)]
    assert {one.spec.name for one, _ in placed} == {d.name for d in fitted.defects}
    for one, ground in placed:
        context = one.spec.placement.context
        assert context.foreground.min <= context_share(one.mask, ground, context.margin) <= context.foreground.max


def _placed_or_none(library, ground, seed: int) -> list:
    from conditioning.placement import PlacementError, place_defects

    try:
        return place_defects(library, ground, np.random.default_rng(seed))
    except PlacementError:  # an arm skips such a board, as the simulation does
        return []


def test_observed_count_draws_each_value_as_often_as_the_real_images():
    # DeepPCB k = 50's copper: 0, 1 or 2 an image in 3, 37 and 10 of 50 (mean 1.14)
    copper = observed_count([0] * 3 + [1] * 37 + [2] * 10)
    assert copper == {"min": 0, "max": 2, "weights": [0.06, 0.74, 0.2]}
    drawn = IntRange.model_validate(copper)
    rng = np.random.default_rng(0)
    shares = np.bincount([drawn.sample(rng) for _ in range(20000)], minlength=3) / 20000
    assert np.allclose(shares, [0.06, 0.74, 0.2], atol=0.01)
    assert observed_count([1, 1, 1, 1]) == {"min": 1, "max": 1}  # one value: a plain count
    # a value between the ends that no image holds keeps its place, at weight 0
    assert observed_count([1, 3, 3, 1]) == {"min": 1, "max": 3, "weights": [0.5, 0, 0.5]}


def test_fitted_counts_replace_a_counts_dist_and_its_weights(tmp_path):
    library = _library_with_counts(tmp_path, ["{min: 0, max: 4, dist: normal}",
                                              "{min: 0, max: 2, weights: [1, 1, 1]}"])
    real = RealCounts([2, 2, 3], {"mousebite": [1, 1, 2], "copper": [1, 1, 1]})
    changes = count_changes(library, real)
    assert changes[("defects", 0, "count")] == {"min": 1, "max": 2, "weights": [0.67, 0.33],
                                                "dist": "uniform"}
    assert changes[("defects", 1, "count")] == {"min": 1, "max": 1, "weights": [1]}
    path = tmp_path / "defects.yaml"  # the file takes them and stays valid
    path.write_text(edit_text(path.read_text(), changes))
    fitted = load_library(path)
    assert [d.count.weights for d in fitted.defects] == [[0.67, 0.33], [1]]
    assert "count: {min: 1, max: 2, dist: uniform, weights: [0.67, 0.33]}" in path.read_text()


def _library_with_counts(tmp_path: Path, counts: list[str]) -> DefectLibrary:
    kinds = [("bite", "mousebite", "mousebite"), ("blob", "copper", "spurious_copper")]
    lines = ["product: planted", "classes: [mousebite, copper, pin-hole]", "defects:"]
    for (name, class_name, kind), count in zip(kinds, counts, strict=True):
        lines.append(f"  - {{name: {name}, class: {class_name}, kind: {kind}, count: {count}}}")
    path = tmp_path / "defects.yaml"
    path.write_text("\n".join(lines) + "\n")
    return load_library(path)


@pytest.mark.slow
def test_fit_without_a_spec_writes_a_new_one(planted, runs):
    budget, _ = planted
    from pipeline.data.registry import spec_path

    result = CliRunner().invoke(app, ["spec", "fit", "--dataset", "planted", "--budget",
                                      str(budget), "--rounds", "1", "--samples", "16"])
    assert result.exit_code == 0, result.output
    assert "started from a new plain-quantile spec" in " ".join(result.output.split())
    library = load_library(spec_path("planted"))
    assert library.classes == ["mousebite", "copper", "pin-hole"]
    assert {d.kind for d in library.defects} <= {"dent", "scratch"}
    missing = budget.parent / "nope.json"
    result = CliRunner().invoke(app, ["spec", "fit", "--dataset", "planted", "--budget",
                                      str(missing)])
    assert f"{missing}: not a budget manifest" in str(result.exception)
    result = CliRunner().invoke(app, ["spec", "fit", "--dataset", "planted", "--spec",
                                      str(missing)])
    assert f"--spec {missing}: no such file" in str(result.exception)


def test_missing_dataset_is_a_located_error(runs, write_dataset):
    from conditioning.errors import DefectforgeError
    from flows.cli_spec import fit

    with pytest.raises(DefectforgeError, match="no dataset 'nosuch'.*known datasets"):
        fit(dataset="nosuch")
    write_dataset("planted", PLANTED)
    with pytest.raises(DefectforgeError, match="not prepared; run `defectforge data prepare"):
        fit(dataset="planted")


CHAINED = """\
product: planted
classes: [pin-hole]
defects:
  - name: stroke              # a hole drawn as a straight chain of two lobes
    class: pin-hole
    kind: pin_hole
    shape: {radius: [6, 6], lobes: [2, 2], curvature: [0, 0], aspect: [1.5, 1.5]}
    placement: {surface: foreground}
    count: 2
"""


def test_a_chained_pin_hole_is_elongated_by_its_lobes_not_its_aspect():
    library = DefectLibrary.model_validate(yaml.safe_load(CHAINED))
    grounds = [np.ones((96, 96), bool)] * 4  # all copper: nothing clips the holes
    before = simulate(library, grounds, samples=24).defects[0]
    target = (before.median_area(), 2 * before.median_elongation())
    fit = fit_shapes(library, grounds, {0: target}, samples=24)[0][0]
    assert fit.elongation_knob == "lobes" and "aspect" not in fit.params
    assert fit.params["lobes"].min > 2
    assert fit.after.median_elongation() > 1.5 * before.median_elongation()
    assert 0.8 < fit.after.median_area() / before.median_area() < 1.25
