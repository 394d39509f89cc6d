"""Rigs: validation of rig documents (one line naming the problem), forward kinematics known answers, scaling."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bridge.core.rig import RigError, avatars_dir, forward_kinematics, load_rig, rig_from_json, scaled


@pytest.fixture(scope="module")
def doc() -> dict[str, object]:
    return json.loads((avatars_dir() / "default.json").read_text(encoding="utf-8"))


def _bones(doc: dict[str, object]) -> list[dict[str, object]]:
    bones = doc["bones"]
    assert isinstance(bones, list)
    return bones


def _edit(doc: dict[str, object], bone: str, **changes: object) -> dict[str, object]:
    out = copy.deepcopy(doc)
    for b in _bones(out):
        if b["name"] == bone:
            b.update(changes)
    return out


def test_the_default_rig_loads_by_name_and_by_path(doc: dict[str, object]) -> None:
    rig = load_rig("default")
    assert rig.bones[0] == "Hips" and len(rig) == len(_bones(doc))
    assert all(rig.parents[i] < i for i in range(1, len(rig)))  # parents first
    assert 1.6 < rig.height_m < 1.85
    assert np.array_equal(load_rig(avatars_dir() / "default.json").offsets_m, rig.offsets_m)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda d: _edit(d, "Spine", name="Backbone"), "unknown name 'Backbone'"),
        (lambda d: _edit(d, "Spine", parent="Tail"), "parent Tail, which is not in the rig"),
        (lambda d: _edit(d, "Spine", offset=[0, "x", 0]), "must be a list of 3 numbers"),
        (lambda d: _edit(d, "Spine", offset=[0, float("nan"), 0]), "non-finite"),
        (lambda d: _edit(d, "Spine", offset=[0, 0, 0]), "zero length"),
        (lambda d: _edit(d, "Hips", parent="Spine"), "exactly one root bone, Hips"),
        (lambda d: {**d, "version": 7}, "not supported"),
        (lambda d: {**d, "bones": [b for b in _bones(d) if b["name"] != "LeftHand"]}, "LeftHand"),
        (lambda d: {**d, "bones": [*_bones(d), _bones(d)[1]]}, "appears twice"),
    ],
)
def test_bad_rigs_are_named_in_one_line(doc: dict[str, object], change, needle: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RigError, match=needle) as err:
        rig_from_json(change(doc), "test.json")
    assert "\n" not in str(err.value) and "test.json" in str(err.value)


def test_a_cycle_is_reported(doc: dict[str, object]) -> None:
    d = _edit(_edit(doc, "Chest", parent="UpperChest"), "UpperChest", parent="Chest")
    with pytest.raises(RigError, match="cycle"):
        rig_from_json(d)


def test_missing_and_avatar_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(RigError, match="not found"):
        load_rig(tmp_path / "missing.json")
    (tmp_path / "a.vrm").write_bytes(b"glTF")
    with pytest.raises(RigError, match="pass it with --avatar"):
        load_rig(tmp_path / "a.vrm")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(RigError, match="not readable JSON"):
        load_rig(tmp_path / "bad.json")


def test_forward_kinematics_known_answer() -> None:
    rig = load_rig()
    rest, _ = forward_kinematics(rig, Rotation.identity(len(rig)))
    np.testing.assert_allclose(rest[rig.index("Hips")], rig.offsets_m[0])
    q = np.tile([0.0, 0.0, 0.0, 1.0], (len(rig), 1))
    q[rig.index("LeftUpperArm")] = Rotation.from_euler("y", -90, degrees=True).as_quat()  # the arm points +Z
    pos, rot = forward_kinematics(rig, Rotation.from_quat(q))
    elbow = pos[rig.index("LeftLowerArm")] - pos[rig.index("LeftUpperArm")]
    np.testing.assert_allclose(
        elbow, [0.0, 0.0, np.linalg.norm(rig.offsets_m[rig.index("LeftLowerArm")])], atol=1e-12
    )
    np.testing.assert_allclose(rot[rig.index("LeftHand")] @ [1, 0, 0], [0, 0, 1], atol=1e-12)  # children follow
    many, _ = forward_kinematics(rig, Rotation.from_quat(np.tile(q, (3, 1))), np.zeros((3, 3)))
    assert many.shape == (3, len(rig), 3)
    np.testing.assert_allclose(many[1] - many[1][0], pos - pos[0], atol=1e-12)


def test_scaled_rig_is_taller_by_the_factor() -> None:
    rig = load_rig()
    assert scaled(rig, 1.1).height_m == pytest.approx(1.1 * rig.height_m)
    with pytest.raises(Exception, match="positive"):
        scaled(rig, 0.0)
