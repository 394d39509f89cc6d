"""Exports for clinicians and researchers: OpenSim ``.trc`` markers and ``.mot`` angles, and ``.c3d``.

The markers are the 33 low-passed MediaPipe world landmarks of :class:`~bridge.analysis.track.Track`, turned by
:func:`bridge.core.frames.mediapipe_to_rig` into the frame OpenSim expects, **Y up**:

* X = the camera's image right, Y = up (the camera's vertical: keep the camera level), Z = from the person
  toward the camera (right-handed); for a person facing the camera, X is their left and Z their front;
* origin: the mid-point of the two hip landmarks **in every frame** (MediaPipe's world landmarks are
  hip-centred): the pelvis does not travel, the body moves about it;
* units: metres in the ``.trc`` (its ``Units`` field), millimetres in the ``.c3d`` (``POINT:UNITS``, the usual
  unit of marker systems); time in seconds.

Marker names are those of Pose2Sim's BlazePose marker set (``LHip``, ``RKnee``, ``LBigToe`` for the foot index,
...), so Pose2Sim's OpenSim scaling and inverse-kinematics setups for BlazePose read the ``.trc`` as it is; the
eight face points Pose2Sim leaves out get names of the same style. A marker below the analysis's
``min_visibility``, or in a frame without a person, is left empty (TRC), NaN (MOT) or flagged invalid (C3D
residual −1).

The ``.mot`` file holds every joint angle of :mod:`bridge.analysis.angles` (degrees, ``inDegrees=yes``) as an
OpenSim storage file, readable by OpenSim's ``TimeSeriesTable`` and its plotter. The frames and definitions are
written into each file's header: the TRC's first line (after the file name, OpenSim keeps it as the
``header`` metadata), ``key=value`` lines of the MOT header, and a ``BRIDGE`` parameter group in the C3D.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from bridge.analysis.analyse import Analysis
from bridge.analysis.track import FloatArray
from bridge.core.errors import BridgeError
from bridge.core.frames import mediapipe_to_rig
from bridge.core.landmarks import PoseLandmark as L

#: Marker name of every landmark, in landmark order: Pose2Sim's BlazePose names (its ``Markers_BlazePose.xml``)
#: and, for the face points it leaves out, names in the same style.
MARKER_NAMES: dict[L, str] = {
    L.NOSE: "Nose",
    L.LEFT_EYE_INNER: "LEyeInner",
    L.LEFT_EYE: "LEye",
    L.LEFT_EYE_OUTER: "LEyeOuter",
    L.RIGHT_EYE_INNER: "REyeInner",
    L.RIGHT_EYE: "REye",
    L.RIGHT_EYE_OUTER: "REyeOuter",
    L.LEFT_EAR: "LEar",
    L.RIGHT_EAR: "REar",
    L.MOUTH_LEFT: "LMouth",
    L.MOUTH_RIGHT: "RMouth",
    L.LEFT_SHOULDER: "LShoulder",
    L.RIGHT_SHOULDER: "RShoulder",
    L.LEFT_ELBOW: "LElbow",
    L.RIGHT_ELBOW: "RElbow",
    L.LEFT_WRIST: "LWrist",
    L.RIGHT_WRIST: "RWrist",
    L.LEFT_PINKY: "LPinky",
    L.RIGHT_PINKY: "RPinky",
    L.LEFT_INDEX: "LIndex",
    L.RIGHT_INDEX: "RIndex",
    L.LEFT_THUMB: "LThumb",
    L.RIGHT_THUMB: "RThumb",
    L.LEFT_HIP: "LHip",
    L.RIGHT_HIP: "RHip",
    L.LEFT_KNEE: "LKnee",
    L.RIGHT_KNEE: "RKnee",
    L.LEFT_ANKLE: "LAnkle",
    L.RIGHT_ANKLE: "RAnkle",
    L.LEFT_HEEL: "LHeel",
    L.RIGHT_HEEL: "RHeel",
    L.LEFT_FOOT_INDEX: "LBigToe",
    L.RIGHT_FOOT_INDEX: "RBigToe",
}

#: The marker frame, in words, as written into every file's header.
MARKER_FRAME = (
    "markers: MediaPipe world landmarks low-passed, frame X = camera image right, Y = up (camera vertical), "
    "Z = toward the camera (right-handed), origin = mid-hips in every frame (hip-centred)"
)
#: The angle file's content, in words (the definitions are those of the report and the README).
ANGLE_FRAME = (
    "joint angles in degrees from 3-D landmarks in body-fixed frames (bridge analyze definitions: "
    "see the report page); NaN = not seen"
)


def marker_positions_m(analysis: Analysis) -> FloatArray:
    """(T, 33, 3) float, metres, the export frame (module docstring): the track's world landmarks, NaN where the
    person is not seen or a landmark's visibility is below the analysis's ``min_visibility``."""
    track = analysis.track
    xyz = mediapipe_to_rig(track.world_xyz_m)
    hidden = (track.visibility < analysis.config.min_visibility) | ~track.person[:, None]
    xyz[hidden] = np.nan
    return xyz


def data_rate_hz(t_s: FloatArray) -> float:
    """Frames per second from the median time step (30 when there is a single frame)."""
    dt = np.diff(np.asarray(t_s, dtype=np.float64))
    dt = dt[dt > 0]
    return float(1.0 / np.median(dt)) if dt.size else 30.0


def _num(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else ""


def trc_text(analysis: Analysis, file_name: str) -> str:
    """The OpenSim ``.trc`` file (tab-separated, metres, Y up) of the analysis's markers."""
    xyz = marker_positions_m(analysis)
    t = analysis.track.t_s
    n = xyz.shape[0]
    rate = data_rate_hz(t)
    names = [MARKER_NAMES[L(k)] for k in range(xyz.shape[1])]
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{file_name}; {MARKER_FRAME}; units m; time s",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate:.6f}\t{rate:.6f}\t{n}\t{len(names)}\tm\t{rate:.6f}\t1\t{n}",
        "Frame#\tTime\t" + "".join(f"{name}\t\t\t" for name in names),
        "\t\t" + "".join(f"X{k}\tY{k}\tZ{k}\t" for k in range(1, len(names) + 1)),
        "",
    ]
    for i in range(n):
        cells = [str(i + 1), f"{t[i]:.6f}"]
        for p in xyz[i]:
            ok = bool(np.isfinite(p).all())
            cells.extend(_num(float(v), 6) if ok else "" for v in p)
        # Every row ends with a tab, as OpenSim's own writer does: its reader drops an empty last cell, so a
        # row whose last marker is empty would otherwise come up one column short.
        lines.append("\t".join(cells) + "\t")
    return "\n".join(lines) + "\n"


