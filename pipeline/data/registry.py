"""Dataset registry: `datasets/<name>/dataset.yaml` validated into a `DatasetInfo`."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from conditioning.errors import DefectforgeError
from pipeline.data.layouts import CLEAN_REFERENCES, CocoLayout, Layout
from pipeline.paths import check_name, datasets_root, datasets_search_path

SPLITS = ("train", "test")
"""The splits of a prepared dataset."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClassInfo(_Model):
    """One defect class: its COCO category id and name."""

    id: int = Field(ge=1, description="COCO category id (YOLO index = position in `classes`)")
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")


class Source(_Model):
    """Where the raw data comes from; `--source PATH` overrides `path`."""

    url: str | None = Field(None, description="upstream home page or repository")
    revision: str | None = Field(None, description="upstream commit or version")
    path: str | None = Field(
        None, description="default local copy; relative paths resolve against the folder that "
        "holds the datasets folder (the project root for the bundled lines)"
    )


class InpaintConfig(_Model):
    """`clean_reference: inpaint | model`: how real defects are removed to make a clean reference."""

    dilate_px: int = Field(3, ge=0, le=32, description="px each mask (or box) grows before inpainting")
    radius: int = Field(5, ge=1, le=32, description="px neighbourhood OpenCV's inpainting reads (inpaint)")
    method: Literal["telea", "ns"] = Field("telea", description="OpenCV method: telea | ns (Navier-Stokes)")
    model: str | None = Field(
        None, description="clean_reference: model: the trained model folder whose stage-1 base fills the "
        "defects; relative paths resolve against the runs folder (None: models/<name>-base)"
    )
    steps: int = Field(20, ge=1, le=1000, description="denoising steps of the model's RePaint sampling (model)")
    jump_length: int = Field(5, ge=1, description="RePaint: steps taken before jumping back up the chain (model)")
    jump_n_sample: int = Field(3, ge=1, description="RePaint: passes over each jump (1: no resampling) (model)")


class DatasetInfo(_Model):
    """One product line's data: source, license, classes, format and reader layout."""

    name: str = Field(pattern=r"^[a-z0-9_\-]+$")
    description: str = ""
    license: str = Field(min_length=1)
    source: Source = Source()
    format: Literal["sample", "deeppcb", "coco", "mvtec", "folder", "voc", "yolo"]
    clean_reference: Literal["rendered", "template", "folder", "good_images", "inpaint", "model", "none"] = Field(
        description="rendered (drawn without defects), template (paired image), folder "
        "(a folder of clean images), good_images (defect-free images only), inpaint (real "
        "defects inpainted away with OpenCV; defect-free images are their own), model (as inpaint, "
        "filled by a trained model's stage-1 base instead), none"
    )
    inpaint: InpaintConfig = Field(default_factory=InpaintConfig, description="clean_reference: inpaint | model")
    classes: list[ClassInfo] = Field(min_length=1)
    layout: Layout

    @model_validator(mode="before")
    @classmethod
    def _layout_format(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("layout", {}), dict | None):
            data = {**data, "layout": {"format": data.get("format"), **(data.get("layout") or {})}}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> DatasetInfo:
        for field in ("id", "name"):
            values = [getattr(c, field) for c in self.classes]
            dup = [v for i, v in enumerate(values) if v in values[:i]]
            if dup:
                raise ValueError(f"classes: {field} {dup[0]!r} listed twice")
        if self.layout.format != self.format:
            raise ValueError(f"layout.format {self.layout.format!r} != format {self.format!r}")
        allowed = CLEAN_REFERENCES[self.format]
        if self.clean_reference not in allowed:
            raise ValueError(
                f"clean_reference {self.clean_reference!r} is not available for format "
                f"{self.format!r}; use one of {sorted(allowed)}"
            )
        if isinstance(self.layout, CocoLayout) and self.clean_reference == "folder":
            if any(getattr(self.layout, s).clean is None for s in SPLITS):
                raise ValueError(
                    "clean_reference: folder needs layout.<split>.clean for each split"
                )
        return self

    @property
    def class_names(self) -> list[str]:
        """Class names in `classes` order (YOLO index order)."""
        return [c.name for c in self.classes]

    def category_id(self, name: str) -> int:
        """COCO category id of a class name."""
        for c in self.classes:
            if c.name == name:
                return c.id
        raise DefectforgeError(
            f"dataset {self.name!r}: unknown class {name!r}; known: {self.class_names}"
        )

    def class_name(self, category_id: int) -> str:
        """Class name of a COCO category id."""
        for c in self.classes:
            if c.id == category_id:
                return c.name
        raise DefectforgeError(f"dataset {self.name!r}: unknown category id {category_id}")

    def coco_categories(self) -> list[dict[str, Any]]:
        """`categories` of a COCO file."""
        return [{"id": c.id, "name": c.name, "supercategory": self.name} for c in self.classes]

    def source_path(self, override: str | Path | None = None) -> Path | None:
        """The raw data folder: `override` (relative to the working directory), else `source.path`
        (relative to the folder that holds the product line folders)."""
        if override is not None:
            return Path(override).expanduser().resolve()
        if self.source.path is None:
            return None
        path = Path(self.source.path).expanduser()
        return (path if path.is_absolute() else dataset_dir(self.name).parent.parent / path).resolve()


