"""The peer of ``python -m bench.polls``: plain JupyterHub, no OpenHexa code, the App's service as ours has it.

The same service token setting (a random token, ``trust_user_provided_tokens``), the same role and named
servers; people created by the App's token (any name, no password: the dummy authenticator).
"""

import os

c = get_config()  # noqa: F821
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.allow_named_servers = True
c.JupyterHub.services = [{"name": "openhexa-app", "api_token": os.environ["HUB_API_TOKEN"]}]
c.JupyterHub.load_roles = [
    {"name": "openhexa-app", "scopes": ["admin:users", "admin:servers"], "services": ["openhexa-app"]},
]
c.JupyterHub.trust_user_provided_tokens = True
