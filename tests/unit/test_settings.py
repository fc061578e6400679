"""Settings: traitlets with environment defaults, required ones named, hub/README.md's table matches.

That a real hub process refuses to start without them is the hub tier's (tests/hub/test_hub_settings.py).
"""

import re

import pytest
from traitlets.config import Config

from harness import ROOT
from harness.hub import app_settings
from openhexa_hub import OpenHexaAuthenticator
from openhexa_hub.app_service import AppService
from openhexa_hub.authenticator import REQUIRED
from openhexa_hub.docker import HostNetworkDockerSpawner

APP = "http://app.test:8000"


@pytest.fixture
def app_env(monkeypatch):
    for name, value in app_settings(APP).items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_settings_default_to_the_environment(app_env):
    app_env.setenv("APP_READ_TIMEOUT", "7.5")
    app_env.setenv("ALLOWED_IMAGES", "blsq/openhexa-base-notebook:1.0, blsq/other:2")
    auth = OpenHexaAuthenticator()
    assert auth.authentication_url == f"{APP}/notebooks/authenticate/"
    assert auth.content_security_policy == f"frame-ancestors 'self' {APP}"
    assert auth.app_read_timeout == 7.5
    assert auth.app_connect_timeout == 5.0
    assert auth.allowed_images == ["blsq/openhexa-base-notebook:1.0", "blsq/other:2"]
    assert auth.app_login_url == f"{APP}/login"
    assert auth.auto_login and auth.refresh_pre_spawn and auth.allow_all


def test_configuration_overrides_the_environment(app_env):
    config = Config()
    config.OpenHexaAuthenticator.authentication_url = "http://other/notebooks/authenticate/"
    config.OpenHexaAuthenticator.app_login_url = "http://other/accounts/login/"
    auth = OpenHexaAuthenticator(config=config)
    assert auth.authentication_url == "http://other/notebooks/authenticate/"
    assert auth.app_login_url == "http://other/accounts/login/"


def test_a_malformed_number_names_its_variable(app_env):
    app_env.setenv("APP_CONNECT_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="APP_CONNECT_TIMEOUT"):
        OpenHexaAuthenticator()


@pytest.mark.parametrize("name", REQUIRED)
def test_each_missing_required_setting_is_named(app_env, name):
    env_name = OpenHexaAuthenticator.class_traits()[name].metadata["env"]
    app_env.delenv(env_name)
    with pytest.raises(ValueError, match=env_name):
        OpenHexaAuthenticator()


def readme_settings() -> dict[str, tuple[str, str]]:
    """hub/README.md's settings table: setting -> (environment variable, default)."""
    rows = {}
    table = (ROOT / "hub" / "README.md").read_text().split("<!-- settings-table -->")[1]
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`") and not cells[0].startswith("`-"):
            rows[cells[0].strip("`")] = (cells[1].strip("`"), cells[2])
    return rows


@pytest.mark.parametrize(
    "cls", [OpenHexaAuthenticator, AppService, HostNetworkDockerSpawner], ids=lambda cls: cls.__name__
)
def test_the_readme_table_lists_every_setting_with_its_variable_and_default(cls):
    documented = readme_settings()
    for name, trait in cls.class_traits(env=lambda env: env is not None).items():
        key = f"{cls.__name__}.{name}"
        assert key in documented, f"{key} is not in hub/README.md's settings table"
        env, default = documented[key]
        assert env == trait.metadata["env"], key
        expected = "required" if cls is OpenHexaAuthenticator and name in REQUIRED else None
        if expected:
            assert default.lower().startswith("required"), key
        elif "default_text" in trait.metadata:  # a default that depends on the machine
            assert default == trait.metadata["default_text"], f"{key} default {default!r}"
        elif trait.fallback not in ("", []):
            assert re.search(rf"`{re.escape(str(trait.fallback))}`", default), f"{key} default {default!r}"


def test_the_apps_token_is_a_setting_and_its_absence_stops_the_hub_naming_it(monkeypatch):
    monkeypatch.setenv("HUB_API_TOKEN", "  " + "ab" * 32 + " ")
    service = AppService()
    assert service.service() == {"name": "openhexa-app", "api_token": "ab" * 32}
    config = Config()
    config.AppService.api_token = "x" * 8
    assert AppService(config=config).service()["api_token"] == "x" * 8, "configuration overrides the variable"
    assert not AppService(config=config).token_looks_random()
    monkeypatch.delenv("HUB_API_TOKEN")
    with pytest.raises(SystemExit, match="HUB_API_TOKEN is not set"):
        AppService().service()
