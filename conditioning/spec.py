"""The defect-spec library: validated YAML describing the defects one product line can have."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from conditioning.errors import DefectforgeError
from conditioning.region_masks import region_mask_path

SCHEMA_MODELINE = "# yaml-language-server: $schema=../defect-spec.schema.json"
SIZE_PARAMS = ("length", "width", "radius", "gap")
"""Shape params measured in pixels: a severity level's `size` multiplies them."""
MAX_PX = 4096
"""Upper bound of every pixel size and distance in a spec (shape params, spacing, borders)."""
MAX_COUNT = 1000
"""Upper bound of instance counts (per defect and per image) and of list lengths."""
NAME_CHARS = 200
"""Longest name (product, class, defect, kind, region, severity level)."""
PROMPT_CHARS = 2000
"""Longest prompt (CLIP reads 77 tokens; the rest is ignored anyway)."""
Name = Annotated[str, Field(min_length=1, max_length=NAME_CHARS)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, strict=True, allow_inf_nan=False
    )
    """strict: `"5"` or `true` is not a number; allow_inf_nan: `.nan`, `.inf`, `1e999` refused."""


class Range(_Model):
    """A value drawn per instance. YAML: `5` (fixed), `[min, max]` (uniform) or
    `{min: 2, max: 9, dist: normal}` (normal centred in the range, +-2 sigma spans it, clipped)."""

    integer: ClassVar[bool] = False
    min: float
    max: float
    dist: Literal["uniform", "normal", "loguniform"] = "uniform"

    @model_validator(mode="before")
    @classmethod
    def _from_short_form(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("expected a number, [min, max] or {min, max, dist}")
        if isinstance(value, int | float):
            return {"min": value, "max": value}
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError(f"expected [min, max] (2 numbers), got {len(value)} items")
            return {"min": value[0], "max": value[1]}
        if isinstance(value, dict):
            return value
        raise ValueError("expected a number, [min, max] or {min, max, dist}")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min > self.max:
            raise ValueError(
                f"inconsistent range: min {_num(self.min)} > max {_num(self.max)} "
                f"(write [{_num(self.max)}, {_num(self.min)}])"
            )
        if self.dist == "loguniform" and self.min <= 0:
            raise ValueError(f"loguniform needs min > 0 (got min {_num(self.min)})")
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):  # noqa: ANN001, ANN206
        full = handler.resolve_ref_schema(handler(core_schema))
        number = {"type": "integer"} if cls.integer else {"type": "number"}
        return {
            "description": full.get("description", ""),
            "anyOf": [
                number,
                {"type": "array", "items": number, "minItems": 2, "maxItems": 2},
                full,
            ],
        }

    def sample(self, rng: np.random.Generator) -> float:
        """Draw one value (an int for `IntRange`)."""
        lo, hi = self.min, self.max
        if lo == hi:  # one value (numpy refuses uniform(0.0, -0.0): it reads -0.0 as below 0.0)
            value = float(lo)
        elif self.dist == "normal":
            value = float(np.clip(rng.normal((lo + hi) / 2, (hi - lo) / 4), lo, hi))
        elif self.dist == "loguniform":
            value = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        else:
            value = float(rng.uniform(lo, hi))
        return int(round(value)) if self.integer else value

    def __repr__(self) -> str:
        return f"[{_num(self.min)}, {_num(self.max)}]"


