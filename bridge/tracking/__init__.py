"""Where landmarks come from: input sources, MediaPipe models and detectors, the tracker process, recordings."""
