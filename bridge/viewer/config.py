"""The settings of ``bridge view`` (:class:`ViewConfig`) and what a headless run reports (:class:`ViewResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bridge.app.processor import ProcessorConfig
from bridge.avatar.posing import AvatarModel
from bridge.core.rig import Rig, load_rig
from bridge.tracking.config import TrackerConfig
from bridge.viewer.scene import ViewOptions


@dataclass(frozen=True)
class ViewConfig:
    """Settings of ``bridge view``.

    Attributes:
        input_text: camera / video / recording to track and solve (None: no input).
        listen: (host, port) to receive VMC on instead (receiver mode).
        rig: the rig solved onto (pipeline) or shown at rest (no input, no listen); with ``avatar``, its rig.
        avatar: the user's avatar (``--avatar``): drawn skinned instead of the rig's bones (unless ``mesh`` is
            False), and in receiver mode posed as a receiver with this avatar poses it.
        mesh: draw the avatar's meshes (False: its skeleton as bones, as without an avatar).
        bone_space: receiver mode with an avatar: the space the sender's bone rotations are in (``normalized`` or
            ``original``, as ``bridge stream --bone-space``).
        tracker, processor: the pipeline's settings (as ``bridge stream``).
        options: layout, local axes, mirror, grid.
        width, height: window or image size in pixels.
        snapshot: headless: write one PNG here: of the last frame with a person (pipeline; the last frame if
            nobody was seen), of the frame at ``snapshot_at_s``, or of the first frame received.
        snapshot_at_s: pipeline, headless: the snapshot shows the first frame at or after this time (seconds).
        out_dir: headless: write ``frame_00000.png``… here, one per frame (at most ``frames``); in receiver mode
            one per frame received (frames wait their turn under the CPU budget, none is skipped).
        frames: stop after this many frames (None: until the input ends / the sender goes quiet).
        max_fps: cap on renders per second (window and receiver mode).
        realtime: with a window, play files at their own speed.
        timeout_s: receiver mode, headless: give up when nothing arrives for this long.
        hud: write the status and the colour legend on rendered images.
        cpu_share: receiver mode: draw with at most this share of one CPU core
            (:class:`bridge.viewer.budget.CpuBudget`); 0: no limit. Software rendering competes with the tracker
            for the same cores.
        views, calibration: two or more inputs triangulated with that calibration (``--input`` 2–4 times with
            ``--calibration``; ``input_text`` is then the first), ``()``: one input.
    """

    input_text: str | None = None
    listen: tuple[str, int] | None = None
    rig: Rig = field(default_factory=load_rig)
    avatar: AvatarModel | None = None
    mesh: bool = True
    bone_space: str = "normalized"
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    processor: ProcessorConfig = field(default_factory=ProcessorConfig)
    options: ViewOptions = field(default_factory=ViewOptions)
    width: int = 960
    height: int = 720
    snapshot: Path | None = None
    snapshot_at_s: float | None = None
    out_dir: Path | None = None
    frames: int | None = None
    max_fps: float = 30.0
    realtime: bool = True
    timeout_s: float = 10.0
    hud: bool = True
    cpu_share: float = 0.1
    views: tuple[str, ...] = ()
    calibration: str | Path | None = None

    @property
    def headless(self) -> bool:
        return self.snapshot is not None or self.out_dir is not None


@dataclass
class ViewResult:
    """What a run drew: image paths, the number of frames drawn, which frame the snapshot shows (its sequence
    number and time, and a note when it is not what was asked for), and the time each frame's avatar took to
    pose and skin (ms, :class:`bridge.viewer.compose.Composer`)."""

    images: list[Path] = field(default_factory=list)
    frames: int = 0
    avatar_ms: list[float] = field(default_factory=list)
    snapshot_frame: int | None = None
    snapshot_t_s: float | None = None
    note: str = ""
