"""The atomic writer: a file appears whole or not at all; an existing file survives a failed write. The output
guard: no output is an input, another output or (without force) an existing file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bridge.core.errors import BridgeError
from bridge.core.files import atomic_write, check_outputs, temporary_name


def test_writes_text_and_bytes_and_leaves_no_temporary(tmp_path: Path) -> None:
    atomic_write(tmp_path / "a.txt", "héllo\n")
    atomic_write(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]


def test_a_failed_write_keeps_the_old_file_and_says_so(tmp_path: Path) -> None:
    target = tmp_path / "take.bvh"
    target.write_text("old", encoding="utf-8")
    temporary_name(target).mkdir()  # the temporary name is taken by a folder: the write fails
    with pytest.raises(BridgeError, match="cannot write BVH file .*take.bvh"):
        atomic_write(target, "new", "BVH file")
    assert target.read_text(encoding="utf-8") == "old"
    with pytest.raises(BridgeError, match="check the folder exists"):
        atomic_write(tmp_path / "missing" / "x.txt", "x")


def test_check_outputs_refuses_inputs_links_duplicates_and_existing_files(tmp_path: Path) -> None:
    source = tmp_path / "take.jsonl"
    source.write_text("input\n")
    link = tmp_path / "other-name.jsonl"
    os.link(source, link)  # another name, the same file (inode)
    with pytest.raises(BridgeError, match="is the input"):
        check_outputs([("--out", link)], [source], force=True)
    with pytest.raises(BridgeError, match="is the input"):
        check_outputs([("--out", tmp_path / "." / "take.jsonl")], [str(source)], force=True)
    with pytest.raises(BridgeError, match="same file"):
        check_outputs([("--bvh", tmp_path / "x.bvh"), ("--glb", tmp_path / "sub" / ".." / "x.bvh")])
    with pytest.raises(BridgeError, match="already exists; pass --force"):
        check_outputs([("--bvh", link)], [])
    check_outputs([("--bvh", link)], [], force=True)
    check_outputs([("--bvh", tmp_path / "new.bvh"), ("--glb", None)], [source, None])
    assert source.read_text() == "input\n"
