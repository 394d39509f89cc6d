"""What the README and the messages tell a user to install must exist: bridge itself is on no package registry."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
NAME = PYPROJECT["project"]["name"]
EXTRAS = set(PYPROJECT["project"]["optional-dependencies"])

#: ``pip install [options] SPEC`` as written in prose or code (quotes and backticks around SPEC allowed).
_PIP = re.compile(r"pip install((?:\s+-{1,2}[\w-]+)*)\s+['\"`]?([^\s'\"`)]+)")


def _texts() -> dict[str, str]:
    files = [REPO / "README.md", *sorted((REPO / "bridge").rglob("*.py"))]
    return {str(p.relative_to(REPO)): p.read_text(encoding="utf-8") for p in files}


def test_no_install_command_names_bridge_on_a_registry() -> None:
    bad = [
        f"{where}: pip install {spec}"
        for where, text in _texts().items()
        for _, spec in _PIP.findall(text)
        if re.split(r"[\[=<>]", spec)[0].lower() == NAME.lower()
    ]
    assert not bad, (
        f"{NAME} is not on any registry; install it from the checkout (pip install -e '.[extra]'): {bad}"
    )


def test_extras_installed_from_the_checkout_exist() -> None:
    used = {
        extra
        for text in _texts().values()
        for _, spec in _PIP.findall(text)
        if spec.startswith(".[")
        for extra in spec[2:].rstrip("]").split(",")
    }
    assert "ray" in used  # the README says how to get the Ray engine
    assert used <= EXTRAS, f"extras named in install commands but not in pyproject.toml: {used - EXTRAS}"
