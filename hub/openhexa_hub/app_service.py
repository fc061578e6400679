"""The OpenHexa App as a JupyterHub service: its token on the hub's REST API, and what it may do there."""

from __future__ import annotations

from traitlets.config import Configurable

from .traits import EnvUnicode, looks_random

APP_SERVICE = "openhexa-app"  # the service name the App's token belongs to


class AppService(Configurable):
    """The App's service: `hub/jupyterhub_config.py` declares it from these settings.

    Each setting defaults to the environment variable named in its help.
    """

    api_token = EnvUnicode(
        "HUB_API_TOKEN",
        config=True,
        help="The token the OpenHexa App uses on the hub's REST API, as the App's HUB_API_TOKEN "
        "(env HUB_API_TOKEN); required. Make it random (`openssl rand -hex 32`): JupyterHub then "
        "checks it with a fast hash instead of a password's.",
    )

    def service(self) -> dict:
        """The service entry of ``JupyterHub.services``; a missing token stops the hub, naming it."""
        token = self.api_token.strip()
        if not token:
            raise SystemExit("HUB_API_TOKEN is not set: it is the token the OpenHexa App uses on the hub API.")
        return {"name": APP_SERVICE, "api_token": token}

    def role(self) -> dict:
        """The App's role: create users, start, stop and read their servers; nothing else."""
        return {
            "name": APP_SERVICE,
            "description": "Create users and start, stop and read their servers.",
            "scopes": ["admin:users", "admin:servers"],
            "services": [APP_SERVICE],
        }

    def token_looks_random(self) -> bool:
        """Whether the token needs no stretching (``JupyterHub.trust_user_provided_tokens``)."""
        return looks_random(self.api_token.strip())
