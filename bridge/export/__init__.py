"""Poses → files: BVH and glTF."""
