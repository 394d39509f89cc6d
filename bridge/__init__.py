"""bridge: webcam or video → MediaPipe world landmarks → humanoid bone rotations → VMC / VRChat OSC."""

__version__ = "0.1.0"
