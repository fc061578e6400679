"""What JupyterLab serves in the image: the git extension per GIT_EXTENSION_ENABLED, no Jupyter news.

Each test starts the image as the hub does (mode ``singleuser``, before a stand-in for
the hub's API that vouches for alice's token), or as a standalone JupyterLab (mode
``notebook``), and reads what the running server serves: the page config embedded in
``/lab`` (which frontend plugins load), the git server extension's ``/git/settings``,
the news and update answers, and ``jupyter labextension list`` run with the server's
environment, as a terminal of that server runs it.
"""

from __future__ import annotations

import json
import os
import re

import pytest
import requests

from harness.net import StandInServer, free_port
from harness.wait import wait_until

GIT_LAB_EXTENSION = "@jupyterlab/git"
# nbdime, which the image has for the git extension (its diffs), follows it.
NBDIME_LAB_EXTENSION = "nbdime-jupyterlab"
ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"
PERSON_TOKEN = "alices-token"  # what the hub stand-in says is alice's
ACCESS = "access:servers!server=alice/"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The environment of the running server (python .../jupyter-lab or .../jupyterhub-singleuser).
SERVER_ENVIRON = """
import pathlib, sys
for proc in pathlib.Path("/proc").glob("[0-9]*"):
    argv = (proc / "cmdline").read_bytes().split(b"\\0")
    if any(arg.endswith((b"/jupyter-lab", b"/jupyterhub-singleuser")) for arg in argv[:2]):
        sys.stdout.buffer.write((proc / "environ").read_bytes())
        break
"""
CONFIG_DATA = re.compile(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def hub_api():
    """A stand-in for the hub's /hub/api: its version, and alice as the owner of PERSON_TOKEN."""

    def answer(request):
        model = {"version": "5.5.4"}
        if request.path.startswith("/hub/api/user") and request.headers.get("Authorization") == f"token {PERSON_TOKEN}":
            model = {"kind": "user", "name": "alice", "admin": False, "groups": [], "scopes": [ACCESS]}
        return 200, {"X-JupyterHub-Version": "5.5.4"}, model

    with StandInServer(answer) as hub:
        yield f"{hub.url}/hub/api"


class Lab:
    """A running server of the image, reached on 127.0.0.1 with a token.

    With ``hub_api``, the single-user server as the hub starts it (mode ``singleuser``,
    alice's, at /user/alice/); without, a standalone JupyterLab (mode ``notebook``).
    Both go through the same start hooks and Jupyter config.
    """

    def __init__(self, notebook, environment: dict[str, str], hub_api: str | None = None, volumes: dict | None = None):
        self.notebook = notebook
        port = free_port()
        if hub_api:
            self.token, prefix = PERSON_TOKEN, "/user/alice"
            command = ["singleuser"]
            environment = {
                **environment,
                "JUPYTERHUB_API_TOKEN": "server-token",
                "JUPYTERHUB_API_URL": hub_api,
                "JUPYTERHUB_CLIENT_ID": "jupyterhub-user-alice",
                "JUPYTERHUB_USER": "alice",
                "JUPYTERHUB_SERVICE_PREFIX": f"{prefix}/",
                "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}{prefix}/",
                "JUPYTERHUB_OAUTH_ACCESS_SCOPES": json.dumps([ACCESS]),
            }
        else:
            self.token, prefix = os.urandom(16).hex(), ""
            command = ["notebook", f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1"]
            command.append(f"--IdentityProvider.token={self.token}")
        self.url = f"http://127.0.0.1:{port}{prefix}"
        self.container = notebook.run_detached(command=command, environment=environment, volumes=volumes or {})
        wait_until(lambda: self.get("/api/status").status_code == 200, "the server to answer", timeout=90)

    def get(self, path: str) -> requests.Response:
        return requests.get(
            f"{self.url}{path}", headers={"Authorization": f"token {self.token}"}, timeout=30, allow_redirects=False
        )

    def page_config(self) -> dict:
        """The page config JupyterLab's HTML hands to the frontend (what loads, what does not)."""
        response = self.get("/lab")
        assert response.status_code == 200, f"/lab answered {response.status_code}"
        found = CONFIG_DATA.search(response.text)
        assert found, "no jupyter-config-data in /lab"
        return json.loads(found.group(1))

    def git_server_extension_answers(self) -> bool:
        """Whether the git server extension's handlers are there (its settings answer)."""
        status = self.get("/git/settings").status_code
        assert status in (200, 404), f"/git/settings answered {status}"
        return status == 200

    def nbdime_server_extension_answers(self) -> bool:
        """Whether nbdime's server extension handlers are there (its diff tool page answers)."""
        status = self.get("/nbdime/difftool").status_code
        assert status in (200, 404), f"/nbdime/difftool answered {status}"
        return status == 200

    def run_as_a_terminal_would(self, command: list[str]) -> str:
        """``command`` in the container with the server's environment, as its terminals get it."""
        environ = self.notebook.exec(self.container, ["python", "-c", SERVER_ENVIRON])
        env = dict(item.split("=", 1) for item in environ.split("\0") if "=" in item)
        assert "PATH" in env, environ
        output = self.notebook.exec(self.container, command, environment=env)
        return ANSI.sub("", output)

    def stop(self):
        self.container.remove(force=True)


def lab_extension_state(listing: str, name: str) -> str:
    """``enabled`` or ``disabled``: what ``jupyter labextension list`` says of extension ``name``."""
    states = re.findall(rf"^\s*{re.escape(name)}\s+v\S+\s+(enabled|disabled)\b", listing, re.M)
    assert len(states) == 1, f"{name} listed {len(states)} times:\n{listing}"
    return states[0]


def git_environment(value: str | None) -> dict[str, str]:
    return {} if value is None else {"GIT_EXTENSION_ENABLED": value}


@pytest.mark.parametrize(
    ("value", "on"),
    [(None, False), ("false", False), ("yes", False), ("1", False), ("true", True), ("TRUE", True)],
    ids=["unset", "false", "yes", "1", "true", "TRUE"],
)
def test_the_git_extension_is_on_only_when_the_app_says_true(notebook, hub_api, value, on):
    lab = Lab(notebook, git_environment(value), hub_api)
    config = lab.page_config()
    assert config["hubUser"] == "alice", "not the single-user server's page"
    assert GIT_LAB_EXTENSION in [extension["name"] for extension in config["federated_extensions"]], (
        "the git lab extension is not installed in the image"
    )
    assert (GIT_LAB_EXTENSION not in config["disabledExtensions"]) is on, config["disabledExtensions"]
    assert lab.git_server_extension_answers() is on
    assert (NBDIME_LAB_EXTENSION not in config["disabledExtensions"]) is on, config["disabledExtensions"]
    assert lab.nbdime_server_extension_answers() is on

    labextensions = lab.run_as_a_terminal_would(["jupyter", "labextension", "list"])
    assert lab_extension_state(labextensions, GIT_LAB_EXTENSION) == ("enabled" if on else "disabled"), labextensions
    assert lab_extension_state(labextensions, NBDIME_LAB_EXTENSION) == ("enabled" if on else "disabled"), labextensions


def test_a_kept_home_follows_each_start_not_the_one_before(notebook, hub_api):
    """A default server keeps its home across starts: each start's value wins, not the last one's."""
    volume = notebook.client.volumes.create(f"openhexa-lab-settings-{os.urandom(4).hex()}")
    try:
        home = {volume.name: {"bind": "/home/jovyan", "mode": "rw"}}
        for value, on in (("false", False), ("true", True), (None, False)):
            lab = Lab(notebook, git_environment(value), hub_api, volumes=home)
            try:
                disabled = lab.page_config()["disabledExtensions"]
                assert (GIT_LAB_EXTENSION not in disabled) is on, (value, disabled)
                assert lab.git_server_extension_answers() is on, value
            finally:
                lab.stop()
    finally:
        notebook.remove_all()
        volume.remove(force=True)


@pytest.mark.parametrize(
    ("mode", "value"),
    [("singleuser", None), ("singleuser", "true"), ("notebook", None)],
    ids=["singleuser-git-off", "singleuser-git-on", "notebook"],
)
def test_jupyterlab_asks_nothing_about_jupyter_news(notebook, hub_api, mode, value):
    lab = Lab(notebook, git_environment(value), hub_api if mode == "singleuser" else None)
    config = lab.page_config()
    # The plugin that asks "Would you like to get notified about official Jupyter news?"
    assert ANNOUNCEMENTS in config["disabledExtensions"], config["disabledExtensions"]
    # And the server fetches no news and checks for no update, should anything ask.
    news = lab.get("/lab/api/news")
    assert news.status_code == 200 and news.json()["news"] == [], news.text
    update = lab.get("/lab/api/update")
    assert update.status_code == 200 and update.json()["notification"] is None, update.text

    labextensions = lab.run_as_a_terminal_would(["jupyter", "labextension", "list"])
    disabled = labextensions.partition("Disabled extensions:")[2]
    assert re.search(rf"^\s*{re.escape(ANNOUNCEMENTS)}\s*$", disabled, re.M), labextensions


def test_news_stay_off_for_someone_with_their_own_jupyter_settings(notebook, hub_api):
    """Off for everyone: a home with a lab page config of its own does not bring the plugin back."""
    lab = Lab(notebook, {}, hub_api)
    own = json.dumps({"disabledExtensions": {"@jupyterlab/some-other:plugin": True}})
    notebook.exec(
        lab.container,
        ["sh", "-c", f"mkdir -p ~/.jupyter/labconfig && echo '{own}' > ~/.jupyter/labconfig/page_config.json"],
    )
    disabled = lab.page_config()["disabledExtensions"]
    assert ANNOUNCEMENTS in disabled and "@jupyterlab/some-other:plugin" in disabled, disabled


PERSON_CONFIG = "open('/tmp/the-persons-config-ran', 'w').close()\n"


@pytest.mark.parametrize("disabled", [True, False], ids=["as-the-hub-starts-it", "without-the-hubs-setting"])
def test_a_server_the_hub_starts_reads_no_jupyter_configuration_from_the_home_folder(
    notebook, hub_api, tmp_path, disabled
):
    """~/.jupyter/jupyter_server_config.py runs in the server unless the hub says otherwise
    (JUPYTERHUB_DISABLE_USER_CONFIG, from its Spawner.disable_user_config: tests/hub/test_spawn.py)."""
    config = tmp_path / "jupyter_server_config.py"
    config.write_text(PERSON_CONFIG)
    config.chmod(0o644)
    volumes = {str(config): {"bind": "/home/jovyan/.jupyter/jupyter_server_config.py", "mode": "ro"}}
    environment = {"JUPYTERHUB_DISABLE_USER_CONFIG": "1"} if disabled else {}
    lab = Lab(notebook, environment, hub_api, volumes=volumes)
    status, _ = notebook.exec_status(lab.container, ["test", "-e", "/tmp/the-persons-config-ran"])
    assert (status != 0) == disabled
