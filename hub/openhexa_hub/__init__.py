"""OpenHexa's JupyterHub authenticator and spawn hooks."""

from pathlib import Path

from .authenticator import OpenHexaAuthenticator

# The hub's page templates that replace JupyterHub's (c.JupyterHub.template_paths).
TEMPLATES = str(Path(__file__).parent / "templates")

__all__ = ["TEMPLATES", "OpenHexaAuthenticator"]
