"""The reader `layout` of each dataset format (the `layout:` block of a dataset.yaml)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SampleSplit(_Model):
    boards: int = Field(ge=1, description="images in this split")
    defect_free: int = Field(0, ge=0, description="how many of them have no defect")


class SampleLayout(_Model):
    """The procedural sample line (`pipeline/data/sample_board.py`)."""

    format: Literal["sample"]
    image_size: int = Field(256, ge=96, le=1024)
    seed: int = Field(0, ge=0)
    defects_per_image: tuple[int, int] = (1, 4)
    train: SampleSplit = SampleSplit(boards=200, defect_free=40)
    test: SampleSplit = SampleSplit(boards=100, defect_free=20)


class DeepPCBLayout(_Model):
    """A DeepPCB checkout: `PCBData/` with list files, `*_test.jpg`/`*_temp.jpg`, `*_not/*.txt`."""

    format: Literal["deeppcb"]
    train_list: str = "PCBData/trainval.txt"
    test_list: str = "PCBData/test.txt"
    threshold: int = Field(127, ge=0, le=255, description="binarisation threshold")
    max_shift: int = Field(3, ge=0, le=8, description="px: template misalignment searched")


class CocoSplit(_Model):
    annotations: str = Field(description="COCO json, relative to the source folder")
    images: str = Field(description="image folder that `file_name` is relative to")
    clean: str | None = Field(None, description="folder of clean references, same file names")


class CocoLayout(_Model):
    """Any COCO detection/instance file per split (boxes without masks get box-shaped masks)."""

    format: Literal["coco"]
    train: CocoSplit
    test: CocoSplit


class SeededSplit(_Model):
    """Layouts without a train/test split of their own are split per class, seeded."""

    test_share: float = Field(
        0.2, ge=0, lt=1, description="share of each class's images (and of the defect-free ones) put in test"
    )
    seed: int = Field(0, ge=0, description="seeds the split")


class MvtecLayout(_Model):
    """MVTec-AD-style folders: train/good, test/<defect>/, ground_truth/<defect>/<stem>_mask.png."""

    format: Literal["mvtec"]
    good: str = "train/good"
    test: str = "test"
    ground_truth: str = "ground_truth"
    mask_suffix: str = "_mask"
    defects: dict[str, str] = Field(
        default_factory=dict, description="defect folder -> class name (default: same name)"
    )
    train_share: float = Field(
        0.0, ge=0, lt=1, description="share of each defect folder moved into train (seeded); "
        "MVTec keeps every defect in test, so the generator needs some here to learn from"
    )
    seed: int = Field(0, ge=0, description="seeds which defect images move into train")


class FolderLayout(SeededSplit):
    """Plain folders: defect images by glob, a mask per image by a path pattern, a class per folder."""

    format: Literal["folder"]
    images: str = Field(description="glob of defect images under the source, e.g. `*/*.jpg`")
    masks: str = Field(
        "{dir}/{stem}.png",
        description="mask of an image, relative to the source: {dir} = the image's folder "
        "(relative to the source), {parent} = that folder's name, {stem} = its name without suffix",
    )
    class_map: dict[str, str] = Field(
        default_factory=dict, description="image folder name -> class name (default: the folder name)"
    )
    defect_free: str | None = Field(None, description="glob of defect-free images, e.g. `good/*.jpg`")


class VocLayout(SeededSplit):
    """Pascal VOC: one XML of boxes per image (`<object><name>`, `<bndbox>`)."""

    format: Literal["voc"]
    annotations: str = Field("Annotations", description="folder of the XML files")
    images: str = Field("JPEGImages", description="folder of the images (`<filename>` or the XML stem)")
    class_map: dict[str, str] = Field(default_factory=dict, description="XML `<name>` -> class name")


class YoloLayout(SeededSplit):
    """YOLO txt labels: `images/[split/]x.jpg` with `labels/[split/]x.txt`, rows `class cx cy w h`
    (normalised; more numbers = a polygon). Class index = position in dataset.yaml `classes`.
    A first sub-folder named train / val / valid / test sets the split; otherwise `test_share`."""

    format: Literal["yolo"]
    images: str = Field("images", description="image folder (searched recursively)")
    labels: str = Field("labels", description="label folder mirroring `images`")


Layout = Annotated[
    SampleLayout | DeepPCBLayout | CocoLayout | MvtecLayout | FolderLayout | VocLayout | YoloLayout,
    Field(discriminator="format"),
]
CLEAN_REFERENCES = {
    "sample": {"rendered"},
    "deeppcb": {"template"},
    "coco": {"folder", "inpaint", "model", "none"},
    "mvtec": {"good_images", "inpaint", "model", "none"},
    "folder": {"good_images", "inpaint", "model", "none"},
    "voc": {"good_images", "inpaint", "model", "none"},
    "yolo": {"good_images", "inpaint", "model", "none"},
}
"""Where each format's clean references can come from."""
