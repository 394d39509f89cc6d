"""The Open3D preview viewer behind ``bridge view``.

:mod:`bridge.viewer.scene` builds what to draw as numpy data (rig frame), :mod:`bridge.viewer.avatar` poses and
skins the user's avatar into mesh layers, :mod:`bridge.viewer.compose` turns each frame into a scene,
:mod:`bridge.viewer.render` draws it with Open3D (offscreen on the CPU, or into a window's scene) and
:mod:`bridge.viewer.hud` writes the status and the colour legend, :mod:`bridge.viewer.receiver` is the VMC
receiver of receiver mode, :mod:`bridge.viewer.feeds` the sources of frames, and :mod:`bridge.viewer.app` /
:mod:`bridge.viewer.window` run a feed headless or with a window.
"""
