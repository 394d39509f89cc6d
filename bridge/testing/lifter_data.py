"""Training and evaluation material for the temporal lifter: real mocap seen through random virtual webcams.

Clips (resampled to :data:`FPS` = 30 fps, the webcam rate the lifter runs at):

* CMU ``01_01``, ``01_03`` (120 fps; frame 0, the converter's T-pose, dropped) and ``Boxing_Toes`` (100 fps)
  from Debian ``assimp-testmodels``;
* the 15 DeepMimic ``humanoid3d`` clips in ``pybullet_data`` (pip ``pybullet==3.2.7``, the ``train`` extra),
  read by :mod:`bridge.testing.deepmimic`.

Whole clips are held out for evaluation and never used in training (:data:`HELD_OUT`): CMU ``01_03`` (37 s,
so the tests, which have no pybullet, can evaluate on it) and DeepMimic ``dance_b``, ``getup_faceup`` and
``kick``.

A *view* (:func:`render_view`) is a clip through one :class:`~bridge.testing.mocap.VirtualCamera`: ground truth =
:func:`bridge.testing.mocap.mocap_landmarks`' 33 world landmarks (MediaPipe frame, hip-centred, metres), input =
its ``image_xy`` with detector-like errors (:func:`detector_noise`): per-landmark Gaussian jitter (extremities
twice as much), a slowly drifting per-landmark offset, short outlier bursts (a landmark off by a large amount
for 1–6 frames), and dropped frames that repeat the previous detection. Random cameras (:func:`random_camera`):
yaw all round, distance 2.5–6 m, optical centre 0.4–2.0 m above the floor (elevation), horizontal field of
view 45–90° (focal length), 16:9 or 4:3 images, following the subject or fixed; random playback speed 0.8–1.25×.

Metrics (:func:`mpjpe_mm`, :func:`pa_mpjpe_mm`, :func:`accel_error_mm`) follow VideoPose3D / HMMR: mean
per-joint position error after hip-centring, after a per-frame similarity Procrustes alignment, and the mean
error of per-joint accelerations (second differences at 30 fps, mm/frame²).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bridge.core.landmarks import NUM_LANDMARKS, PoseLandmark
from bridge.export.bvh_file import BvhMotion, read_bvh
from bridge.stages.lifter import LifterModel
from bridge.testing.mocap import mocap_landmarks
from bridge.testing.virtual_camera import VirtualCamera

FloatArray = npt.NDArray[np.float64]
L = PoseLandmark

FPS = 30.0
CMU_BVH_DIR = Path("/usr/share/assimp/models/BVH")
CMU_CLIPS = ("01_01", "01_03", "Boxing_Toes")
#: Clips never used for training: ``cmu:NAME`` or ``deepmimic:NAME``.
HELD_OUT: tuple[str, ...] = ("cmu:01_03", "deepmimic:dance_b", "deepmimic:getup_faceup", "deepmimic:kick")

#: Landmarks whose detection noise is doubled (hands and feet move fast and are small in the image).
EXTREMITIES = np.array([int(m) for m in L if any(s in m.name for s in ("WRIST", "PINKY", "INDEX", "THUMB",
                                                                         "ANKLE", "HEEL", "FOOT"))])  # fmt: skip


@dataclass(frozen=True, eq=False)
class Clip:
    """A mocap clip and the frames of it that play at 30 fps (at ``speed`` times the recorded speed)."""

    key: str
    motion: BvhMotion
    frames: npt.NDArray[np.intp]


def clip_frames(motion: BvhMotion, speed: float = 1.0, skip_first: bool = False) -> npt.NDArray[np.intp]:
    """Frame indices that play ``motion`` at 30 fps × ``speed`` (nearest frame)."""
    start = 1 if skip_first else 0
    step = motion.fps * speed / FPS
    n = int((motion.num_frames - 1 - start) / step) + 1
    return np.minimum(np.round(start + np.arange(n) * step).astype(np.intp), motion.num_frames - 1)


def load_motions(include_deepmimic: bool = True) -> dict[str, BvhMotion]:
    """Every clip available on this machine: ``cmu:NAME`` (native rate) and ``deepmimic:NAME`` (30 fps)."""
    out: dict[str, BvhMotion] = {}
    for name in CMU_CLIPS:
        path = CMU_BVH_DIR / f"{name}.bvh"
        if path.is_file():
            out[f"cmu:{name}"] = read_bvh(path)
    if include_deepmimic:
        from bridge.testing.deepmimic import deepmimic_clips, deepmimic_motion

        for name, path in deepmimic_clips().items():
            out[f"deepmimic:{name}"] = deepmimic_motion(path, fps=FPS)
    return out


def clip(key: str, motion: BvhMotion, speed: float = 1.0) -> Clip:
    """A :class:`Clip` of a motion from :func:`load_motions` played at ``speed``."""
    return Clip(key, motion, clip_frames(motion, speed, skip_first=key.startswith("cmu:0")))


def random_camera(rng: np.random.Generator) -> VirtualCamera:
    """A random virtual webcam (see the module docstring for the ranges)."""
    width, height = (1280, 720) if rng.random() < 0.6 else (640, 480)
    return VirtualCamera(
        yaw_deg=float(rng.uniform(0.0, 360.0)),
        distance_m=float(rng.uniform(2.5, 6.0)),
        height_m=float(rng.uniform(0.4, 2.0)),
        hfov_deg=float(rng.uniform(45.0, 90.0)),
        width=width,
        height=height,
        follow=bool(rng.random() < 0.7),
    )


@dataclass(frozen=True, eq=False)
class View:
    """One clip seen by one camera.

    Attributes:
        key: the clip.
        image_xy: (T, 33, 2) float, normalised image coordinates (x right, y down), with detector noise.
        image_size: (width, height) pixels.
        world_xyz_m: (T, 33, 3) float, ground truth: MediaPipe world frame, hip-centred, metres.
    """

    key: str
    image_xy: FloatArray
    image_size: tuple[int, int]
    world_xyz_m: FloatArray


def detector_noise(image_xy: FloatArray, image_size: tuple[int, int], rng: np.random.Generator,
                   level: float = 1.0) -> FloatArray:  # fmt: skip
    """Detector-like errors added to clean 2-D landmarks (see the module docstring).

    Args:
        image_xy: (T, 33, 2) float, normalised image coordinates.
        image_size: (width, height) pixels.
        level: multiplies every error amplitude (0 = clean).

    Returns:
        (T, 33, 2) float, normalised image coordinates with errors.
    """
    w, h = image_size
    p = np.array(image_xy, dtype=np.float64)
    p[..., 0] *= w / h  # work in image heights
    t_n = p.shape[0]
    if level <= 0 or t_n == 0:
        return np.asarray(image_xy, dtype=np.float64).copy()
    centre = 0.5 * (p[:, int(L.LEFT_HIP)] + p[:, int(L.RIGHT_HIP)])
    size = np.sqrt(np.mean(np.sum((p - centre[:, None]) ** 2, axis=-1), axis=-1))  # (T,) body spread
    sigma = np.full(NUM_LANDMARKS, 1.0)
    sigma[EXTREMITIES] = 2.0
    # Jitter of 1–4 % of the body's RMS spread: MediaPipe's 2-D landmarks jitter by about 1 % of the image
    # height for a person filling ~60 % of it (spread ≈ 0.25 × their height).
    amp = level * rng.uniform(0.01, 0.04) * size[:, None, None]
    noise = rng.normal(size=p.shape) * sigma[None, :, None] * amp
    # Slowly drifting offsets (a few frames of correlation), as MediaPipe's landmarks wander.
    drift = rng.normal(size=p.shape)
    kernel = np.ones(5) / 5.0
    drift = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), 0, drift)
    noise += drift * sigma[None, :, None] * amp * 1.5
    # Outlier bursts.
    n_bursts = rng.poisson(level * 0.01 * t_n * NUM_LANDMARKS / 3.0)
    for _ in range(int(n_bursts)):
        t0 = int(rng.integers(0, t_n))
        j = int(rng.integers(0, NUM_LANDMARKS))
        span = int(rng.integers(1, 7))
        noise[t0 : t0 + span, j] += rng.normal(size=2) * 0.15 * size[t0]
    out = p + noise
    # Dropped frames: the previous detection is repeated.
    drop = np.asarray(rng.random(t_n) < level * 0.02)
    drop[0] = False
    for t in np.flatnonzero(drop):
        out[t] = out[t - 1]
    out[..., 0] *= h / w
    return np.asarray(out, dtype=np.float64)


def render_view(c: Clip, camera: VirtualCamera, rng: np.random.Generator | None = None,
                noise_level: float = 1.0) -> View:  # fmt: skip
    """Clip ``c`` through ``camera``: ground-truth world landmarks and (noisy unless rng is None) image points."""
    m = mocap_landmarks(c.motion, frames=c.frames, camera=camera)
    xy = m.image_xy if rng is None else detector_noise(m.image_xy, camera.image_size, rng, noise_level)
    return View(key=c.key, image_xy=xy, image_size=camera.image_size, world_xyz_m=m.world_xyz_m)


def evaluation_views(motions: dict[str, BvhMotion], keys: tuple[str, ...] = HELD_OUT,
                     seed: int = 2019) -> Iterator[View]:  # fmt: skip
    """The fixed evaluation protocol: each held-out clip at 1× speed through 8 cameras (yaw 0°, 45° … 315°;
    distance, height and field of view drawn from the training ranges with ``seed``), with seeded detector
    noise. Clips missing on this machine are skipped."""
    rng = np.random.default_rng(seed)
    for key in keys:
        if key not in motions:
            continue
        c = clip(key, motions[key])
        for k in range(8):
            cam = random_camera(rng)
            cam = VirtualCamera(
                yaw_deg=45.0 * k, distance_m=cam.distance_m, height_m=cam.height_m, hfov_deg=cam.hfov_deg,
                width=cam.width, height=cam.height, follow=cam.follow,
            )  # fmt: skip
            yield render_view(c, cam, rng)


# -------------------------------------------------------------------------------------------------- metrics


def mpjpe_mm(pred_m: FloatArray, true_m: FloatArray) -> float:
    """Mean per-joint position error, mm: (T, J, 3) vs (T, J, 3), both hip-centred, metres."""
    return float(np.mean(np.linalg.norm(pred_m - true_m, axis=-1)) * 1000.0)


def procrustes_align(pred_m: FloatArray, true_m: FloatArray) -> FloatArray:
    """(T, J, 3) ``pred`` moved onto ``true`` by the best per-frame similarity (rotation, scale, translation)."""
    mu_p = pred_m.mean(axis=1, keepdims=True)
    mu_t = true_m.mean(axis=1, keepdims=True)
    p0, t0 = pred_m - mu_p, true_m - mu_t
    h = np.einsum("tji,tjk->tik", p0, t0)  # (T, 3, 3)
    u, s, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.einsum("tij,tjk->tik", vt.transpose(0, 2, 1), u.transpose(0, 2, 1))))
    fix = np.ones_like(s)
    fix[:, -1] = d
    r = np.einsum("tij,tj,tjk->tik", vt.transpose(0, 2, 1), fix, u.transpose(0, 2, 1))  # (T, 3, 3)
    scale = np.sum(s * fix, axis=1) / np.maximum(np.sum(p0**2, axis=(1, 2)), 1e-12)
    return np.asarray(scale[:, None, None] * np.einsum("tik,tjk->tji", r, p0) + mu_t, dtype=np.float64)


def pa_mpjpe_mm(pred_m: FloatArray, true_m: FloatArray) -> float:
    """MPJPE after per-frame Procrustes alignment (rotation, scale, translation), mm."""
    return mpjpe_mm(procrustes_align(pred_m, true_m), true_m)


def accel_error_mm(pred_m: FloatArray, true_m: FloatArray) -> float:
    """Mean error of per-joint accelerations (second differences, one per frame), mm/frame²."""
    if pred_m.shape[0] < 3:
        return float("nan")
    a_p = pred_m[2:] - 2 * pred_m[1:-1] + pred_m[:-2]
    a_t = true_m[2:] - 2 * true_m[1:-1] + true_m[:-2]
    return float(np.mean(np.linalg.norm(a_p - a_t, axis=-1)) * 1000.0)


def evaluate_model(model: LifterModel, views: list[View]) -> dict[str, float]:
    """MPJPE, PA-MPJPE (mm) and acceleration error (mm/frame²) of a lifter on ``views``, each view lifted as one
    sequence (edges padded as at inference), frame-weighted over all views."""
    sums = {"mpjpe_mm": 0.0, "pa_mpjpe_mm": 0.0, "accel_mm": 0.0}
    n_frames = n_acc = 0
    for v in views:
        pred = model.lift(v.image_xy, v.image_size)
        t_n = pred.shape[0]
        sums["mpjpe_mm"] += mpjpe_mm(pred, v.world_xyz_m) * t_n
        sums["pa_mpjpe_mm"] += pa_mpjpe_mm(pred, v.world_xyz_m) * t_n
        if t_n >= 3:
            sums["accel_mm"] += accel_error_mm(pred, v.world_xyz_m) * (t_n - 2)
            n_acc += t_n - 2
        n_frames += t_n
    return {
        "mpjpe_mm": sums["mpjpe_mm"] / max(n_frames, 1),
        "pa_mpjpe_mm": sums["pa_mpjpe_mm"] / max(n_frames, 1),
        "accel_mm": sums["accel_mm"] / max(n_acc, 1) if n_acc else math.nan,
        "frames": float(n_frames),
    }
