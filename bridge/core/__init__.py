"""The core values every stage shares: landmarks, bone names, frames and units, rigs and FK, poses, rotations."""
