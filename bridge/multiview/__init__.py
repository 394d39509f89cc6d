"""Several cameras: calibrations, triangulation, synchronisation (pure functions; imports core only)."""
