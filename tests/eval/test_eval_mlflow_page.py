"""The evaluation's parent run page in the real MLflow UI, opened in Chromium as a reviewer
would: the verdict, the arms table and a figure are on the page, without a click."""

import pytest

from eval.config import resolve_config
from eval.protocol import run_evaluation


@pytest.mark.slow
def test_parent_run_page_shows_arms_table_and_figure(toy_dataset, tmp_path, monkeypatch,
                                                     browser_page, local_server, screenshot_dir):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    config = resolve_config(
        str(toy_dataset), "quick", real_budget=8, arms=["real", "copypaste"], seeds=[0],
        ratio=1.0, tile=64, test_limit=6, epochs=1, imgsz=64, val_imgsz=96, batch=8,
        workers=0, device="cpu", out_dir=tmp_path / "eval", experiment="toy-page", jobs=2,
    )
    report = run_evaluation(config)

    url = local_server(["-m", "mlflow", "ui", "--backend-store-uri", store,
                        "--host", "127.0.0.1", "--port", "{port}"], path="/health")
    page = browser_page
    page.goto(f"{url}/#/experiments/{report.experiment_id}/runs/{report.parent_run_id}")
    page.get_by_text("Verdict:").first.wait_for(timeout=120_000)
    page.screenshot(path=str(screenshot_dir / "mlflow-parent-run.png"))  # what opens first
    page.get_by_text("Show more").first.click()  # the description box, expanded
    table = page.locator("table", has_text="Δ vs reference").first
    table.wait_for(timeout=30_000)
    rows = [" ".join(table.locator("tr").nth(i).inner_text().split())
            for i in range(table.locator("tr").count())]
    assert rows[0].startswith("arm epochs steps COCOeval mAP50-95")
    arms = [row.split()[0] for row in rows[1:]]
    assert arms[:2] == ["real", "copypaste"] and all(a.startswith("real-e") for a in arms[2:])
    figure = page.locator("img[src*='get-artifact'][src*='arms_map.png']").first
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0",
                           arg=figure.element_handle(), timeout=60_000)
    assert table.is_visible() and figure.is_visible()
    page.set_viewport_size({"width": 1600, "height": 2600})
    page.screenshot(path=str(screenshot_dir / "mlflow-parent-run-description.png"))