def mot_text(analysis: Analysis, name: str) -> str:
    """The OpenSim ``.mot`` storage file (tab-separated, degrees) of every joint angle."""
    a = analysis.angles
    header = [
        name,
        "version=1",
        f"nRows={a.values_deg.shape[0]}",
        f"nColumns={a.values_deg.shape[1] + 1}",
        "inDegrees=yes",
        f"description={ANGLE_FRAME}",
        "units=time s; angles deg",
        "endheader",
        "time\t" + "\t".join(a.names),
    ]
    rows = [
        f"{a.t_s[i]:.6f}\t" + "\t".join(f"{v:.4f}" if math.isfinite(v) else "NaN" for v in a.values_deg[i])
        for i in range(a.values_deg.shape[0])
    ]
    return "\n".join(header + rows) + "\n"


def write_trc(analysis: Analysis, path: Path) -> None:
    """Write the markers as an OpenSim ``.trc`` file (see the module docstring for frame and units)."""
    path.write_text(trc_text(analysis, path.name), encoding="utf-8")


def write_mot(analysis: Analysis, path: Path) -> None:
    """Write the joint angles as an OpenSim ``.mot`` file (degrees)."""
    path.write_text(mot_text(analysis, path.stem), encoding="utf-8")


def write_c3d(analysis: Analysis, path: Path) -> None:
    """Write the markers as a ``.c3d`` file (millimetres, float, residual −1 for markers not seen) with the
    library ``c3d``; the frame is in the ``BRIDGE:FRAME`` parameter, ``POINT:X_SCREEN``/``Y_SCREEN`` say
    +X right and +Y up."""
    try:
        import c3d
    except ImportError:  # a runtime dependency; a broken install says so in one line
        raise BridgeError("writing .c3d needs the package c3d (pip install c3d)") from None
    xyz_mm = marker_positions_m(analysis) * 1000.0
    names = [MARKER_NAMES[L(k)] for k in range(xyz_mm.shape[1])]
    writer = c3d.Writer(point_rate=data_rate_hz(analysis.track.t_s), point_units="mm")
    writer.set_point_labels(names)
    writer.set_screen_axis(X="+X", Y="+Y")
    group = writer.add_group(writer.numeric_key_next, "BRIDGE", "bridge analyze export")
    for key, text in (("FRAME", MARKER_FRAME), ("SOFTWARE", "bridge analyze")):
        group.add_str(key, key.lower(), text, len(text))
    empty = np.zeros((0, 0), dtype=np.float32)
    for frame in xyz_mm:
        points = np.zeros((frame.shape[0], 5), dtype=np.float32)
        seen = np.isfinite(frame).all(axis=1)
        points[seen, :3] = frame[seen]
        points[~seen, 3] = -1.0  # residual -1: not seen (the C3D convention)
        writer.add_frames([(points, empty)])
    with open(path, "wb") as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # c3d's "No analog data found": there is none, on purpose
        writer.write(handle)


__all__ = ["MARKER_FRAME", "MARKER_NAMES", "marker_positions_m", "write_c3d", "write_mot", "write_trc"]