def dataset_dir(name: str) -> Path:
    """`<root>/<name>/` of the first search-path root that has `<name>/dataset.yaml`
    (the first root when none has: where `data init` writes a new line); `name` must be one
    folder name."""
    try:
        check_name(name, "dataset")
    except ValueError as error:
        raise DefectforgeError(str(error)) from None
    for root in datasets_search_path():
        if (root / name / "dataset.yaml").is_file():
            return root / name
    return datasets_root() / name


def spec_path(name: str) -> Path:
    """`<root>/<name>/defects.yaml`, the product line's defect-spec library."""
    return dataset_dir(name) / "defects.yaml"


def list_datasets() -> list[str]:
    """Names of the product lines found along the datasets search path."""
    return sorted({p.parent.name for root in datasets_search_path() for p in root.glob("*/dataset.yaml")})


def info_hash(name: str) -> str:
    """sha256 (first 16 hex) of a dataset.yaml's bytes."""
    return hashlib.sha256((dataset_dir(name) / "dataset.yaml").read_bytes()).hexdigest()[:16]


def load_dataset_info(name_or_path: str | Path) -> DatasetInfo:
    """Read and validate `datasets/<name>/dataset.yaml` (or a dataset.yaml path)."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = dataset_dir(str(name_or_path)) / "dataset.yaml"
        if not path.is_file():
            raise DefectforgeError(
                f"{path}: no such dataset; known datasets: {list_datasets()} "
                f"(create datasets/{name_or_path}/dataset.yaml)"
            )
    try:
        text = path.read_text()
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as error:
        raise DefectforgeError(f"{path}: cannot read YAML: {error}") from error
    if not isinstance(data, dict):
        raise DefectforgeError(f"{path}: expected a mapping at the top level")
    try:
        info = DatasetInfo.model_validate(data)
    except ValidationError as error:
        raise DefectforgeError(_describe(path, text, error)) from error
    if info.name != path.parent.name and path.name == "dataset.yaml":
        raise DefectforgeError(
            f"{path}: name {info.name!r} must equal its folder name {path.parent.name!r}"
        )
    return info


def _describe(path: Path, text: str, error: ValidationError) -> str:
    """One line per problem: `file:line: field.path: message (got value)`."""
    root = yaml.compose(text)
    lines = [f"{path}: {error.error_count()} problem(s) in dataset.yaml:"]
    for item in error.errors():
        loc = [p for p in item["loc"] if not (isinstance(p, str) and p in CLEAN_REFERENCES)]
        field = ".".join(str(p) for p in loc) or "(top level)"
        got = "" if item["type"] == "missing" else f" (got {item.get('input')!r})"
        lines.append(f"  {path}:{_line(root, loc)}: {field}: {item['msg']}{got}")
    return "\n".join(lines)


def _line(node: Any, loc: list[Any]) -> int:
    """1-based line of the deepest YAML node found along `loc`."""
    line = node.start_mark.line + 1 if node is not None else 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line
