"""The one-machine stack (`make up`) makes its own secrets, the repository holds none that works; `make up APP=...`
stops before starting anything when no App answers at APP."""

import os
import re
import socket
import stat
import subprocess

import pytest
import yaml

from harness import ROOT
from harness.net import StandInServer, free_port

STACK = ROOT / "scripts" / "stack.sh"


def make_secrets(secrets_file, **env):
    return subprocess.run(
        [str(STACK), "secrets"],
        env={**{k: v for k, v in os.environ.items() if not k.endswith(("_TOKEN", "_KEY"))}, **env,
             "OPENHEXA_SECRETS_FILE": str(secrets_file)},
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip


def read_secrets(path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_make_up_makes_its_own_secrets_once(tmp_path):
    secrets_file = tmp_path / "stack-secrets.env"
    said = make_secrets(secrets_file)
    secrets = read_secrets(secrets_file)
    assert set(secrets) == {"HUB_API_TOKEN", "CONFIGPROXY_AUTH_TOKEN", "JUPYTERHUB_CRYPT_KEY"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in secrets.values())
    assert secrets["HUB_API_TOKEN"] != secrets["CONFIGPROXY_AUTH_TOKEN"]
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert secrets["HUB_API_TOKEN"] in said
    assert secrets["CONFIGPROXY_AUTH_TOKEN"] not in said and secrets["JUPYTERHUB_CRYPT_KEY"] not in said

    again = make_secrets(secrets_file)
    assert read_secrets(secrets_file) == secrets and secrets["HUB_API_TOKEN"] not in again

    other = tmp_path / "other-stack.env"
    make_secrets(other)
    assert read_secrets(other)["HUB_API_TOKEN"] != secrets["HUB_API_TOKEN"]


def test_secrets_given_by_the_caller_are_used_and_nothing_is_written(tmp_path):
    secrets_file = tmp_path / "stack-secrets.env"
    make_secrets(secrets_file, HUB_API_TOKEN="given", CONFIGPROXY_AUTH_TOKEN="given-too", JUPYTERHUB_CRYPT_KEY="k")
    assert not secrets_file.exists()


def test_an_older_secrets_file_gets_the_crypt_key_and_keeps_its_tokens(tmp_path):
    secrets_file = tmp_path / "stack-secrets.env"
    secrets_file.write_text(f"HUB_API_TOKEN={'1' * 64}\nCONFIGPROXY_AUTH_TOKEN={'2' * 64}\n")
    secrets_file.chmod(0o600)
    make_secrets(secrets_file)
    secrets = read_secrets(secrets_file)
    assert secrets["HUB_API_TOKEN"] == "1" * 64 and secrets["CONFIGPROXY_AUTH_TOKEN"] == "2" * 64
    assert re.fullmatch(r"[0-9a-f]{64}", secrets["JUPYTERHUB_CRYPT_KEY"])


def test_the_compose_file_holds_no_working_secret():
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    for service, spec in compose["services"].items():
        for name, value in spec.get("environment", {}).items():
            if "TOKEN" in name or "SECRET" in name or "PASSWORD" in name:
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", str(value)), f"{service}: {name} has a default: {value}"
    assert ".stack-secrets.env" in (ROOT / ".gitignore").read_text()


# -- `make up APP=...`: the hub alone, for your own App; it must answer first ------------------


def up_for(app: str, tmp_path) -> subprocess.CompletedProcess:
    """`scripts/stack.sh up APP` with stand-ins for docker and docker-compose that record being called."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("docker", "docker-compose"):
        (bin_dir / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {tmp_path / "calls"}\nexit 1\n')
        (bin_dir / tool).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    env.update(PATH=f"{bin_dir}:{os.environ['PATH']}", OPENHEXA_SECRETS_FILE=str(tmp_path / "secrets.env"))
    return subprocess.run([str(STACK), "up", app], env=env, capture_output=True, text=True, timeout=60)


def stopped_before_starting(result, tmp_path) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert not (tmp_path / "calls").exists(), "it went on to Docker"
    assert not (tmp_path / "secrets.env").exists(), "it made secrets"
    return result.stderr


def test_an_app_url_nothing_answers_on_stops_make_up_naming_it(tmp_path):
    app = f"http://127.0.0.1:{free_port()}"
    said = stopped_before_starting(up_for(app, tmp_path), tmp_path)
    assert f"no OpenHexa App answers at {app} (GET {app}/login: Failed to connect" in said


def test_a_silent_app_url_stops_make_up_naming_it(tmp_path):
    with socket.socket() as silent:  # takes connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        app = f"http://127.0.0.1:{silent.getsockname()[1]}"
        said = stopped_before_starting(up_for(app, tmp_path), tmp_path)
    assert f"no OpenHexa App answers at {app} (GET {app}/login: Operation timed out" in said


@pytest.mark.parametrize(
    "answer,hint",
    [
        ((200, {}, "<html>a login page</html>"), "APP is the App's backend (Django, :8000), not its frontend."),
        ((302, {"Location": "/accounts/login/?next=/login"}, ""), "APP is the App's backend"),
        ((400, {}, "<h1>Bad Request (400)</h1>"), "A 400 is Django refusing that host name"),
    ],
    ids=["the-frontend", "another-site", "a-host-django-refuses"],
)
def test_an_app_url_that_is_not_the_apps_backend_stops_make_up_naming_it(tmp_path, answer, hint):
    with StandInServer(lambda request: answer) as other:
        said = stopped_before_starting(up_for(other.url, tmp_path), tmp_path)
    assert f"{other.url} answers, but not as the OpenHexa App's backend: GET {other.url}/login gave HTTP" in said
    assert hint in said


def test_an_app_url_that_is_no_url_stops_make_up_naming_it(tmp_path):
    said = stopped_before_starting(up_for("localhost:8000", tmp_path), tmp_path)
    assert "APP=localhost:8000 is not the address of an App" in said


@pytest.mark.parametrize("app", ["", "http://localhost:8000"], ids=["the-mock", "your-own"])
def test_make_up_hands_app_to_the_stack(app):
    recipe = subprocess.run(
        ["make", "-n", "up", f"APP={app}"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert f"scripts/stack.sh up {app}".strip() in [line.strip() for line in recipe.splitlines()]


def test_the_readme_leads_local_development_with_the_two_ways():
    section = (ROOT / "README.md").read_text().split("\n## Local development\n")[1].split("\n## ")[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    commands = [[line.split("#")[0].strip() for line in block.splitlines() if line.strip()] for block in blocks]
    assert commands[:2] == [["make up", "make down"], ["make up APP=http://localhost:8000", "make down"]]
    assert section.index("```sh") < 300, "the section does not lead with them"
