"""Helpers for tests, benchmarks and training: motion capture to landmarks, synthetic poses, evaluation."""
