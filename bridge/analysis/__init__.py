"""Movement analysis: 3-D joint angles, repetitions and jumps, the report page and the exports (CSV, OpenSim
.trc/.mot, .c3d)."""
