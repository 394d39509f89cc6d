"""The user's VRM / glTF avatar: its humanoid skeleton as a rig."""
