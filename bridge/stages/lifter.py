"""Temporal 3-D lifting: 2-D landmarks over a window of frames → 3-D world landmarks, in numpy.

The model is VideoPose3D's (Pavllo et al., CVPR 2019: "3D human pose estimation in video with temporal
convolutions and semi-supervised training"): a fully convolutional network of dilated temporal 1-D
convolutions over 2-D keypoints. Here:

* **Input**, per frame: the 33 MediaPipe landmarks' normalised image coordinates (:attr:`LandmarkFrame.image_xy`)
  made aspect-correct (x × width / height), centred on the hips' midpoint and divided by the RMS distance of
  the 12 limb landmarks (shoulders, elbows, wrists, hips, knees, ankles) from it (:func:`normalise_image_points`):
  66 numbers that do not depend on where the person stands in the image or how far from the camera.
* **Network**: an expanding convolution (kernel ``filter_widths[0]``, dilation 1) and one residual block per
  further filter width (a convolution of kernel ``w`` and dilation ``product of the earlier widths``, then a
  1×1 convolution, each followed by ReLU; batch norm folded into the weights), then a 1×1 convolution to
  99 outputs. Receptive field = product of the widths: ``(3, 3, 3)`` → 27 frames, ``(3, 3, 3, 3)`` → 81,
  ``(3, 3, 3, 3, 3)`` → 243; ``(1, 1, 1, 1)`` is the single-frame baseline (same depth, no context).
* **Symmetric** models see ``(RF-1)/2`` frames before and after the output frame (offline, batch);
  **causal** models see the output frame and the ``RF-1`` before it, never after (live streaming): their
  residual connections take the newest frame of each block's window, and sequences are padded on the left
  only. Sequence edges are padded by repeating the first (and, symmetric, the last) frame, as VideoPose3D does.
* **Output**, per frame: the 33 landmarks in the MediaPipe world frame (x right in the image, y down, z away
  from the camera), hip-centred (the midpoint of LEFT_HIP and RIGHT_HIP is re-set to the origin), metres —
  the form of :attr:`LandmarkFrame.world_xyz_m`, so flip repair, filter, solver and encoders use it unchanged.
  Every landmark is predicted (face, hand and foot points included: the training data has them, see
  :mod:`bridge.testing.lifter_data`).

Weights are trained by ``tools/train_lifter.py`` (torch, the ``train`` extra) on motion capture seen through
random virtual webcams, and ship as small ``.npz`` files in ``bridge/data`` (float16, a few hundred kB).
Inference is plain numpy matrix products: a window evaluated with strided convolutions (the "optimised
single-frame" form of VideoPose3D: every layer computes only the outputs the final frame needs) for live use,
and whole sequences with dilated convolutions for batch use. Both give the same numbers (tested).

Live streaming (:class:`CausalLifter`): a ring buffer holds the normalised inputs of the last RF frames; each new
frame is one window evaluation. A frame without a person passes through unchanged and, like a gap longer than
``reset_gap_s``, empties the buffer: the next tracked frame restarts it (repeated as its own past).
Landmark visibility is not an input of these 2-D lifters: MediaPipe reports a position for every landmark,
occluded or not, and the training data's 2-D noise, outliers and held frames stand in for its errors.

**Refiners** (``refine_*`` weights, ``--lifter refine``) are the same network with :data:`REFINE_INPUTS` inputs
per frame (:func:`refiner_inputs`: MediaPipe's own hip-centred world landmarks, their visibilities and the
normalised 2-D points); their 99 outputs are a correction added to MediaPipe's landmarks, scaled by the model's
:attr:`LifterModel.correction_scale` (stored with the weights; the share of the predicted correction that lowers
the error most on the held-out renders). They are trained by ``tools/train_refiner.py`` on renders of mocap run
through the real tracker (:mod:`bridge.testing.lifter_data_real`), so they learn the tracker's real errors.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame, PoseLandmark

FloatArray = npt.NDArray[np.float64]

L = PoseLandmark

#: Values of ``--lifter``: MediaPipe's own world landmarks, this module's temporal model over 2-D points, or the
#: temporal refiner of MediaPipe's world landmarks (trained on the real tracker's errors on renders).
LIFTER_CHOICES: tuple[str, ...] = ("mediapipe", "temporal", "refine")

#: Landmarks whose RMS distance from the hips' midpoint sets the 2-D scale of a frame.
SCALE_LANDMARKS: tuple[PoseLandmark, ...] = (
    L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_ELBOW, L.RIGHT_ELBOW, L.LEFT_WRIST, L.RIGHT_WRIST,
    L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE,
)  # fmt: skip
_SCALE_IDX = np.array([int(i) for i in SCALE_LANDMARKS])

#: Number of input values per frame (33 landmarks × 2) and of outputs (33 × 3).
NUM_INPUTS = NUM_LANDMARKS * 2
NUM_OUTPUTS = NUM_LANDMARKS * 3
#: Inputs per frame of a refiner: MediaPipe's hip-centred world landmarks (99), visibilities (33), 2-D (66).
REFINE_INPUTS = NUM_LANDMARKS * 6

#: Packaged weights (``bridge/data/lifter_<name>.npz``): the live default, the batch default, the baseline.
#: RF 27 generalises best to unseen clips with the little mocap there is to train on (README, Temporal lifter).
DEFAULT_CAUSAL_MODEL = "rf27_causal"
DEFAULT_SYMMETRIC_MODEL = "rf27"
BASELINE_MODEL = "rf1"
#: Key of :attr:`LifterModel.correction_scale` in a model's ``info``.
CORRECTION_SCALE_KEY = "correction_scale"
#: Packaged refiners (``--lifter refine``): live (causal) and batch (symmetric).
REFINE_CAUSAL_MODEL = "refine_rf27_causal"
REFINE_SYMMETRIC_MODEL = "refine_rf27"


def normalise_image_points(image_xy: npt.ArrayLike, image_size: tuple[int, int]) -> FloatArray:
    """The lifter's input: 2-D landmarks made aspect-correct, hip-centred and scale-free.

    Args:
        image_xy: (..., 33, 2) float, MediaPipe normalised image coordinates (x right, y down, 0..1).
        image_size: (width, height) in pixels of the image they were measured in.

    Returns:
        (..., 33, 2) float64: ``(x · w/h, y)`` minus the hips' midpoint, divided by the RMS distance of
        :data:`SCALE_LANDMARKS` from it (so the body's spread is about 1 whatever the distance and framing).
    """
    p = np.array(image_xy, dtype=np.float64)
    w, h = image_size
    p[..., 0] *= float(w) / float(h)
    centre = 0.5 * (p[..., int(L.LEFT_HIP), :] + p[..., int(L.RIGHT_HIP), :])
    p -= centre[..., None, :]
    rms = np.sqrt(np.mean(np.sum(p[..., _SCALE_IDX, :] ** 2, axis=-1), axis=-1))
    return np.asarray(p / np.maximum(rms, 1e-6)[..., None, None], dtype=np.float64)


def refiner_inputs(world_xyz_m: npt.ArrayLike, visibility: npt.ArrayLike, image_xy: npt.ArrayLike,
                   image_size: tuple[int, int]) -> FloatArray:  # fmt: skip
    """A refiner's input: (..., 33, 3) MediaPipe world landmarks (metres, hip-centred here), (..., 33)
    visibilities (clipped to 0..1) and (..., 33, 2) normalised image points (:func:`normalise_image_points`)
    → (..., 198) float64 in that order."""
    w = hip_centre(np.asarray(world_xyz_m, dtype=np.float64))
    v = np.clip(np.asarray(visibility, dtype=np.float64), 0.0, 1.0)
    p = normalise_image_points(image_xy, image_size)
    lead = w.shape[:-2]
    return np.concatenate([w.reshape(*lead, -1), v.reshape(*lead, -1), p.reshape(*lead, -1)], axis=-1)


def hip_centre(xyz_m: FloatArray) -> FloatArray:
    """(..., 33, 3) points with the midpoint of LEFT_HIP and RIGHT_HIP moved to the origin (same frame, metres)."""
    mid = 0.5 * (xyz_m[..., int(L.LEFT_HIP), :] + xyz_m[..., int(L.RIGHT_HIP), :])
    return np.asarray(xyz_m - mid[..., None, :], dtype=np.float64)


@dataclass(frozen=True, eq=False)
class LifterModel:
    """A trained temporal lifting network (batch norm folded in), ready for numpy inference.

    Attributes:
        name: the weight file's name (``rf27_causal``…).
        filter_widths: kernel width of the expanding convolution, then of each residual block.
        causal: True when the output frame is the newest of the window (live), False for the centre.
        weights: per layer ``(W, b)``: ``W`` (k·C_in, C_out) float64 stacks the kernel taps oldest first,
            ``b`` (C_out,) float64. Order: expand, then (k-conv, 1×1-conv) per block, then the output layer.
        info: training notes stored with the weights (data, iterations, validation numbers).
    """

    name: str
    filter_widths: tuple[int, ...]
    causal: bool
    weights: tuple[tuple[FloatArray, FloatArray], ...]
    info: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_layers = 2 + 2 * (len(self.filter_widths) - 1)
        if len(self.weights) != n_layers or not self.filter_widths or min(self.filter_widths) < 1:
            raise BridgeError(f"lifter weights {self.name!r} do not match their filter widths; retrain them")
        if (
            self.weights[0][0].shape[0] % self.filter_widths[0]
            or self.num_inputs not in (NUM_INPUTS, REFINE_INPUTS)
            or (self.weights[-1][0].shape[1] != NUM_OUTPUTS)
        ):
            raise BridgeError(f"lifter weights {self.name!r} have the wrong input or output size; retrain them")

    @property
    def receptive_field(self) -> int:
        """Frames one output depends on: the product of the filter widths."""
        return int(np.prod(self.filter_widths))

    @property
    def num_inputs(self) -> int:
        """Inputs per frame: 66 (2-D lifter) or :data:`REFINE_INPUTS` (refiner)."""
        return int(self.weights[0][0].shape[0] // self.filter_widths[0])

    @property
    def refines(self) -> bool:
        """True for a refiner: its output is a correction added to MediaPipe's hip-centred world landmarks."""
        return self.num_inputs == REFINE_INPUTS

    @property
    def correction_scale(self) -> float:
        """A refiner's share of its predicted correction that is added to MediaPipe's landmarks (``info`` key
        ``correction_scale``, 1 where absent): chosen by ``tools/train_refiner.py`` on the held-out renders,
        where the whole correction did worse than a part of it (the network generalises across motions only
        partly)."""
        return float(self.info.get(CORRECTION_SCALE_KEY, "1"))

    def with_correction_scale(self, scale: float) -> LifterModel:
        """The same network adding ``scale`` of its correction (:attr:`correction_scale`)."""
        return dataclasses.replace(self, info={**self.info, CORRECTION_SCALE_KEY: f"{scale:g}"})

    @property
    def channels(self) -> int:
        """Width of the hidden layers."""
        return int(self.weights[0][0].shape[1])

    # ---------------------------------------------------------------------------------------- live: one window
    def forward_windows(self, x: FloatArray) -> FloatArray:
        """Outputs of whole windows: (N, RF, 66) normalised inputs (oldest first) → (N, 99) float64, the pose at
        the window's centre (symmetric) or its last frame (causal). Strided convolutions: each layer computes
        only what the final output needs."""
        x = np.asarray(x, dtype=np.float64)
        n, rf = x.shape[0], x.shape[1]
        if rf != self.receptive_field:
            raise ValueError(f"window of {rf} frames for a receptive field of {self.receptive_field}")
        widths = self.filter_widths
        w0, b0 = self.weights[0]
        h = np.maximum(x.reshape(n, rf // widths[0], widths[0] * x.shape[2]) @ w0 + b0, 0.0)
        for i, k in enumerate(widths[1:]):
            wk, bk = self.weights[1 + 2 * i]
            w1, b1 = self.weights[2 + 2 * i]
            res = h[:, (k - 1 if self.causal else (k - 1) // 2) :: k]
            t = h.shape[1] // k
            y = np.maximum(h.reshape(n, t, k * h.shape[2]) @ wk + bk, 0.0)
            h = res + np.maximum(y @ w1 + b1, 0.0)
        wo, bo = self.weights[-1]
        return np.asarray((h[:, 0] @ wo + bo), dtype=np.float64)

    # --------------------------------------------------------------------------------------- batch: dilated
    def forward_padded(self, x: FloatArray) -> FloatArray:
        """Valid dilated convolution over a padded sequence: (T + RF - 1, 66) → (T, 99) float64."""
        h = np.asarray(x, dtype=np.float64)
        d = 1
        for i, k in enumerate(self.filter_widths):
            w, b = self.weights[0 if i == 0 else 2 * i - 1]
            span = (k - 1) * d
            n_out = h.shape[0] - span
            if n_out <= 0:
                raise ValueError("sequence shorter than the receptive field; pad it first")
            taps = np.concatenate([h[j * d : j * d + n_out] for j in range(k)], axis=1) if k > 1 else h
            y = np.maximum(taps @ w + b, 0.0)
            if i == 0:
                h = y
            else:
                w1, b1 = self.weights[2 * i]
                start = span if self.causal else span // 2
                h = h[start : start + n_out] + np.maximum(y @ w1 + b1, 0.0)
            d *= k
        wo, bo = self.weights[-1]
        return np.asarray(h @ wo + bo, dtype=np.float64)

    def pad(self, x: FloatArray) -> FloatArray:
        """(T, 66) → (T + RF - 1, 66): the first frame repeated before (and the last after, symmetric)."""
        rf = self.receptive_field
        before, after = (rf - 1, 0) if self.causal else ((rf - 1) // 2, (rf - 1) // 2)
        return np.concatenate([np.repeat(x[:1], before, axis=0), x, np.repeat(x[-1:], after, axis=0)], axis=0)

    def lift(self, image_xy: npt.ArrayLike, image_size: tuple[int, int]) -> FloatArray:
        """3-D landmarks of one continuous sequence of frames.

        Args:
            image_xy: (T, 33, 2) float, MediaPipe normalised image coordinates of consecutive frames.
            image_size: (width, height) in pixels.

        Returns:
            (T, 33, 3) float, MediaPipe world frame (x right, y down, z away), hip-centred, metres.
        """
        if self.refines:
            raise ValueError(f"{self.name} is a refiner: call refine() with MediaPipe's world landmarks")
        x = normalise_image_points(image_xy, image_size).reshape(-1, NUM_INPUTS)
        if x.shape[0] == 0:
            return np.zeros((0, NUM_LANDMARKS, 3))
        y = self.forward_padded(self.pad(x)).astype(np.float64).reshape(-1, NUM_LANDMARKS, 3)
        return hip_centre(y)

    def refine(self, world_xyz_m: npt.ArrayLike, visibility: npt.ArrayLike, image_xy: npt.ArrayLike,
               image_size: tuple[int, int]) -> FloatArray:  # fmt: skip
        """A refiner's 3-D landmarks of one continuous sequence: (T, 33, 3) MediaPipe world landmarks, (T, 33)
        visibilities, (T, 33, 2) normalised image points → (T, 33, 3) MediaPipe world frame, hip-centred,
        metres (MediaPipe's hip-centred landmarks plus the predicted correction)."""
        x = refiner_inputs(world_xyz_m, visibility, image_xy, image_size).reshape(-1, REFINE_INPUTS)
        if x.shape[0] == 0:
            return np.zeros((0, NUM_LANDMARKS, 3))
        return add_correction(x, self.predicted_correction(x), self.correction_scale)

    def predicted_correction(self, x: FloatArray) -> FloatArray:
        """A refiner's whole correction of one continuous sequence of :func:`refiner_inputs` ((T, 198)) → (T, 33,
        3) metres, MediaPipe world frame (before :attr:`correction_scale`)."""
        return self.forward_padded(self.pad(x)).astype(np.float64).reshape(-1, NUM_LANDMARKS, 3)

    def on_frames(self, frames: Sequence[LandmarkFrame]) -> FloatArray:
        """(T, 33, 3) lifted (or refined) landmarks of consecutive tracked frames of one image size."""
        xy = np.stack([f.image_xy for f in frames])
        if not self.refines:
            return self.lift(xy, frames[0].image_size)
        world = np.stack([f.world_xyz_m for f in frames])
        return self.refine(world, np.stack([f.visibility for f in frames]), xy, frames[0].image_size)


def add_correction(x: FloatArray, correction: FloatArray, scale: float) -> FloatArray:
    """(..., 33, 3) hip-centred metres: MediaPipe's landmarks in :func:`refiner_inputs` ``x`` (..., 198) plus
    ``scale`` of a refiner's ``correction`` (..., 33, 3)."""
    mediapipe = x[..., :NUM_OUTPUTS].reshape(*x.shape[:-1], NUM_LANDMARKS, 3)
    return hip_centre(mediapipe + scale * np.asarray(correction, dtype=np.float64))


def lifter_weights_path(name: str) -> Path:
    """Path of packaged weights ``bridge/data/lifter_<name>.npz``."""
    return Path(str(importlib.resources.files("bridge.data") / f"lifter_{name}.npz"))


def available_lifters() -> list[str]:
    """Names of the packaged lifter weights."""
    folder = Path(str(importlib.resources.files("bridge.data")))
    return sorted(p.stem.removeprefix("lifter_") for p in folder.glob("lifter_*.npz"))


def load_lifter_file(path: str | Path) -> LifterModel:
    """Load lifter weights written by ``tools/train_lifter.py`` (see :func:`save_lifter`)."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            widths = tuple(int(v) for v in z["filter_widths"])
            causal = bool(z["causal"])
            n_layers = 2 + 2 * (len(widths) - 1)
            weights = tuple(
                (z[f"w{i}"].astype(np.float64), z[f"b{i}"].astype(np.float64)) for i in range(n_layers)
            )
            info = {str(k): str(v) for k, v in zip(z["info_keys"], z["info_values"], strict=True)}
    except (OSError, KeyError, ValueError) as exc:
        raise BridgeError(f"cannot load lifter weights {p}: {exc}; reinstall bridge or retrain") from None
    return LifterModel(name=p.stem.removeprefix("lifter_"), filter_widths=widths, causal=causal, weights=weights,
                       info=info)  # fmt: skip


@lru_cache(maxsize=8)
def load_lifter(name: str = DEFAULT_CAUSAL_MODEL) -> LifterModel:
    """Packaged lifter weights by name (``rf27_causal``, ``rf27``, ``rf1``; see :func:`available_lifters`)."""
    path = lifter_weights_path(name)
    if not path.is_file():
        raise BridgeError(
            f"no lifter weights called {name!r} in the package; choose one of {', '.join(available_lifters())}"
        )
    return load_lifter_file(path)


def save_lifter(path: str | Path, model: LifterModel) -> None:
    """Write a model as ``.npz`` (float16 weights: inference casts them to float64)."""
    arrays: dict[str, npt.NDArray[np.generic]] = {
        "filter_widths": np.array(model.filter_widths, dtype=np.int64),
        "causal": np.array(model.causal),
        "info_keys": np.array(list(model.info.keys()), dtype=str),
        "info_values": np.array(list(model.info.values()), dtype=str),
    }
    for i, (w, b) in enumerate(model.weights):
        arrays[f"w{i}"] = w.astype(np.float16)
        arrays[f"b{i}"] = b.astype(np.float16)
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- on frames


@dataclass(frozen=True)
class LifterConfig:
    """Settings of the temporal lifter stage.

    Attributes:
        model: packaged weights used live (must be causal for :class:`CausalLifter`).
        reset_gap_s: a gap between tracked frames longer than this restarts the window.
    """

    model: str = DEFAULT_CAUSAL_MODEL
    reset_gap_s: float = 0.5


class CausalLifter:
    """Live lifting: replaces ``world_xyz_m`` of each tracked frame using only it and the frames before it.

    A ring buffer holds the last RF normalised inputs; each call is one window evaluation of a causal model.
    Frames get ``flags["lifter"] = model name``.
    """

    def __init__(self, config: LifterConfig = LifterConfig(), model: LifterModel | None = None) -> None:
        self.config = config
        self.model = model if model is not None else load_lifter(config.model)
        if not self.model.causal:
            raise BridgeError(f"lifter {self.model.name!r} looks at future frames; streaming needs a causal one")
        self._buffer = np.zeros((self.model.receptive_field, self.model.num_inputs), dtype=np.float64)
        self._next = 0
        self._last_t: float | None = None

    def reset(self) -> None:
        """Forget the past (the next tracked frame starts a new window)."""
        self._last_t = None

    def __call__(self, frame: LandmarkFrame) -> LandmarkFrame:
        if not frame.person:
            self.reset()
            return frame
        if self.model.refines:
            x = refiner_inputs(frame.world_xyz_m, frame.visibility, frame.image_xy, frame.image_size)
        else:
            x = normalise_image_points(frame.image_xy, frame.image_size).reshape(NUM_INPUTS)
        rf = self.model.receptive_field
        if self._last_t is None or frame.t_s - self._last_t > self.config.reset_gap_s or frame.t_s < self._last_t:
            self._buffer[:] = x
            self._next = 0
        else:
            self._buffer[self._next] = x
            self._next = (self._next + 1) % rf
        self._last_t = frame.t_s
        # Oldest first: the slot after the newest is the oldest.
        window = np.concatenate([self._buffer[self._next :], self._buffer[: self._next]], axis=0)
        y = self.model.forward_windows(window[None])[0].astype(np.float64).reshape(NUM_LANDMARKS, 3)
        xyz = add_correction(x, y, self.model.correction_scale) if self.model.refines else hip_centre(y)
        return frame.replace(world_xyz_m=xyz, flags={**frame.flags, "lifter": self.model.name})


def lift_frames(frames: Sequence[LandmarkFrame], model: LifterModel | None = None,
                reset_gap_s: float = 0.5) -> list[LandmarkFrame]:  # fmt: skip
    """Batch lifting of a recorded sequence (default: the symmetric model, which also looks ahead).

    Runs of tracked frames without a gap longer than ``reset_gap_s`` (and with one image size) are lifted as
    one sequence each; no-person frames pass through unchanged. Frames get ``flags["lifter"]``.
    """
    model = model if model is not None else load_lifter(DEFAULT_SYMMETRIC_MODEL)
    out = list(frames)
    run: list[int] = []

    def flush() -> None:
        if not run:
            return
        xyz = model.on_frames([out[i] for i in run])
        for k, i in enumerate(run):
            out[i] = out[i].replace(world_xyz_m=xyz[k], flags={**out[i].flags, "lifter": model.name})
        run.clear()

    for i, f in enumerate(out):
        if not f.person:
            flush()
            continue
        if run:
            prev = out[run[-1]]
            if f.t_s - prev.t_s > reset_gap_s or f.t_s < prev.t_s or f.image_size != prev.image_size:
                flush()
        run.append(i)
    flush()
    return out
