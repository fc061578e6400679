"""The mock OpenHexa App, twin of the real one on every point the hub relies on: see README.md here."""
