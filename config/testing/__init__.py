"""What the tests and the bench share that is not a pytest fixture (those are in the root conftest.py)."""
