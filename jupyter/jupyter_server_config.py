# OpenHexa's Jupyter Server settings (loaded after, and over, the base image's /etc/jupyter).
import os

c = get_config()  # noqa: F821

# The App shows notebooks in an iframe: allow its origin to frame them.
c.ServerApp.tornado_settings = {
    "headers": {"Content-Security-Policy": os.environ.get("CONTENT_SECURITY_POLICY", "frame-ancestors 'self'")}
}
# Notebooks live in the workspace folder (the bucket mount, for workspace servers).
c.ServerApp.root_dir = os.environ.get("OPENHEXA_WORKSPACE_DIR", "/home/jovyan/workspace")
c.ResourceUseDisplay.track_cpu_percent = True
# The hub's answer about a login token (a browser's, tied to the OpenHexa App session it came
# from) is reused for 5 seconds, not JupyterHub's 300: a person logged out of the App, or another
# person's App session in the same browser, ends this server's login that soon.
c.HubOAuth.cache_max_age = 5
# No Jupyter news and no update checks, on the server side too (the announcements
# plugin that asks for them is disabled in /usr/local/etc/jupyter/labconfig).
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
