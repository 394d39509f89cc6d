"""The values the hand and face models hand over: hand landmark names, the 52 ARKit names, their mirror."""

from __future__ import annotations

import numpy as np

from bridge.core.hand_face import (
    ARKIT_BLENDSHAPES,
    ARKIT_INDEX,
    ARKIT_SWAP_LEFT_RIGHT,
    NUM_BLENDSHAPES,
    HandLandmark,
)


def test_hand_landmark_names_follow_mediapipe() -> None:
    assert len(HandLandmark) == 21
    assert HandLandmark.WRIST == 0 and HandLandmark.THUMB_TIP == 4 and HandLandmark.PINKY_TIP == 20


def test_arkit_names_and_their_left_right_swap() -> None:
    assert NUM_BLENDSHAPES == 52 == len(set(ARKIT_BLENDSHAPES))
    assert np.array_equal(ARKIT_SWAP_LEFT_RIGHT[ARKIT_SWAP_LEFT_RIGHT], np.arange(52))
    assert ARKIT_SWAP_LEFT_RIGHT[ARKIT_INDEX["eyeBlinkLeft"]] == ARKIT_INDEX["eyeBlinkRight"]
    assert ARKIT_SWAP_LEFT_RIGHT[ARKIT_INDEX["jawLeft"]] == ARKIT_INDEX["jawRight"]
    assert ARKIT_SWAP_LEFT_RIGHT[ARKIT_INDEX["jawOpen"]] == ARKIT_INDEX["jawOpen"]
