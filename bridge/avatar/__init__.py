"""The user's VRM / glTF avatar: its humanoid skeleton as a rig (:mod:`~bridge.avatar.read`), its meshes, skins and
textures (:mod:`~bridge.avatar.mesh`), its expressions (:mod:`~bridge.avatar.expressions`), and all of it posed
and skinned like a VMC receiver does (:mod:`~bridge.avatar.posing`)."""
