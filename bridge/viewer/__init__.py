"""The Open3D preview viewer behind ``bridge view``.

:mod:`bridge.viewer.scene` builds what to draw as numpy data (rig frame), :mod:`bridge.viewer.render` draws it with
Open3D (offscreen on the CPU, or into a window's scene), :mod:`bridge.viewer.receiver` is the VMC receiver of
receiver mode, and :mod:`bridge.viewer.app` runs a feed (pipeline worker thread, receiver, or rest pose) with a
window or headless.
"""