class IntRange(Range):
    """A whole-number range: `2`, `[0, 3]`, `{min: 0, max: 3, dist: uniform}`, or
    `{min: 0, max: 2, weights: [0.1, 0.7, 0.2]}`: each whole number from min to max drawn in
    proportion to its weight (how often the real images hold it; `spec fit` writes them)."""

    integer: ClassVar[bool] = True
    min: int = Field(ge=0)
    max: int = Field(ge=0)
    weights: list[Annotated[float, Field(ge=0)]] | None = Field(
        None, max_length=MAX_COUNT + 1,
        description="relative frequency of each whole number from min to max, in order",
    )

    @model_validator(mode="after")
    def _one_weight_a_value(self) -> IntRange:
        if self.weights is None:
            return self
        values = self.max - self.min + 1
        if len(self.weights) != values:
            raise ValueError(f"expected {values} weights, one for each of {self.min}..{self.max} "
                             f"(got {len(self.weights)})")
        if not sum(self.weights) > 0:
            raise ValueError("weights sum to 0: give at least one value a weight above 0")
        if self.dist != "uniform":
            raise ValueError(f"weights and dist {self.dist!r} both say how values are drawn: "
                             "drop `dist`")
        return self

    @model_serializer(mode="wrap")
    def _without_unset_weights(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """No `weights` key when there are none, so specs written before them keep their hash."""
        data = handler(self)
        if data.get("weights") is None:
            data.pop("weights", None)
        return data

    def sample(self, rng: np.random.Generator) -> int:
        if self.weights is None:
            return int(super().sample(rng))
        p = np.asarray(self.weights, dtype=float)
        return self.min + int(rng.choice(len(p), p=p / p.sum()))


class ShapeParams(_Model):
    """Shape parameters as ranges; a kind reads only some (`defectforge spec kinds` lists them).
    Unset params take the kind's default range. Pixel params scale with severity `size`."""

    length: Range | None = Field(
        None,
        description="px: scratch/crack/spur length, max bridge span (short), a learned defect "
        "box's long side",
    )
    width: Range | None = Field(
        None, description="px: line width (scratch, crack, spur, short), a learned box's short side"
    )
    radius: Range | None = Field(None, description="px: pit, dent, blob, particle, bite radius")
    gap: Range | None = Field(None, description="px: length of copper removed along a trace (open)")
    curvature: Range | None = Field(
        None, description="0..1: how much a scratch or short bends, a pin-hole's or spurious copper's "
        "lobes turn"
    )
    slant: Range | None = Field(
        None, description="0..1: how far an open's cut turns from square across (1 = 60 degrees)"
    )
    roughness: Range | None = Field(
        None, description="0..1: jaggedness of an outline, crack path or open's cut edges"
    )
    speckle: Range | None = Field(
        None, description="0..1: share of a mousebite's or open's pixels left as copper, in specks"
    )
    taper: Range | None = Field(
        None, description="0..1: how much a spur narrows from its base to its tip (1 = a point)"
    )
    aspect: Range | None = Field(
        None, description=">=1: elongation of dents, stains, missing material"
    )
    branches: IntRange | None = Field(None, description="count: side branches of a crack")
    bites: IntRange | None = Field(None, description="count: bites of a mousebite")
    lobes: IntRange | None = Field(
        None, description="count: round lobes merged into one pin-hole or spurious copper stroke (2: "
        "capsule or peanut)"
    )

    @field_validator("length", "width", "radius", "gap")
    @classmethod
    def _positive(cls, value: Range | None) -> Range | None:
        if value is not None and value.min <= 0:
            raise ValueError(f"expected pixels > 0 (got min {_num(value.min)})")
        if value is not None and value.max > MAX_PX:
            raise ValueError(f"expected pixels <= {MAX_PX} (got max {_num(value.max)})")
        return value

    @field_validator("branches", "bites", "lobes")
    @classmethod
    def _few(cls, value: IntRange | None) -> IntRange | None:
        if value is not None and value.max > 64:
            raise ValueError(f"expected at most 64 (got max {value.max})")
        return value

    @field_validator("curvature", "roughness", "slant", "speckle", "taper")
    @classmethod
    def _unit(cls, value: Range | None) -> Range | None:
        if value is not None and not (0 <= value.min and value.max <= 1):
            raise ValueError(f"expected values in 0..1 (got {value!r})")
        return value

    @field_validator("aspect")
    @classmethod
    def _aspect(cls, value: Range | None) -> Range | None:
        if value is not None and not (1 <= value.min and value.max <= 100):
            raise ValueError(f"expected aspect in 1..100 (got {value!r})")
        return value


class SeverityLevel(_Model):
    """One severity level: how often it is drawn and what it does to size and contrast."""

    weight: float = Field(1.0, gt=0, le=1e6, description="relative probability of this level")
    size: float = Field(1.0, gt=0, le=10, description="multiplier on pixel shape params")
    contrast: float = Field(
        0.5, ge=0, le=1, description="0 faint .. 1 strong; becomes the instance severity"
    )


def _default_severity() -> dict[str, SeverityLevel]:
    return {"medium": SeverityLevel()}


class Region(_Model):
    """A named area of the part: a polygon or a mask image (white = inside)."""

    polygon: list[Annotated[list[float], Field(min_length=2, max_length=2)]] | None = Field(
        None, min_length=3, max_length=MAX_COUNT, description="[[x, y], ...] vertices, in `units`"
    )
    mask: str | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="image file relative to the spec file, inside its folder; white = inside",
    )
    units: Literal["fraction", "pixel"] = Field(
        "fraction", description="polygon coordinates as fractions of width/height or pixels"
    )

    @model_validator(mode="after")
    def _one_source(self) -> Region:
        if (self.polygon is None) == (self.mask is None):
            raise ValueError("give exactly one of `polygon` or `mask`")
        if self.polygon and self.units == "fraction":
            bad = [p for p in self.polygon if not all(0 <= c <= 1 for c in p)]
            if bad:
                raise ValueError(
                    f"fraction coordinates must lie in 0..1 (got {list(bad[0])}); "
                    "use `units: pixel` for pixel coordinates"
                )
        if self.polygon and self.units == "pixel":
            bad = [p for p in self.polygon if not all(0 <= c <= 16 * MAX_PX for c in p)]
            if bad:
                raise ValueError(f"pixel coordinates must lie in 0..{16 * MAX_PX} (got {bad[0]})")
        return self


