"""Which surface each class's real defects lie on, measured on the clean references, and a check
of a defect spec's `placement.surface` against it.

A real mask marks what the defect changed; its pixels in the clean reference show where it
sits: an open or a pin-hole removes copper (its pixels were foreground), a short or spurious
copper adds copper on bare substrate (background). The foreground is the spec's own rule
(`foreground: dark | bright | auto | all`, `conditioning.bundle.foreground_mask`), so a spec
whose polarity is flipped, or that places a class on the wrong side, shows up here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from conditioning.bundle import foreground_mask
from conditioning.errors import DefectforgeError
from conditioning.masks import KINDS
from conditioning.spec import DefectLibrary
from conditioning.spec_errors import Problem, locate
from pipeline.data.budget import load_budget
from pipeline.data.prepared import PreparedDataset
from pipeline.data.records import ImageRecord
from pipeline.labels.window import mask_window

ON_SURFACE = 0.7
"""Share of a class's real mask pixels that should lie on the surface (`foreground` /
`background`) the spec places it on. At most 1 - ON_SURFACE there (mostly on the other side):
a problem. Between the two (mixed): a problem only where another foreground rule puts every
placed class at >= ON_SURFACE (the rule is then wrong for some images, as `auto` on DeepPCB)."""
SURFACE_IMAGES = 300
"""`spec check --dataset` measures on at most this many train images (evenly spaced by stem):
seconds on DeepPCB's 640 px boards, thousands of real defects."""
POLARITIES = ("dark", "bright", "auto")
"""Foreground rules tried when suggesting a fix (the first that fits every placed class wins)."""


@dataclass(frozen=True)
class SurfaceShare:
    """Where one class's real mask pixels lie: `foreground` is their share on the foreground."""

    class_name: str
    instances: int
    pixels: int
    foreground: float

    @property
    def background(self) -> float:
        return 1.0 - self.foreground


@dataclass
class SurfaceCheck:
    """Measured shares per class (under the spec's rule), the images they come from, and the
    located problems (`file:line:col: defects[i].placement.surface: ...` with the fix)."""

    polarity: str
    images: int
    shares: dict[str, SurfaceShare]
    problems: list[Problem] = field(default_factory=list)


def surface_shares(
    records: Iterable[ImageRecord], polarities: Sequence[str]
) -> dict[str, dict[str, SurfaceShare]]:
    """{polarity: {class: share}} over the records with a clean reference (others are skipped)."""
    counts = {p: {} for p in polarities}
    for record in records:
        clean = record.load_clean() if record.instances else None
        if clean is None:
            continue
        grounds = {p: foreground_mask(clean, p) for p in polarities}
        for instance in record.instances:
            mask, window = mask_window(instance.mask)
            pixels = int(mask.sum())
            for polarity, ground in grounds.items():
                total = counts[polarity].setdefault(instance.class_name, [0, 0, 0])
                total[0] += 1
                total[1] += pixels
                total[2] += int(np.count_nonzero(ground[window] & mask))
    return {
        p: {c: SurfaceShare(c, n, px, fg / px if px else 0.0) for c, (n, px, fg) in sorted(t.items())}
        for p, t in counts.items()
    }


def real_records(dataset: str, budget: Path | None = None,
                 limit: int = SURFACE_IMAGES) -> list[ImageRecord]:
    """The prepared dataset's train images (never test): a budget's images when given, else at
    most `limit` evenly spaced ones."""
    prepared = PreparedDataset(dataset)
    records = prepared.records("train")
    if budget is not None:
        manifest = load_budget(budget)
        train = prepared.coco_path("train").resolve()
        if Path(manifest.coco_path).resolve() != train:
            raise DefectforgeError(
                f"{budget}: budget of {manifest.coco_path}, not of {train}; choose one with "
                f"`defectforge data budget {dataset} --k K`"
            )
        chosen = set(manifest.image_ids)
        return [r for r in records if r.image_id in chosen]
    if len(records) <= limit:
        return records
    return [records[i] for i in np.linspace(0, len(records) - 1, limit).round().astype(int)]


def images_with_clean(records: Iterable[ImageRecord]) -> int:
    """How many records have a clean reference and at least one instance."""
    return sum(1 for r in records if r.clean_path is not None and r.instances)


def check_surfaces(library: DefectLibrary, spec_file: Path, records: list[ImageRecord]) -> SurfaceCheck:
    """Measure each class's surface on `records` (real, with clean references) and report every
    defect placed on `foreground` / `background` (its `placement.surface` or its kind's default)
    whose class lies there with at most 1 - ON_SURFACE of its pixels, or with less than
    ON_SURFACE where another foreground rule puts every placed class on its surface."""
    polarities = list(dict.fromkeys([library.foreground, *POLARITIES]))
    shares = surface_shares(records, polarities)
    placed = {p: _on_placed_surface(library, shares[p]) for p in polarities}
    fitting = next((p for p in polarities[1:] if min(placed[p].values(), default=1) >= ON_SURFACE),
                   None)
    problems = []
    for index, on_surface in placed[library.foreground].items():
        if on_surface >= ON_SURFACE or (on_surface > 1 - ON_SURFACE and fitting is None):
            continue
        problems.append(_problem(library, spec_file, index, shares[library.foreground], fitting))
    return SurfaceCheck(library.foreground, images_with_clean(records),
                        shares[library.foreground], problems)


def _surface(library: DefectLibrary, index: int) -> str:
    spec = library.defects[index]
    return spec.placement.surface or KINDS[spec.kind].surface


def _on_placed_surface(library: DefectLibrary, shares: dict[str, SurfaceShare]) -> dict[int, float]:
    """{defect index: share of its class's real pixels on the surface it is placed on}, for the
    defects placed on `foreground` or `background` whose class has real instances."""
    found = {}
    for index, spec in enumerate(library.defects):
        surface = _surface(library, index)
        share = shares.get(spec.class_name)
        if surface in ("foreground", "background") and share is not None and share.pixels:
            found[index] = share.foreground if surface == "foreground" else share.background
    return found


def _problem(library: DefectLibrary, spec_file: Path, index: int,
             shares: dict[str, SurfaceShare], fitting: str | None) -> Problem:
    spec = library.defects[index]
    share = shares[spec.class_name]
    surface = _surface(library, index)
    on_surface = share.foreground if surface == "foreground" else share.background
    other = "background" if surface == "foreground" else "foreground"
    if fitting is not None:
        fix = (f"set `foreground: {fitting}` at the top of the spec (every placed class then "
               f"has >= {ON_SURFACE:.0%} of its pixels on its surface)")
    else:
        fix = f"set `placement.surface: {other}` (or `edge` / `any`)"
    message = (
        f"`{spec.name}` places class `{spec.class_name}` on the {surface}, but only "
        f"{on_surface:.0%} of its {share.pixels} real mask pixels ({share.instances} instances) "
        f"lie there under `foreground: {library.foreground}`; {fix}"
    )
    return locate(spec_file, ("defects", index, "placement", "surface"), message)
