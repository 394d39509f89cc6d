"""The report page on its own: definitions and sign conventions, the symmetry formula, normative ranges with
their source, the person tracks and the view column on the page; stills of the key moments read from the real
Sports2D demo video (and a blank canvas for a recording); rendered by headless Chromium (screenshot: the
stills' skeletons and the normative chart are drawn) and printed to PDF."""

from __future__ import annotations

import base64
import html
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from bridge.analysis.analyse import analyse
from bridge.analysis.definitions import DEFINITIONS, NORM_SOURCE, NORMS, SYMMETRY_TEXT
from bridge.analysis.page_tables import VIEW_NOT_ASSESSED
from bridge.analysis.report import write_report
from bridge.analysis.stills import LEFT_RGB, RIGHT_RGB, key_moments
from bridge.core.landmarks import LandmarkFrame
from bridge.stages.flips import repair_flips

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_angle_table_is_the_pages() -> None:
    """The README's angle table says what the page says (one source: bridge.analysis.definitions)."""
    text = README.read_text(encoding="utf-8")
    for d in DEFINITIONS:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{d.joint}_deg`"))
        cells = [c.strip().replace("*", "") for c in row.strip("|").split("|")]
        assert cells[1:] == [d.definition, d.zero, d.positive], d.joint


def _images(page: str, kind: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(rf"src='data:image/{kind};base64,([^']+)'", page)]


@pytest.fixture(scope="module")
def demo_result(sports2d_tracked: tuple[object, list[LandmarkFrame]]):  # type: ignore[no-untyped-def]
    _, frames = sports2d_tracked
    return analyse(repair_flips(frames))


@pytest.mark.slow
def test_page_of_a_recording_stands_on_its_own(demo_result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Without a video (a recording): the page says so and draws the skeletons on a blank canvas; it carries
    every definition, the symmetry formula, the normative values with their source, the person tracks, the
    view column (assessed) and the exports' frame, and no link to anything outside it."""
    import cv2

    files = write_report(demo_result, tmp_path, "demo", "demo.jsonl", None, "Recording demo.jsonl.")
    page = files.html_path.read_text(encoding="utf-8")
    text = html.unescape(page)
    for d in DEFINITIONS:
        assert d.definition in text and d.positive in text
    assert SYMMETRY_TEXT in text and NORM_SOURCE in text
    for n in NORMS:
        assert n.text in text
    assert "see the README" not in text and "http" not in page.replace("http-equiv", "")
    assert 'id="persons"' in page and VIEW_NOT_ASSESSED not in text and "Camera view: " in text
    assert "holds landmarks, not images" in text and "Y = up" in text
    stills = _images(page, "jpeg")
    assert len(stills) == len(key_moments(demo_result)) >= 10
    blank = cv2.imdecode(np.frombuffer(stills[0], np.uint8), cv2.IMREAD_COLOR)
    assert np.median(blank) > 220  # the light canvas, not a photo
    assert {p.suffix for p in files.exports} == {".trc", ".mot", ".c3d"} and all(
        p.is_file() for p in files.exports
    )


def _screenshot(chromium: str, page: Path, shot: Path, height: int) -> np.ndarray:
    import cv2

    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", f"--screenshot={shot}", f"--window-size=1280,{height}",
                page.resolve().as_uri(),
            ],
            capture_output=True, timeout=180, check=False,
        )  # fmt: skip
    assert shot.is_file(), "chromium wrote no screenshot"
    image = cv2.imread(str(shot))
    assert image is not None
    return np.asarray(image[..., ::-1])  # RGB


def _pixels_near(rgb: np.ndarray, colour: tuple[int, int, int], tol: int = 25) -> int:
    return int((np.abs(rgb.astype(int) - np.array(colour)).max(axis=2) <= tol).sum())


@pytest.mark.slow
def test_video_report_in_headless_chromium_with_stills_norms_and_pdf(
    sports2d_video: Path,
    run_bridge,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    """``bridge analyze`` on the real Sports2D demo video with ``--reps`` and ``--pdf``: every still is the video
    frame of its key moment (it matches the frame read with OpenCV, away from the drawn skeleton); Chromium
    renders the page with the stills' skeletons (their left and right colours) and the normative chart (its
    green normative bands and navy measured bars) on screen; the PDF is written."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian chromium is not installed (install.sh --test installs it)")
    import cv2

    out = tmp_path / "out"
    proc = run_bridge(
        "analyze",
        str(sports2d_video),
        "--out",
        str(out),
        "--reps",
        "both_knee_flexion:25:40",
        "--pdf",
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr
    page_path = out / "demo_report.html"
    page = page_path.read_text(encoding="utf-8")
    assert "Frames of the video at each key moment" in html.unescape(page)
    captions = re.findall(r"(\d+\.\d\d) s, frame (\d+)</span>", page)
    stills = _images(page, "jpeg")
    assert len(stills) == len(captions) >= 10
    cap = cv2.VideoCapture(str(sports2d_video))
    video = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        video.append(frame)
    for data, (_, index) in zip(stills, captions, strict=True):
        still = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        frame = cv2.resize(video[int(index)], (still.shape[1], still.shape[0]), interpolation=cv2.INTER_AREA)
        diff = np.abs(still.astype(int) - frame.astype(int)).max(axis=2)
        assert np.median(diff) < 12, f"frame {index}: the still is not that video frame"
    rgb = _screenshot(chromium, page_path, tmp_path / "page.png", 6000)
    assert _pixels_near(rgb, LEFT_RGB) > 200 and _pixels_near(rgb, RIGHT_RGB) > 200, "no skeleton drawn"
    assert _pixels_near(rgb, (0x8F, 0xD1, 0x8F), 12) > 3000, "no normative bands"
    assert _pixels_near(rgb, (0x1F, 0x3A, 0x93), 12) > 1000, "no measured bars"
    pdf = out / "demo_report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.read_bytes().count(b"/Type /Page") >= 3
    assert (out / "demo_reps.csv").is_file() and "repetitions" in proc.stdout


def test_pdf_without_a_browser_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--pdf`` on a machine without Chromium or Chrome: a BridgeError that says what to install, no file."""
    from bridge.analysis import pdf
    from bridge.core.errors import BridgeError

    monkeypatch.setenv("PATH", str(tmp_path))  # no browser on it
    page = tmp_path / "r.html"
    page.write_text("<html></html>", encoding="utf-8")
    with pytest.raises(BridgeError, match="Chromium"):
        pdf.print_pdf(page, tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()
