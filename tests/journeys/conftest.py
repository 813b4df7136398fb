"""Journey and property tests on the demo data (fixtures in tests/conftest.py)."""
