"""The registered detector as an MLflow pyfunc: image paths in, COCO-style boxes out."""

from __future__ import annotations

import mlflow.pyfunc
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

OUTPUT_COLUMNS = {"image_path": "string", "class_name": "string", "x": "double", "y": "double",
                  "w": "double", "h": "double", "score": "double"}
"""One row per detection: its image, class, box (x, y, width, height in pixels) and score."""


def signature() -> ModelSignature:
    """Input: a DataFrame with an `image_path` column; output: OUTPUT_COLUMNS."""
    return ModelSignature(inputs=Schema([ColSpec("string", "image_path")]),
                          outputs=Schema([ColSpec(t, n) for n, t in OUTPUT_COLUMNS.items()]))


class YoloDetector(mlflow.pyfunc.PythonModel):
    """Wraps the ultralytics weights logged as the `weights` artifact."""

    def load_context(self, context) -> None:
        from eval.detector import load_yolo

        self.model = load_yolo(context.artifacts["weights"])

    def predict(self, context, model_input, params=None):
        """`model_input`: a DataFrame with an `image_path` column; one row per detection."""
        import pandas as pd

        rows = []
        for path in model_input["image_path"]:
            boxes = self.model.predict(str(path), verbose=False)[0].boxes
            for (x1, y1, x2, y2), score, cls in zip(
                boxes.xyxy.tolist(), boxes.conf.tolist(), boxes.cls.tolist(), strict=True
            ):
                rows.append({"image_path": str(path), "class_name": self.model.names[int(cls)],
                             "x": x1, "y": y1, "w": x2 - x1, "h": y2 - y1, "score": score})
        return pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS))
