"""Landmark stages, each LandmarkFrame → LandmarkFrame: flip repair, filter, lifter, mirror."""
