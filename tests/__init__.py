"""The test suite as a package: helpers import as ``tests.support...``, tests by full name."""
