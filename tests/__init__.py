"""The tests, one package per package of bridge (tests/<package>/test_<module>.py)."""
