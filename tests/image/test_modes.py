"""The entrypoint's modes, checked by running containers and reading their logs and answers."""

import pytest
import requests

from harness.kernel import run_cell
from harness.net import StandInServer, free_port
from harness.wait import wait_until

CSP = "frame-ancestors 'self' http://localhost:8000"


def api_answers(url: str):
    try:
        response = requests.get(url, timeout=2)
    except requests.RequestException:
        return None
    return response if response.status_code == 200 else None


@pytest.mark.arm64
def test_notebook_serves_api_with_the_csp(notebook):
    port = free_port()
    notebook.run_detached(
        command=["notebook", f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1"],
        environment={"CONTENT_SECURITY_POLICY": CSP},
    )
    response = wait_until(lambda: api_answers(f"http://127.0.0.1:{port}/api"), "the notebook server's /api")
    assert response.headers["Content-Security-Policy"].startswith(CSP)
    assert "version" in response.json()


@pytest.mark.arm64
def test_a_python_cell_runs_with_the_openhexa_packages(notebook):
    container = notebook.run_detached(entrypoint=["tini", "--"], command=["sleep", "infinity"])
    code = "import platform, pandas, openhexa.sdk; print(platform.machine(), pandas.DataFrame({'x': [7, 12]}).x.sum())"
    cell = run_cell(notebook, container, "python3", code)
    assert cell.ok, cell.error
    machine = notebook.client.images.get(notebook.image).attrs["Architecture"]
    assert cell.output.split() == [{"amd64": "x86_64", "arm64": "aarch64"}[machine], "19"]


@pytest.fixture
def hub_api():
    """A stand-in for the hub's /hub/api, which jupyterhub-singleuser checks before serving."""
    version = {"X-JupyterHub-Version": "5.5.4"}
    with StandInServer(lambda request: (200, version, {"version": "5.5.4"})) as hub:
        yield f"{hub.url}/hub/api"


@pytest.mark.arm64
def test_singleuser_with_a_hub_token_runs_jupyterhub_singleuser(notebook, hub_api):
    port = free_port()
    container = notebook.run_detached(
        command=["singleuser"],
        environment={
            "JUPYTERHUB_API_TOKEN": "test-token",
            "JUPYTERHUB_API_URL": hub_api,
            "JUPYTERHUB_CLIENT_ID": "jupyterhub-user-alice",
            "JUPYTERHUB_USER": "alice",
            "JUPYTERHUB_SERVICE_PREFIX": "/user/alice/",
            "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}/user/alice/",
            "CONTENT_SECURITY_POLICY": CSP,
        },
    )
    response = wait_until(
        lambda: api_answers(f"http://127.0.0.1:{port}/user/alice/api"), "the single-user server's /api"
    )
    assert response.headers["Content-Security-Policy"].startswith(CSP)
    # Read /proc rather than run ps: not every base image has procps.
    processes = notebook.exec(container, ["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"])
    assert "jupyterhub-singleuser" in processes, processes


@pytest.mark.arm64
def test_pipeline_runs_a_pipeline_from_a_mounted_folder(notebook, tmp_path):
    folder = tmp_path / "pipeline"
    folder.mkdir()
    (folder / "pipeline.py").write_text(
        "from openhexa.sdk import current_run, parameter, pipeline\n\n\n"
        '@pipeline(name="hello")\n'
        '@parameter("who", type=str, default="world")\n'
        "def hello(who):\n    say(who)\n\n\n"
        "@hello.task\ndef say(who):\n"
        '    current_run.log_info(f"hello {who}")\n'
    )
    tmp_path.chmod(0o755)
    folder.chmod(0o755)
    status, logs = notebook.run_and_wait(
        command=["pipeline", "--config", '{"who": "openhexa"}'],
        volumes={str(folder): {"bind": "/home/jovyan/pipeline", "mode": "ro"}},
    )
    assert "hello openhexa" in logs
    assert 'Successfully completed pipeline "hello"' in logs


def test_pipeline_without_a_pipeline_says_so(notebook):
    status, logs = notebook.run_and_wait(command=["pipeline"], expect_exit=None)
    assert status != 0
    assert "no pipeline.py" in logs


@pytest.mark.arm64
def test_an_unknown_mode_exits_64_with_a_message(notebook):
    status, logs = notebook.run_and_wait(command=["serve-everything"], expect_exit=64)
    assert "unknown mode 'serve-everything'" in logs


def test_singleuser_outside_a_hub_says_what_it_needs(notebook):
    status, logs = notebook.run_and_wait(
        command=["singleuser"], environment={"JUPYTERHUB_API_TOKEN": "a-token"}, expect_exit=64
    )
    assert "missing here: JUPYTERHUB_API_URL JUPYTERHUB_SERVICE_URL" in logs
    assert "Traceback" not in logs


@pytest.mark.arm64
def test_the_default_command_under_a_hub_is_the_single_user_server(notebook):
    """The hub's spawners run the image's CMD (start-notebook.py): it hands over to jupyterhub-singleuser."""
    status, logs = notebook.run_and_wait(
        command=["start-notebook.py", "--help"], environment={"JUPYTERHUB_API_TOKEN": "a-token"}, expect_exit=None
    )
    assert "Executing: jupyterhub-singleuser --help" in logs
    assert notebook.client.images.get(notebook.image).attrs["Config"]["Cmd"] == ["start-notebook.py"]
