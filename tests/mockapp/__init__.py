"""The mock OpenHexa App: `python -m tests.mockapp --port 8000`."""
