"""Registers the tests' pytest plugin (harness/pytest_plugin.py: the hooks every tier shares).

Here, at the project's root, so that it also puts the root on sys.path for ``harness``; the
fixtures are in tests/conftest.py and each tier's conftest.py.
"""

pytest_plugins = ["harness.pytest_plugin"]
