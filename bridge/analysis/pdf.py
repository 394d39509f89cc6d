"""The report page printed to PDF by a headless Chromium (or Chrome) found on the machine (``bridge analyze
--pdf``): the page's own print layout (A4), no header or footer lines."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from bridge.core.errors import BridgeError

#: Browser commands tried in order.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    """The path of the first browser of :data:`BROWSERS` on ``PATH``, or None."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def print_pdf(html_path: Path, pdf_path: Path, timeout_s: float = 180.0) -> None:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium.

    Raises:
        BridgeError: no browser is installed, or it failed or wrote no PDF.
    """
    browser = find_browser()
    if browser is None:
        raise BridgeError(
            "--pdf needs Chromium or Chrome (Debian: apt-get install chromium); or open the report and print it"
        )
    with tempfile.TemporaryDirectory() as profile:
        pdf_path.unlink(missing_ok=True)
        try:
            subprocess.run(
                [
                    browser,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    f"--user-data-dir={profile}",
                    "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf_path}",
                    html_path.resolve().as_uri(),
                ],
                capture_output=True,
                timeout=timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BridgeError(f"printing the report to PDF failed ({browser}: {exc})") from None
    if not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        raise BridgeError(f"{browser} wrote no PDF; open {html_path} in a browser and print it instead")


__all__ = ["find_browser", "print_pdf"]
