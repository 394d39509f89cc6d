"""Landmarks → local bone rotations: the body, the fingers, the face (head, eyes, blend shapes)."""
