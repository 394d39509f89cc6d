"""Movement analysis: 3-D joint angles, repetitions and jumps, the report."""
