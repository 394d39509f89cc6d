"""``bridge analyze`` on real video against a multi-view reference (Pose2Sim's calibrated Demo_SinglePerson): a
short subsample of ``bench/bench_analysis_validation.py`` (the first 60 of 100 frames of each view).

The reference of each view is triangulated (bridge.multiview) from the three other views only. Checked: the
views' frame offsets are found, the estimated view angle follows the true one (calibrated camera against the
reference body), no view of this demo (all within 45° of the person's front or back) is taken for a side view,
so knee flexion is flagged on every view — with the clear warning on the front view — and the monocular knee
flexion reads too small, as MediaPipe's depth does.
"""

from __future__ import annotations

import numpy as np
import pytest

from bridge.testing.analysis_validation import load_trial, validate_view
from bridge.testing.pose2sim_demo import VIEWS, trials


@pytest.fixture(scope="module")
def single() -> object:
    found = [t for t in trials() if t.name == "single"]
    if not found:
        pytest.skip("the Pose2Sim demos are not installed (pip install pose2sim==0.10.49)")
    return load_trial(found[0], None, max_frames=60)


@pytest.mark.slow
def test_monocular_against_the_multiview_reference(single) -> None:  # type: ignore[no-untyped-def]
    assert single.offsets[0] == 0 and abs(single.offsets[2] - 5) <= 2  # cam03 lags (5 frames on all 100)
    results = [validate_view(single, v) for v in range(len(VIEWS))]
    knee_bias = []
    for r in results:
        view = r.analysis.view
        assert view is not None
        true_deg = float(np.nanmedian(r.reference.side_view_deg))
        assert abs(view.median_deg - true_deg) < 10.0, r.view
        assert r.view_error_deg < 20.0, r.view
        assert true_deg < 45.0 and view.view != "side"
        assert view.angles["left_knee_flexion"].suits in ("no", "partly") and view.warnings
        for side in ("left", "right"):
            a = r.agreements["analyze"][f"{side}_knee_flexion"]
            assert a.n >= 50 and np.isfinite(a.mae_deg) and a.loa_low_deg < a.bias_deg < a.loa_high_deg
            knee_bias.append(a.bias_deg)
    front = results[VIEWS.index("cam02")].analysis.view
    assert front is not None and front.view == "front"
    assert front.angles["right_knee_flexion"].text.startswith("NO:")
    assert float(np.mean(knee_bias)) < -3.0  # knee flexion reads too small


@pytest.mark.slow
def test_multiview_analysis_against_the_other_views(single) -> None:  # type: ignore[no-untyped-def]
    """Two views fused (what a several-view recording replays) are analysed in 3-D with no view warning, and
    their knee flexion agrees with the reference from the two other views better than one camera does."""
    from bridge.testing.analysis_validation import validate_multiview

    analysis, agreements = validate_multiview(single, (0, 2))  # cam01 + cam03 against cam02 + cam04
    view = analysis.view
    assert view is not None and view.view == "2 views" and not view.warnings and not view.image_plane()
    assert view.angles["left_knee_flexion"].suits == "yes"
    mono = [validate_view(single, v).agreements["analyze"] for v in range(len(VIEWS))]
    for name in ("left_knee_flexion", "right_knee_flexion"):
        assert agreements[name].n >= 50
        assert agreements[name].mae_deg < float(np.mean([m[name].mae_deg for m in mono])), name
