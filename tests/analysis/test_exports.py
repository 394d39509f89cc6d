"""The exports of ``bridge analyze``, read back by other programs' readers: the ``.trc`` and ``.mot`` by OpenSim's
own (PyPI ``opensim``: ``TimeSeriesTableVec3``, ``TimeSeriesTable``), the ``.c3d`` by the ``c3d`` library that
wrote it and by ``ezc3d`` (an independent C++ reader). Input: real CMU motion capture (01_01) as landmarks, with
noise, hidden arms and a stretch without a person."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from bridge.analysis.analyse import Analysis, analyse
from bridge.analysis.angles import ANGLE_NAMES
from bridge.analysis.exports import MARKER_NAMES, marker_positions_m, write_c3d, write_mot, write_trc
from bridge.core.landmarks import LandmarkFrame
from bridge.core.landmarks import PoseLandmark as L
from bridge.export.bvh_file import read_bvh
from bridge.testing.mocap import mocap_landmarks, to_landmark_frames
from bridge.testing.virtual_camera import VirtualCamera

NAMES = [MARKER_NAMES[L(k)] for k in range(33)]


@pytest.fixture(scope="module")
def analysis(cmu_bvh_dir: Path) -> Analysis:
    m = mocap_landmarks(
        read_bvh(cmu_bvh_dir / "01_01.bvh"), frames=slice(1, 601, 4), camera=VirtualCamera(yaw_deg=20.0)
    )
    rng = np.random.default_rng(8)
    frames = []
    for k, f in enumerate(to_landmark_frames(m)):
        vis = f.visibility.copy()
        if 40 <= k < 50:  # the left arm hidden
            vis[[L.LEFT_ELBOW, L.LEFT_WRIST]] = 0.1
        if k == 60 or k == len(m.t_s) - 1:  # the last marker column hidden too: an empty cell at a row's end
            vis[L.RIGHT_FOOT_INDEX] = 0.0
        frame = f.replace(world_xyz_m=f.world_xyz_m + rng.normal(0.0, 0.005, (33, 3)), visibility=vis)
        frames.append(LandmarkFrame.no_person(f.t_s, f.image_size, f.frame_index) if 80 <= k < 86 else frame)
    return analyse(frames)


def test_trc_reads_in_opensim_with_the_same_markers(analysis: Analysis, tmp_path: Path) -> None:
    """OpenSim's TRC reader gets every marker (Pose2Sim's BlazePose names), every time, the same positions
    (to the 1 µm the file keeps), NaN exactly where bridge hides a marker, units ``m``, and the frame named in
    the header; the positions are Y up: head above hips above ankles while standing."""
    opensim = pytest.importorskip("opensim")
    path = tmp_path / "clip.trc"
    write_trc(analysis, path)
    table = opensim.TimeSeriesTableVec3(str(path))
    assert list(table.getColumnLabels()) == NAMES
    assert table.getTableMetaDataAsString("Units") == "m"
    assert "Y = up" in table.getTableMetaDataAsString("header")
    np.testing.assert_allclose(np.array(table.getIndependentColumn()), analysis.track.t_s, atol=1e-6)
    got = np.array(
        [
            [[table.getRowAtIndex(r)[c][i] for i in range(3)] for c in range(table.getNumColumns())]
            for r in range(table.getNumRows())
        ]
    )
    want = marker_positions_m(analysis)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.isnan(want).any(axis=(1, 2))[80:86].all() and np.isnan(want[40, L.LEFT_WRIST]).all()
    np.testing.assert_allclose(got, want, atol=1e-6, equal_nan=True)
    y = got[:, :, 1]
    first = 0
    assert y[first, L.NOSE] > y[first, L.LEFT_HIP] > y[first, L.LEFT_ANKLE]


def test_mot_reads_in_opensim(analysis: Analysis, tmp_path: Path) -> None:
    """OpenSim's storage reader gets every angle column in degrees (``inDegrees=yes``), NaN where undefined."""
    opensim = pytest.importorskip("opensim")
    path = tmp_path / "clip.mot"
    write_mot(analysis, path)
    table = opensim.TimeSeriesTable(str(path))
    assert list(table.getColumnLabels()) == list(ANGLE_NAMES)
    assert table.getTableMetaDataAsString("inDegrees") == "yes"
    for k, name in enumerate(ANGLE_NAMES):
        got = table.getDependentColumn(name).to_numpy()
        np.testing.assert_allclose(got, analysis.angles.values_deg[:, k], atol=1e-4, equal_nan=True)
    assert np.isnan(table.getDependentColumn("left_elbow_flexion").to_numpy()[40:50]).all()


def test_c3d_reads_back_with_c3d_and_ezc3d(analysis: Analysis, tmp_path: Path) -> None:
    """The ``c3d`` library's reader and ``ezc3d`` both read the markers back in millimetres, invalid (residual
    −1, NaN in ezc3d) exactly where bridge hides a marker; the rate, labels and the frame parameter are kept."""
    import c3d

    path = tmp_path / "clip.c3d"
    write_c3d(analysis, path)
    want_mm = marker_positions_m(analysis) * 1000.0
    hidden = np.isnan(want_mm).any(axis=2)
    with open(path, "rb") as handle:
        reader = c3d.Reader(handle)
        assert [s.strip() for s in reader.point_labels] == NAMES
        assert reader.get("POINT:UNITS").string_value.strip() == "mm"
        assert "Y = up" in reader.get("BRIDGE:FRAME").string_value
        assert reader.point_rate == pytest.approx(30.0, rel=1e-3)
        points = np.array([p[:, :4].copy() for _, p, _ in reader.read_frames()])
    assert points.shape[:2] == want_mm.shape[:2]
    np.testing.assert_array_equal(points[..., 3] < 0, hidden)
    np.testing.assert_allclose(points[..., :3][~hidden], want_mm[~hidden], atol=0.01)
    if importlib.util.find_spec("ezc3d") is None:
        pytest.skip("ezc3d is not installed (the test extra installs it)")
    import ezc3d

    data = ezc3d.c3d(str(path))
    xyz = data["data"]["points"][:3].transpose(2, 1, 0)  # (T, markers, 3)
    assert [s.strip() for s in data["parameters"]["POINT"]["LABELS"]["value"]] == NAMES
    np.testing.assert_array_equal(np.isnan(xyz).any(axis=2), hidden)
    np.testing.assert_allclose(xyz[~hidden], want_mm[~hidden], atol=0.01)


