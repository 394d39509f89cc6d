"""User errors: one line, exit status 2, no traceback."""

from __future__ import annotations

from bridge.core.errors import BridgeError


def test_bridge_errors_exit_with_status_2(run_bridge) -> None:  # type: ignore[no-untyped-def]
    assert BridgeError.exit_code == 2
    proc = run_bridge("export", "missing.jsonl", "--bvh", "x.bvh")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("bridge: error: input not found")
    assert "Traceback" not in proc.stderr
