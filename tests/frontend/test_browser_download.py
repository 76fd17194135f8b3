"""The analyst's end product, end to end in Chromium: a real digits session is exported and
downloaded as a zip, and that zip alone, loaded in a fresh Python process as its README
says, scores what its ``arch.json`` reports (issue 16, defect 1).

Run with ``pytest -m browser``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from frontend import ids
from tests.support.browser import observed_context
from tests.support.synthetic import LiveServer

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1500, "height": 1000}
# Scores the unzipped export on the saved test images; run from the unzip folder with the
# project off sys.path, so only what the zip holds is used.
SCORE = ("import sys, torch; sys.path[:] = [p for p in sys.path if p != sys.argv[2]]; import model; "
         "x, y = torch.load(sys.argv[1]); net = model.load(); "
         "print(((net(x).argmax(1) == y).float().mean().item()))")


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(workers=True, data_dir=tmp_path_factory.mktemp("navigator")).start()
    yield server
    server.stop()


def _text(page: Any, cid: str) -> str:
    return page.evaluate(f"() => document.getElementById('{cid}').textContent")


def _digits_test_split(out: Path) -> int:
    """The digits test split the worker scored, in the export's input scale (pixel / 16)."""
    import torch

    from supernet.data import load_dataset
    from supernet.export import InputScaling, raw_images

    data = load_dataset("digits")
    torch.save((raw_images(data.x_test, InputScaling.of(data)), data.y_test), out)
    return len(data.y_test)


def test_download_gives_a_zip_that_loads_and_scores_what_arch_json_says(
        browser: Any, real: LiveServer, tmp_path: Path) -> None:
    context = observed_context(browser, viewport=VIEWPORT, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    try:
        pg.goto(real.url)
        pg.wait_for_function(f"() => document.getElementById('{ids.CONNECTION}')?.textContent === 'live'")
        assert pg.is_disabled(f"#{ids.DOWNLOAD}")  # nothing exported yet
        pg.fill(f"#{ids.EPOCHS}", "2")
        pg.click(f"#{ids.START}")
        pg.wait_for_selector(f"#{ids.LEADERBOARD} tbody tr input[type=radio]", timeout=60_000)
        pg.click(f"#{ids.EXPORT}")  # no row selected: the best
        pg.wait_for_function(f"() => document.getElementById('{ids.EXPORT_STATUS}')"
                             ".textContent.includes('test accuracy')", timeout=60_000)
        pg.wait_for_function(f"() => !document.getElementById('{ids.DOWNLOAD}').disabled")
        with pg.expect_download() as info:
            pg.click(f"#{ids.DOWNLOAD}")
        download = info.value
        assert download.suggested_filename.startswith("navigator-s-")
        assert download.suggested_filename.endswith(".zip")
        archive = tmp_path / "export.zip"
        download.save_as(archive)
        pg.once("dialog", lambda dialog: dialog.accept())  # Stop asks first
        pg.click(f"#{ids.STOP}")  # frees the embedded worker for whatever runs next
    finally:
        context.close()
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(archive) as z:
        assert {"model.py", "weights.pt", "arch.json", "README.txt"} <= set(z.namelist())
        z.extractall(unpacked)
    metrics = json.loads((unpacked / "arch.json").read_text())["metrics"]
    images = tmp_path / "digits-test.pt"
    assert _digits_test_split(images) == metrics["test_images"]
    root = str(Path(__file__).resolve().parents[2])
    proc = subprocess.run([sys.executable, "-c", SCORE, str(images), root], cwd=unpacked,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    accuracy = float(proc.stdout.strip())
    print(f"downloaded export: loaded accuracy {accuracy:.4f}, "
          f"arch.json test_accuracy {metrics['test_accuracy']:.4f}")
    assert abs(accuracy - metrics["test_accuracy"]) <= 0.05
    assert metrics["test_accuracy"] > 0.2  # chance is 0.1
