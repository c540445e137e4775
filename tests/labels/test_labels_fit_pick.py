"""`spec fit` chooses how anchors are drawn (`placement.pick`) from the width of the surface next
to the real defects: the procedural sample line cuts its opens on copper pixels alike, so a spec
that picks traces by length is moved back to `pixel`."""

from __future__ import annotations

import numpy as np

from conditioning.bundle import foreground_mask
from conditioning.spec import DefectLibrary
from pipeline.labels.fit_pick import pick_changes
from pipeline.labels.measure import measure_set
from pipeline.labels.surface import real_records

PLANTED = """\
name: planted-opens
license: test
format: sample
clean_reference: rendered
classes:
  - {id: 1, name: open}
layout:
  image_size: 128
  seed: 2
  defects_per_image: [1, 2]
  train: {boards: 30, defect_free: 0}
  test: {boards: 2, defect_free: 0}
"""


def test_fit_moves_opens_drawn_by_area_back_to_pick_pixel(runs, write_dataset, tmp_path):
    from pipeline.data.budget import choose_real_budget, save_budget
    from pipeline.data.prepare import prepare_dataset
    from pipeline.data.prepared import PreparedDataset

    write_dataset("planted-opens", PLANTED)
    prepare_dataset("planted-opens", progress=False, workers=1)
    coco = PreparedDataset("planted-opens").coco_path("train")
    budget = save_budget(choose_real_budget(coco, 30, 0), tmp_path / "budget.json")
    records = real_records("planted-opens", budget)
    library = DefectLibrary.model_validate({
        "product": "planted", "classes": ["open"], "min_distance": 6,
        "defects": [{"name": "cut", "class": "open", "kind": "open", "shape": {"gap": [3, 6]},
                     "placement": {"surface": "foreground", "pick": "trace"}, "count": 1}]})
    real = measure_set(records, library.foreground)
    grounds = [foreground_mask(r.load_clean(), library.foreground) for r in records]

    changes, fits = pick_changes(library, real, grounds, samples=24)

    assert changes == {("defects", 0, "placement", "pick"): "pixel"}
    (fit,) = fits
    assert fit.defect == "cut" and fit.chosen == "pixel"
    assert fit.real == float(np.median(real.classes["open"].surface_width))
    pixel, trace = fit.simulated["pixel"], fit.simulated["trace"]
    assert trace < pixel  # by length, the narrow traces come up more often
    assert abs(np.log(pixel / fit.real)) < abs(np.log(trace / fit.real))
