"""The house rules of the code, checked on the source: imports only go down the layers, no import cycles (not
even inside functions), no module over 600 lines, no function over 80 lines.

The layers, lowest first, are the sub-packages of ``bridge`` listed in :data:`LAYERS` (see ARCHITECTURE.md). A
module may import from its own package and from packages below its own; the modules of one package must not
import each other in a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bridge"

#: Sub-packages of ``bridge``, lowest layer first.
LAYERS: tuple[str, ...] = (
    "core", "tracking", "stages", "multiview", "solve", "avatar", "output", "export", "analysis", "app", "testing",
    "viewer", "cli",
)  # fmt: skip
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, name: str) -> set[str]:
    """Every ``bridge`` module ``path`` imports, anywhere in the file (functions included), as full names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)
    known = modules()
    return {m for m in out if m in known and m != name}


def layer_of(name: str) -> int | None:
    """Rank of the module's package in :data:`LAYERS`; None for ``bridge`` itself and its data packages."""
    parts = name.split(".")
    if len(parts) < 2 or parts[1] not in LAYERS:
        return None
    return LAYERS.index(parts[1])


def graph() -> dict[str, set[str]]:
    return {name: imports_of(path, name) for name, path in modules().items()}


def test_every_package_of_bridge_is_a_layer() -> None:
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert packages - set(LAYERS) <= {"data", "avatars"}, packages - set(LAYERS)
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert not loose, f"modules outside the layer packages: {loose}"


def test_imports_only_go_down_the_layers() -> None:
    wrong = []
    for name, targets in graph().items():
        mine = layer_of(name)
        for target in targets:
            theirs = layer_of(target)
            if target == "bridge" or name == "bridge.__main__" or theirs is None:
                continue
            if mine is None or theirs > mine:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "imports that run up the layers:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    g = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(g.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node, [])
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


@pytest.mark.parametrize("name", sorted(modules()))
def test_module_and_function_sizes(name: str) -> None:
    path = modules()[name]
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines (at most {MAX_MODULE_LINES})"
    long = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            n = (node.end_lineno or node.lineno) - node.lineno + 1
            if n > MAX_FUNCTION_LINES:
                long.append(f"{node.name} ({n} lines, line {node.lineno})")
    assert not long, f"{name}: functions over {MAX_FUNCTION_LINES} lines: {', '.join(long)}"


def test_every_core_module_has_a_test_file() -> None:
    core = sorted(p.stem for p in (PACKAGE / "core").glob("*.py") if p.stem != "__init__")
    missing = [m for m in core if not (ROOT / "tests" / "core" / f"test_{m}.py").is_file()]
    assert not missing, f"core modules without tests/core/test_<module>.py: {missing}"
