"""Bone names: Unity HumanBodyBones."""

from __future__ import annotations

from bridge.core.humanoid import HUMAN_BODY_BONES, REQUIRED_BONES


def test_names_are_unity_human_body_bones() -> None:
    assert len(HUMAN_BODY_BONES) == 55 == len(set(HUMAN_BODY_BONES))  # Unity's 55 bones (LastBone excluded)
    assert set(REQUIRED_BONES) <= set(HUMAN_BODY_BONES)
    assert {"Hips", "LeftUpperArm", "RightLittleDistal", "Jaw", "UpperChest"} <= set(HUMAN_BODY_BONES)