def test_marker_names_fit_pose2sims_blazepose_setups() -> None:
    """Every marker of Pose2Sim's OpenSim BlazePose marker set (used by its scaling and IK setups) is in the
    export under the same name."""
    spec = importlib.util.find_spec("Pose2Sim")
    if spec is None or spec.origin is None:
        pytest.skip("pose2sim is not installed (install.sh --test installs it)")
    xml = (Path(spec.origin).parent / "OpenSim_Setup" / "Markers_BlazePose.xml").read_text(encoding="utf-8")
    theirs = set(re.findall(r'<Marker name="([^"]+)"', xml))
    assert len(theirs) >= 20 and theirs <= set(NAMES)


@pytest.mark.slow
def test_opensim_scales_and_runs_inverse_kinematics_on_the_trc(
    cmu_bvh_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``.trc`` used as researchers use it: OpenSim scales Pose2Sim's generic model with its BlazePose marker
    set (Pose2Sim's own scaling and IK setup files, only the file names changed) to the markers of real mocap
    (CMU 01_03, 450 frames at 30 fps) and runs inverse kinematics on them. Its knee, hip and elbow angles follow
    bridge's (correlation ≥ 0.95); the knees also in level (mean difference under 8°). Hip and elbow differ by
    a constant from the model's own definitions (hip: femur against the pelvis, ours: against the trunk)."""
    opensim = pytest.importorskip("opensim")
    spec = importlib.util.find_spec("Pose2Sim")
    if spec is None or spec.origin is None:
        pytest.skip("pose2sim is not installed (install.sh --test installs it)")
    setup = Path(spec.origin).parent / "OpenSim_Setup"
    monkeypatch.chdir(tmp_path)  # OpenSim writes opensim.log into the working folder
    opensim.Logger.setLevelString("error")
    m = mocap_landmarks(read_bvh(cmu_bvh_dir / "01_03.bvh"), camera_yaw_deg=30.0, frames=slice(1, 1801, 4))
    result = analyse(to_landmark_frames(m))
    trc = tmp_path / "clip.trc"
    write_trc(result, trc)
    model = opensim.Model(str(setup / "Model_Pose2Sim_simple.osim"))
    model.set_MarkerSet(opensim.MarkerSet(str(setup / "Markers_BlazePose.xml")))
    model.initSystem()
    model.printToXML(str(tmp_path / "generic.osim"))
    scale = opensim.ScaleTool(str(setup / "Scaling_Setup_Pose2Sim_Blazepose.xml"))
    scale.getGenericModelMaker().setModelFileName(str(tmp_path / "generic.osim"))
    scale.getGenericModelMaker().setMarkerSetFileName("Unassigned")
    span = opensim.ArrayDouble()
    span.append(float(result.track.t_s[0]))
    span.append(float(result.track.t_s[20]))
    scaler = scale.getModelScaler()
    scaler.setMarkerFileName(str(trc))
    scaler.setTimeRange(span)
    scaler.setOutputModelFileName(str(tmp_path / "scaled.osim"))
    scale.getMarkerPlacer().setApply(False)
    scale.setPathToSubject("")  # the file names are absolute, not relative to the setup file's folder
    scale.run()  # returns False when the marker placer is off; the scaled model is what counts
    assert (tmp_path / "scaled.osim").is_file()
    ik = opensim.InverseKinematicsTool(str(setup / "IK_Setup_Pose2Sim_Blazepose.xml"))
    scaled = opensim.Model(str(tmp_path / "scaled.osim"))  # kept referenced: the tool does not own it
    scaled.initSystem()
    ik.setModel(scaled)
    ik.setMarkerDataFileName(str(trc))
    ik.setStartTime(float(result.track.t_s[0]))
    ik.setEndTime(float(result.track.t_s[-1]))
    ik.setOutputMotionFileName(str(tmp_path / "ik.mot"))
    assert ik.run()
    table = opensim.TimeSeriesTable(str(tmp_path / "ik.mot"))
    t = np.array(table.getIndependentColumn())
    assert t.size > 400
    for ours, theirs in (
        ("right_knee_flexion", "knee_angle_r"),
        ("left_knee_flexion", "knee_angle_l"),
        ("right_hip_flexion", "hip_flexion_r"),
        ("left_hip_flexion", "hip_flexion_l"),
        ("right_elbow_flexion", "elbow_flex_r"),
        ("left_elbow_flexion", "elbow_flex_l"),
    ):
        v = table.getDependentColumn(theirs).to_numpy()
        a = np.interp(t, result.track.t_s, result.angles[ours])
        ok = np.isfinite(a) & np.isfinite(v)
        assert ok.mean() > 0.9
        assert np.corrcoef(a[ok], v[ok])[0, 1] >= 0.95, ours
        if "knee" in ours:
            assert abs(float(np.mean(v[ok] - a[ok]))) < 8.0, ours
