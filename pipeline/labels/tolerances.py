"""The documented tolerances of the label parity report (`pipeline.labels.parity`): how far a
synthetic set's label statistics may stray from the k real images' (pydantic only: the CLI
prints them in `defectforge data parity --help` without loading the image stack)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Tolerances(BaseModel):
    """How far a synthetic set may stray from the real one; each figure is compared once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    box_size_ratio: tuple[float, float] = Field(
        (0.75, 1.33), description="median box width and median box height, synthetic / real")
    margin_px: float = Field(
        3.0, ge=0, description="median box-vs-mask margin per side: |synthetic - real| within "
        "max(margin_px, margin_rel x |real|)")
    margin_rel: float = Field(0.30, ge=0, description="see margin_px")
    area_ratio: tuple[float, float] = Field(
        (0.5, 2.0), description="median mask area, synthetic / real")
    elongation_ratio: tuple[float, float] = Field(
        (0.67, 1.5), description="median mask elongation (minAreaRect long / short side), "
        "synthetic / real")
    visible_fraction: float = Field(
        0.8, ge=0, description="median visible change must reach this times the real one")
    invisible_below: float = Field(
        0.5, ge=0, le=1, description="an instance whose visible change is below this is an "
        "invisible label (a label on a defect that hardly shows)")
    invisible_share: float = Field(
        0.05, ge=0, le=1, description="share of invisible labels: synthetic at most real + this")
    surface_abs: float = Field(
        0.25, ge=0, description="share of mask pixels on the foreground: |synthetic - real|")
    context_ks: float = Field(
        0.3, ge=0, le=1, description="foreground share of the clean reference in the label box "
        "(what surrounds the defect): the Kolmogorov-Smirnov distance between the real and "
        "synthetic per-instance shares may exceed this only where the two-sample test cannot "
        "tell them apart (p >= context_p)")
    context_p: float = Field(0.05, gt=0, lt=1, description="see context_ks")
    surface_width_ratio: tuple[float, float] = Field(
        (0.75, 1.33), description="median width of the surface next to each mask (twice the "
        "largest distance to the other surface within 3 px of it, in the clean reference: the "
        "trace an open cuts, the gap a short bridges), synthetic / real")
    instances_ratio: tuple[float, float] = Field(
        (0.5, 2.0), description="mean instances per image, synthetic / real")
    class_mix_tv: float = Field(
        0.25, ge=0, le=1, description="total variation distance between the class shares")
    min_instances: int = Field(
        3, ge=1, description="per-class figures are compared only where both sets have at "
        "least this many instances of the class (else n/a)")


TOLERANCES = Tolerances()
"""The documented tolerances (`defectforge data parity --help` prints them)."""