class Context(_Model):
    """What the clean part around a defect looks like: the share of its foreground (e.g. copper)
    in the defect's tight box grown by `margin` px. A pin-hole sits deep in copper (share near
    1), spurious copper far from it (near 0); `defectforge spec fit` writes both numbers from
    the real defects (the margin their boxes reach past their masks, the 10-90 % shares and the
    deciles between them)."""

    margin: float = Field(10, ge=0, le=MAX_PX, description="px the window reaches past the defect's tight box")
    foreground: Range = Field(description="[min, max] share of the window on the foreground, within 0..1")
    quantiles: list[float] | None = Field(
        None,
        min_length=2,
        max_length=MAX_COUNT,
        description="the real shares at evenly spaced quantiles, ascending, within `foreground` "
        "(`spec fit` writes the 10, 20, ..., 90 % ones): each instance draws one band between two "
        "neighbours and is placed inside it when it can be, so the placed shares follow the real "
        "ones (a class with half its defects wholly on the foreground gets half its instances "
        "there); unset = any share within `foreground`",
    )

    @model_validator(mode="after")
    def _share(self) -> Context:
        low, high = self.foreground.min, self.foreground.max
        if not 0 <= low <= high <= 1:
            raise ValueError(f"`foreground` is a share: give [min, max] within 0..1 (got "
                             f"[{_num(low)}, {_num(high)}])")
        values = self.quantiles or []
        if any(b < a for a, b in zip(values, values[1:], strict=False)) or any(
            not low <= v <= high for v in values
        ):
            raise ValueError(f"`quantiles` must ascend within `foreground` [{_num(low)}, {_num(high)}] "
                             f"(got {[_num(v) for v in values]}): rerun `defectforge spec fit` or drop them")
        return self


class Placement(_Model):
    """Where instances of a defect may appear."""

    surface: Literal["any", "foreground", "background", "edge"] | None = Field(
        None,
        description="anchor on the part's foreground (e.g. copper), background (substrate), the "
        "foreground's edge, or anywhere; unset = the kind's default",
    )
    regions: list[Name] = Field(
        default_factory=list,
        max_length=MAX_COUNT,
        description="names from `regions`; empty = the whole image",
    )
    keep_out: list[Name] = Field(
        default_factory=list,
        max_length=MAX_COUNT,
        description="names from `regions` the mask must not touch",
    )
    edge_band: float | None = Field(
        None, gt=0, le=MAX_PX, description="px: anchor within this distance of the foreground edge"
    )
    border: int = Field(
        2, ge=0, le=MAX_PX, description="px: anchors keep this far from the image border"
    )
    min_distance: float | None = Field(
        None,
        ge=0,
        le=MAX_PX,
        description="px between this defect and others; unset = library min_distance",
    )
    context: Context | None = Field(
        None, description="the clean part's foreground share around the defect; unset = any"
    )
    pick: Literal["pixel", "trace"] = Field(
        "pixel",
        description="how an anchor is drawn among the pixels every rule allows: `pixel`, each as "
        "likely (a trace or gap is hit in proportion to its area); `trace`, each weighed by 1 / the "
        "width of its surface there (in proportion to its length: DeepPCB's opens cut narrow traces "
        "more often than their area says)",
    )


class DefectSpec(_Model):
    """One defect entry: its class, mask kind, shape, severity, placement, count and prompt."""

    name: Name = Field(description="unique name of this entry")
    class_name: Name = Field(alias="class", description="one of the library's `classes`")
    kind: Name = Field(
        description="a registered mask kind (see `defectforge spec kinds`), or `learned`: the "
        "model draws the shape in a loose region, the label is what changed there"
    )
    shape: ShapeParams = Field(default_factory=ShapeParams)
    severity: dict[Name, SeverityLevel] = Field(
        default_factory=_default_severity,
        min_length=1,
        max_length=64,
        description="named severity levels",
    )
    placement: Placement = Field(default_factory=Placement)
    count: IntRange = Field(
        default_factory=lambda: IntRange(min=1, max=1), description="instances per image"
    )
    prompt: str = Field(
        "", max_length=PROMPT_CHARS, description="text for text-conditioned generators"
    )

    @field_validator("count")
    @classmethod
    def _bounded_count(cls, value: IntRange) -> IntRange:
        if value.max > MAX_COUNT:
            raise ValueError(f"expected at most {MAX_COUNT} instances (got max {value.max})")
        return value


