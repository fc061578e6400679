"""OpenHexa's JupyterHub authenticator and spawn hooks."""

from .authenticator import OpenHexaAuthenticator

__all__ = ["OpenHexaAuthenticator"]
