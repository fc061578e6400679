"""The one-machine stack (`make up`) makes its own secrets; the repository holds none that works."""

import os
import re
import stat
import subprocess

import yaml

from harness import ROOT

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