class DefectLibrary(_Model):
    """All defect specs of one product line (`datasets/<name>/defects.yaml`)."""

    product: Name = Field(description="product line, e.g. `pcb`")
    classes: list[Name] = Field(
        min_length=1,
        max_length=MAX_COUNT,
        description="class names, same order as the dataset's dataset.yaml",
    )
    foreground: Literal["auto", "dark", "bright", "all"] = Field(
        "auto",
        description="how the part's foreground (copper, the part) is found when the caller gives "
        "none: Otsu threshold, then its dark side, bright side, the smaller side (auto), or all",
    )
    regions: dict[Name, Region] = Field(
        default_factory=dict, max_length=256, description="named areas"
    )
    min_distance: float = Field(
        4.0, ge=0, le=MAX_PX, description="px kept between any two defects"
    )
    min_per_image: int = Field(
        1, ge=0, le=MAX_COUNT, description="at least this many defects per image"
    )
    max_per_image: int | None = Field(
        None, ge=1, le=MAX_COUNT, description="at most this many (unset: no cap)"
    )
    defects: list[DefectSpec] = Field(min_length=1, max_length=MAX_COUNT)

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _notes: list[str] = PrivateAttr(default_factory=list)

    @field_validator("classes")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        seen = [c for i, c in enumerate(value) if c in value[:i]]
        if seen:
            raise ValueError(f"class {seen[0]!r} listed twice")
        return value

    @property
    def base_dir(self) -> Path:
        """Folder that relative region mask paths resolve against (the spec file's folder)."""
        return self._base_dir

    @property
    def notes(self) -> list[str]:
        """Located notes on valid but inert settings (`file:line:column: field: message`), as
        the file's check found them."""
        return self._notes

    @property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON (and region mask files), first 16 hex chars."""
        return content_hash(self)

    def class_index(self, class_name: str) -> int:
        """Value of `class_name` in a class map: 1 + its position in `classes`."""
        return self.classes.index(class_name) + 1


def content_hash(library: DefectLibrary) -> str:
    """Provenance key of a library: sha256 of its canonical JSON plus region mask bytes."""
    digest = hashlib.sha256(canonical_json(library).encode())
    for name in sorted(library.regions):
        region = library.regions[name]
        if region.mask is not None:
            digest.update(region_mask_path(library.base_dir, region.mask).read_bytes())
    return digest.hexdigest()[:16]


def canonical_json(library: DefectLibrary) -> str:
    """The validated library as sorted, compact JSON (YAML keys, defaults filled in)."""
    data = library.model_dump(mode="json", by_alias=True)
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def dump_library(library: DefectLibrary) -> str:
    """YAML text of a validated library (defaults filled in), starting with the schema modeline."""
    data = library.model_dump(mode="json", by_alias=True, exclude_none=True)
    return SCHEMA_MODELINE + "\n" + yaml.safe_dump(data, sort_keys=False)


def library_json_schema() -> dict[str, Any]:
    """JSON Schema of a spec file, for editors (`datasets/defect-spec.schema.json`)."""
    schema = DefectLibrary.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "defectforge defect-spec library"
    return schema


def load_library(path: str | Path) -> DefectLibrary:
    """Read and validate a spec file; raises `SpecError` listing every problem with line:column."""
    from conditioning.spec_errors import parse_and_validate

    path = Path(path)
    library = parse_and_validate(path)
    library._base_dir = path.resolve().parent
    return library


def check_classes(library: DefectLibrary, class_names: list[str]) -> None:
    """Raise DefectforgeError unless the library's `classes` equal the dataset's, in order."""
    if list(library.classes) == list(class_names):
        return
    missing = [c for c in class_names if c not in library.classes]
    extra = [c for c in library.classes if c not in class_names]
    detail = []
    if extra:
        detail.append(f"not in the dataset: {extra}")
    if missing:
        detail.append(f"missing from the spec: {missing}")
    if not detail:
        detail.append("same names, different order")
    raise DefectforgeError(
        f"spec `{library.product}`: `classes` {list(library.classes)} must equal the dataset's "
        f"class names {list(class_names)} in order ({'; '.join(detail)}); copy them from "
        "the dataset's dataset.yaml"
    )


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
