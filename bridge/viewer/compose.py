"""One :class:`~bridge.viewer.feeds.ViewItem` → the :class:`~bridge.viewer.scene.SceneContent` to draw: the rig's
bones or the skinned avatar, the landmarks, the grid, the status and the legend."""

from __future__ import annotations

import time

from bridge.avatar.posing import AvatarModel
from bridge.viewer.avatar import AvatarView
from bridge.viewer.feeds import ViewItem
from bridge.viewer.receiver import ReceivedFrame
from bridge.viewer.scene import (
    RIG_LEGEND,
    LineLayer,
    SceneContent,
    SphereLayer,
    ViewOptions,
    compose,
    floor_grid,
    layout_shifts,
    skeleton_from_world,
)

#: Opacity of the avatar drawn over the landmarks (overlay layout), so that they show through.
OVERLAY_OPACITY = 0.45


def received_layers(frame: ReceivedFrame, options: ViewOptions) -> list[LineLayer | SphereLayer]:
    """The skeleton an engine would show for ``frame`` (receiver mode, no avatar)."""
    names, parents, joints, rots = frame.world()
    if not names:
        return []
    lines, spheres, axes = skeleton_from_world("rig", names, parents, joints, rots, None, options.axes_m)
    out: list[LineLayer | SphereLayer] = [lines, spheres]
    return out + ([axes] if axes is not None else [])


class Composer:
    """Builds each frame's scene with the view options and, when given, the avatar drawn skinned.

    ``avatar_ms`` collects the time each frame's avatar took (posing, morph targets, skinning), in ms.
    """

    def __init__(
        self, options: ViewOptions, avatar: AvatarModel | None = None, bone_space: str = "normalized"
    ) -> None:
        self.options = options
        self.avatar = AvatarView(avatar, bone_space=bone_space) if avatar is not None else None
        self.avatar_ms: list[float] = []

    def __call__(self, item: ViewItem) -> SceneContent:
        options = self.options
        if item.received is not None:
            return self._received(item.received, item.status)
        meshes: tuple = ()
        if self.avatar is not None and item.pose is not None:
            shift, _ = layout_shifts(options, item.landmarks is not None)
            overlay = item.landmarks is not None and options.layout == "overlay"
            t0 = time.perf_counter()
            meshes = self.avatar.pose_layers(
                item.pose, item.blendshapes, shift, OVERLAY_OPACITY if overlay else 1.0
            )
            self.avatar_ms.append(1000.0 * (time.perf_counter() - t0))
        return compose(item.pose, item.landmarks, options, item.status, meshes)

    def _received(self, frame: ReceivedFrame, status: str) -> SceneContent:
        layers: list[LineLayer | SphereLayer] = [floor_grid()] if self.options.grid else []
        meshes: tuple = ()
        if self.avatar is not None and "Hips" in frame.bones:
            t0 = time.perf_counter()
            meshes = self.avatar.received_layers(frame)
            self.avatar_ms.append(1000.0 * (time.perf_counter() - t0))
        else:
            layers += received_layers(frame, self.options)
        return SceneContent(
            lines=tuple(x for x in layers if isinstance(x, LineLayer)),
            spheres=tuple(x for x in layers if isinstance(x, SphereLayer)),
            status=status,
            meshes=meshes,
            legend=() if self.avatar is not None else RIG_LEGEND,
        )
