"""The One-Euro filter over numpy arrays of any shape (Casiez, Roussel, Vogel, "1€ Filter: A Simple Speed-based
Low-pass Filter for Noisy Input in Interactive Systems", CHI 2012).

A first-order low-pass filter whose cutoff frequency rises with the signal's speed. For a sample ``x`` at time
``t`` (previous filtered value ``x̂``, sample interval ``Te``):

* derivative ``dx = (x - x̂) / Te``, itself low-passed at the fixed cutoff ``d_cutoff_hz`` → ``dx̂``;
* cutoff ``fc = min_cutoff_hz + beta · |dx̂|``;
* smoothing factor ``alpha = 1 / (1 + tau / Te)`` with ``tau = 1 / (2π fc)``;
* ``x̂ ← x̂ + alpha · (x - x̂)``.

Everything is driven by the samples' timestamps, so a variable frame rate keeps the same time constants: a longer
``Te`` gives a larger ``alpha``. Used by the landmark filter (:mod:`bridge.stages.filter`), the finger rotations
(:mod:`bridge.solve.hands`) and the blend shape weights (:mod:`bridge.solve.face`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError

FloatArray = npt.NDArray[np.float64]


def smoothing_factor(te_s: FloatArray | float, cutoff_hz: FloatArray | float) -> FloatArray:
    """The smoothing factor ``alpha = 1 / (1 + tau / Te)``, ``tau = 1 / (2π cutoff)``, of a first-order low-pass.

    Args:
        te_s: sample interval(s) in seconds, > 0.
        cutoff_hz: cutoff frequency (or frequencies) in Hz, > 0.

    Returns:
        alpha in (0, 1), broadcast over the two inputs.
    """
    tau_s = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz, dtype=np.float64))
    return np.asarray(1.0 / (1.0 + tau_s / np.asarray(te_s, dtype=np.float64)), dtype=np.float64)


class OneEuroFilter:
    """Vectorised One-Euro filter over arrays of a fixed shape, driven by timestamps.

    Every element is filtered independently, except that with ``vector_axis`` set the speed that raises the
    cutoff is the Euclidean norm of the derivative along that axis (e.g. the 3-D velocity of a landmark for an
    array of shape (33, 3) and ``vector_axis=-1``), so the components of one point share one cutoff.

    Elements can be *held* (``update`` False): they keep their previous filtered value and derivative and their
    own last-update time, so when they come back the interval ``Te`` spans the whole gap.

    Args:
        min_cutoff_hz: cutoff at zero speed, Hz. Lower = less jitter at rest, more lag.
        beta: how fast the cutoff rises with speed, Hz per (signal unit / s), i.e. 1 / signal unit.
        d_cutoff_hz: fixed cutoff of the derivative's own low-pass, Hz.
        vector_axis: axis whose components form one vector (speed = norm along it); None = per element.
    """

    def __init__(
        self, min_cutoff_hz: float, beta: float, d_cutoff_hz: float = 1.0, vector_axis: int | None = None
    ) -> None:
        if not (min_cutoff_hz > 0 and d_cutoff_hz > 0 and beta >= 0):
            raise BridgeError(
                f"One-Euro filter: min_cutoff_hz ({min_cutoff_hz}) and d_cutoff_hz ({d_cutoff_hz}) must be > 0 "
                f"and beta ({beta}) >= 0; fix the filter settings"
            )
        self.min_cutoff_hz = float(min_cutoff_hz)
        self.beta = float(beta)
        self.d_cutoff_hz = float(d_cutoff_hz)
        self.vector_axis = vector_axis
        self.reset()

    def reset(self) -> None:
        """Forget all state: the next sample passes through unchanged."""
        self._x_hat: FloatArray | None = None
        self._dx_hat: FloatArray | None = None
        self._t_last_s: FloatArray | None = None  # per element (vector axis kept with length 1)
        self._t_prev_s: float | None = None
        #: smoothing factor applied at the last call, shaped like the speed (vector axis kept, length 1).
        self.last_alpha: FloatArray | None = None

    @property
    def initialised(self) -> bool:
        """True once a sample has been seen since the last reset."""
        return self._x_hat is not None

    def _speed(self, dx: FloatArray) -> FloatArray:
        if self.vector_axis is None:
            return np.abs(dx)
        return np.sqrt((dx * dx).sum(axis=self.vector_axis, keepdims=True))

    def __call__(
        self,
        t_s: float,
        x: npt.ArrayLike,
        update: npt.ArrayLike | None = None,
        speed_scale: npt.ArrayLike | None = None,
    ) -> FloatArray:
        """Filter one sample.

        Args:
            t_s: timestamp in seconds; must be greater than the previous call's.
            x: the sample, same shape at every call.
            update: optional bool mask, broadcastable to the speed's shape (``x``'s shape with the vector axis
                of length 1): False holds that element (input ignored). Elements never updated since the reset
                take the input value as is.
            speed_scale: optional factors, broadcastable to ``x``, applied to the derivative before its norm
                (e.g. width/height on x for normalised image points, so speed is in image heights per second).

        Returns:
            The filtered sample (a new array, same shape as ``x``).

        Raises:
            BridgeError: if ``t_s`` does not increase, or ``x`` changes shape.
        """
        t = float(t_s)
        xa = np.array(x, dtype=np.float64)
        if not math.isfinite(t):
            raise BridgeError(f"One-Euro filter: timestamp {t_s!r} is not a finite number of seconds")
        if self._t_prev_s is not None and not t > self._t_prev_s:
            raise BridgeError(
                f"One-Euro filter: timestamps must increase, got t={t:.6f} s after t={self._t_prev_s:.6f} s; "
                "give every frame a later time than the one before"
            )
        speed_shape = list(xa.shape)
        if self.vector_axis is not None:
            speed_shape[self.vector_axis] = 1
        if self._x_hat is None or self._dx_hat is None or self._t_last_s is None:
            # First sample since reset: pass through; elements that are held have no value yet → take the input.
            self._x_hat = xa.copy()
            self._dx_hat = np.zeros_like(xa)
            self._t_last_s = np.full(speed_shape, t)
            self._t_prev_s = t
            self.last_alpha = np.ones(speed_shape)
            return xa.copy()
        if xa.shape != self._x_hat.shape:
            raise BridgeError(
                f"One-Euro filter: sample shape {xa.shape} differs from the first sample's {self._x_hat.shape}"
            )
        # Every element updated (the common case): no masks, and the same arithmetic as the masked path.
        upd = None if update is None else np.asarray(update, dtype=bool)
        if upd is not None and upd.all():
            upd = None
        te = t - self._t_last_s  # per element, > 0
        dx = (xa - self._x_hat) / te
        a_d = 1.0 / (1.0 + (1.0 / (2.0 * math.pi * self.d_cutoff_hz)) / te)
        dx_hat = self._dx_hat + a_d * (dx - self._dx_hat)
        scaled = dx_hat if speed_scale is None else dx_hat * np.asarray(speed_scale, dtype=np.float64)
        cutoff = self.min_cutoff_hz + self.beta * self._speed(scaled)
        alpha = smoothing_factor(te, cutoff)
        x_hat = self._x_hat + alpha * (xa - self._x_hat)
        self._t_prev_s = t
        if upd is None:
            self._x_hat, self._dx_hat = x_hat, dx_hat
            self._t_last_s = np.full(speed_shape, t)
            self.last_alpha = alpha
            return x_hat.copy()
        upd = np.broadcast_to(upd, speed_shape)
        self._x_hat = np.where(upd, x_hat, self._x_hat)
        self._dx_hat = np.where(upd, dx_hat, self._dx_hat)
        self._t_last_s = np.where(upd, t, self._t_last_s)
        self.last_alpha = np.where(upd, alpha, 0.0)
        return self._x_hat.copy()
