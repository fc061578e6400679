"""JupyterHub configuration for OpenHexa Notebooks.

Thin on purpose: the authenticator (`openhexa`) owns the App settings and the
spawn hooks; this file picks the spawner, declares the App's service and turns
on named servers (one per workspace). Settings are listed in hub/README.md.
"""

import os

from openhexa_hub import TEMPLATES
from openhexa_hub.app_service import AppService

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)

# People log in through the OpenHexa App's session; the authenticator also sets
# the Content-Security-Policy header from CONTENT_SECURITY_POLICY.
c.JupyterHub.authenticator_class = "openhexa"

# Default server: /user/<name>/; workspace servers: /user/<name>/<workspace slug>/.
c.JupyterHub.allow_named_servers = True
# One named server per workspace a person opens; refused ones leave nothing behind.
c.JupyterHub.named_server_limit_per_user = int(os.environ.get("NAMED_SERVER_LIMIT_PER_USER", "50"))
c.Spawner.default_url = "/lab"
# A person's server never loads Jupyter configuration or extensions from their home folder
# (~/.jupyter/jupyter_server_config.py would add handlers to the running server).
c.Spawner.disable_user_config = True

# Per-person origins: each person's servers on a subdomain of their own
# (https://<person>.notebooks.example.org), so a page served by one person's server cannot
# read the hub's pages or another person's server. Wildcard DNS and certificate needed.
subdomain_host = os.environ.get("SUBDOMAIN_HOST", "").strip()
if subdomain_host:
    c.JupyterHub.subdomain_host = subdomain_host

# Error pages that say why (JupyterHub's 404 page hides the reason).
c.JupyterHub.template_paths = [TEMPLATES]

# The App launches workspace servers through the REST API with its token (AppService.api_token,
# env HUB_API_TOKEN).
app_service = AppService(config=c)
c.JupyterHub.services = [app_service.service()]
# JupyterHub treats a token given in its configuration as a password: 16384 rounds of SHA-512
# (about 7 ms of the hub's one core) on every request it authenticates. The App calls the hub
# two or three times a second for each person whose server is starting (its page asks every
# second), so at 100 people the hub's event loop did nothing else, its own calls to the App
# timed out and spawns failed. A random token needs no stretching: `openssl rand -hex 32`;
# one that does not look random (too short, or too few different characters) keeps it.
if app_service.token_looks_random():
    c.JupyterHub.trust_user_provided_tokens = True
c.JupyterHub.load_roles = [app_service.role()]

# Outside the chart, the hub follows the chart's values (CHART_VALUES; the local
# image has ours at /usr/local/etc/jupyterhub/openhexa/chart-values.yaml): the spawn
# limits and the notebook profiles (singleuser.profileList) production has. Under the
# chart, its own configuration has set them already and CHART_VALUES is unset.
chart_values = os.environ.get("CHART_VALUES", "").strip()
if chart_values:
    from openhexa_hub.chart import hub_limits, read_values
    from openhexa_hub.spawner_rules import load_profiles

    limits = hub_limits(read_values(chart_values))
    c.Spawner.consecutive_failure_limit = limits["consecutive_failure_limit"]
    c.JupyterHub.concurrent_spawn_limit = limits["concurrent_spawn_limit"]
    c.Spawner.profile_list = load_profiles(chart_values)

# Notebook profiles (the App asks for one by slug): KubeSpawner's profile_list, given
# to any spawner; a chart's singleuser.profileList (c.KubeSpawner) takes precedence.
profiles = os.environ.get("NOTEBOOK_PROFILES", "").strip()
if profiles:
    from openhexa_hub.spawner_rules import load_profiles

    c.Spawner.profile_list = load_profiles(profiles)

# KubeSpawner in production (Zero to JupyterHub), DockerSpawner on one machine.
spawner = os.environ.get("OPENHEXA_SPAWNER") or (
    "kubernetes" if os.environ.get("KUBERNETES_SERVICE_HOST") else "docker"
)
if spawner == "kubernetes":
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
elif spawner == "docker":
    c.JupyterHub.spawner_class = "openhexa_hub.docker.HostNetworkDockerSpawner"
    c.DockerSpawner.image = os.environ.get("NOTEBOOK_IMAGE", "blsq/openhexa-base-notebook:dev")
else:
    raise SystemExit(f"OPENHEXA_SPAWNER={spawner!r}: use 'kubernetes' or 'docker'.")
