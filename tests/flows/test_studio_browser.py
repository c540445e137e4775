"""The spec studio in a real browser: a misspelt key shows its located error as you type, the
fix clears it, the preview draws, Save writes the text as edited (comments kept)."""

import shutil

import pytest

from pipeline.data.atomic import write_png
from pipeline.data.sample_board import make_board, render
from pipeline.paths import PROJECT_ROOT


@pytest.fixture
def sample_line(tmp_path):
    """A copy of the sample line's dataset.yaml and defects.yaml, and four clean boards as its
    prepared clean images (the studio must never write the project's own spec)."""
    datasets, runs = tmp_path / "datasets", tmp_path / "runs"
    (datasets / "sample").mkdir(parents=True)
    for name in ("dataset.yaml", "defects.yaml"):
        shutil.copy(PROJECT_ROOT / "datasets" / "sample" / name, datasets / "sample" / name)
    for i in range(4):
        write_png(runs / "data" / "sample" / "clean" / "train" / f"board{i}.png",
                  render(make_board(i, 128)))
    return {"DEFECTFORGE_DATASETS": str(datasets), "DEFECTFORGE_RUNS": str(runs)}


def _replace_line(page, old: str, new: str) -> None:
    """Click the editor line holding `old`, select it whole and type `new` key by key."""
    page.locator("#spec-editor .cm-line", has_text=old).first.click()
    page.keyboard.press("End")
    page.keyboard.press("Shift+Home")
    page.keyboard.type(new, delay=20)


@pytest.mark.slow
def test_studio_edit_check_preview_save(browser_page, local_server, sample_line, screenshot_dir):
    spec = f"{sample_line['DEFECTFORGE_DATASETS']}/sample/defects.yaml"
    before = open(spec).read()
    url = local_server(["-m", "flows.cli", "studio", "--dataset", "sample", "--port", "{port}"],
                       env=sample_line)
    page = browser_page
    page.goto(url)
    problems = page.locator("#spec-problems textarea")
    preview = page.locator("#preview img")
    preview.wait_for(timeout=120_000)  # the page loads with a preview of the saved spec
    assert "No problems" in problems.input_value()

    # a misspelt key: the same located message as `spec check`, while typing
    _replace_line(page, "min_distance: 6", "min_distanse: 6")
    page.wait_for_function(
        "() => document.querySelector('#spec-problems textarea').value.includes('min_distanse')",
        timeout=60_000)
    message = problems.input_value()
    assert f"{spec}:7:1: min_distanse: unknown key `min_distanse`" in message
    assert "did you mean `min_distance`?" in message
    page.click("#save")  # refused while invalid: the file is untouched
    page.locator("#save-status", has_text="not saved").wait_for(timeout=30_000)
    assert open(spec).read() == before

    # fixed: no problems, a new preview for another seed
    _replace_line(page, "min_distanse: 6", "min_distance: 9")
    page.wait_for_function(
        "() => document.querySelector('#spec-problems textarea').value.startsWith('No problems')",
        timeout=60_000)
    first = preview.get_attribute("src")
    page.fill("#seed input", "3")
    page.click("#preview-button")
    page.wait_for_function(
        "(old) => { const img = document.querySelector('#preview img');"
        " return img && img.src !== old && img.naturalWidth > 0; }", arg=first, timeout=60_000)

    # saved as edited: the change and every comment line on disk
    page.click("#save")
    page.wait_for_function(
        "() => document.querySelector('#save-status').innerText.trim().startsWith('saved')",
        timeout=30_000)
    after = open(spec).read()
    assert after == before.replace("min_distance: 6", "min_distance: 9")
    assert after.splitlines()[:4] == before.splitlines()[:4]  # the comment header survives
    preview.wait_for(state="visible", timeout=60_000)  # settled after the seed's own preview
    page.wait_for_function(  # Gradio's status overlay on the preview gone (a clean screenshot)
        "() => !document.querySelector('#preview .wrap.translucent:not(.hide)')"
        " && !document.querySelector('#preview .wrap.default:not(.hide)')", timeout=60_000)
    page.screenshot(path=str(screenshot_dir / "studio.png"), full_page=True)
