"""release/verify.py: each image pulled back by digest and started, its container always removed."""

import pytest
import requests

from harness.hub import app_settings
from release import ReleaseError, verify
from release.images import Image
from release.registry import Registry


def test_the_hub_starts_with_the_app_settings_deployments_set():
    command, env = verify.hub_command(8123, "http://127.0.0.1:9999")
    settings = dict(pair.split("=", 1) for pair in env[1::2])
    assert set(env[0::2]) == {"-e"}
    assert app_settings(verify.NOWHERE).items() <= settings.items()
    assert settings["OPENHEXA_SPAWNER"] == "kubernetes" and settings["HUB_API_TOKEN"]
    assert "--JupyterHub.hub_port=8123" in command
    assert "--ConfigurableHTTPProxy.api_url=http://127.0.0.1:9999" in command
    assert "--ConfigurableHTTPProxy.should_start=False" in command


def test_the_proxy_stand_in_answers_the_hubs_route_calls():
    with verify.proxy_api_stand_in() as proxy:
        assert requests.get(f"{proxy.url}/api/routes", timeout=5).json() == {}
        assert requests.post(f"{proxy.url}/api/routes/user/x", json={"target": "t"}, timeout=5).status_code == 201
        assert requests.delete(f"{proxy.url}/api/routes/user/x", timeout=5).status_code == 204
    assert [r.method for r in proxy.requests] == ["GET", "POST", "DELETE"]


def fake_docker(monkeypatch):
    calls = []

    def run(*command, **_):
        calls.append(command)
        return "container-1" if command[:2] == ("docker", "run") else ""

    monkeypatch.setattr(verify, "run", run)
    monkeypatch.setattr(verify, "check_sbom", lambda registry, image, ref: calls.append(("sbom", ref)))
    monkeypatch.setattr(verify.subprocess, "run", lambda *a, **k: type("Logs", (), {"stdout": "boom", "stderr": ""}))
    monkeypatch.setattr(verify, "START_TIMEOUT", 0.1)
    return calls


def test_an_image_that_does_not_start_is_refused_with_its_logs_and_removed(monkeypatch):
    calls = fake_docker(monkeypatch)
    image = Image("notebook", "blsq/nb:dev", "blsq/nb", digest="sha256:abc")
    with pytest.raises(ReleaseError, match="127.0.0.1:5000/blsq/nb@sha256:abc did not start:\nboom"):
        verify.verify(Registry("127.0.0.1:5000"), image)
    assert calls[0] == ("docker", "pull", "-q", "127.0.0.1:5000/blsq/nb@sha256:abc")
    assert calls[1] == ("sbom", "127.0.0.1:5000/blsq/nb@sha256:abc"), "its SBOM checked against the pulled image"
    assert calls[2][:5] == ("docker", "run", "-d", "--network", "host")
    assert calls[-1] == ("docker", "rm", "-f", "container-1")


def test_an_image_that_starts_is_verified_and_removed(monkeypatch):
    calls = fake_docker(monkeypatch)
    monkeypatch.setattr(verify, "answers_ok", lambda url: url.endswith("/hub/health"))
    verify.verify(Registry("127.0.0.1:5000"), Image("hub", "blsq/hub:dev", "blsq/hub", digest="sha256:def"))
    assert "127.0.0.1:5000/blsq/hub@sha256:def" in calls[2]
    assert calls[-1] == ("docker", "rm", "-f", "container-1")


def test_the_proxy_starts_as_the_charts_proxy_deployment_runs_it(monkeypatch):
    calls = fake_docker(monkeypatch)
    monkeypatch.setattr(verify, "answers_ok", lambda url: url.endswith("/_chp_healthz"))
    verify.verify(Registry("127.0.0.1:5000"), Image("proxy", "blsq/proxy:dev", "blsq/proxy", digest="sha256:0ff"))
    run = calls[2]
    image = run.index("127.0.0.1:5000/blsq/proxy@sha256:0ff")
    assert run[image - 2 : image] == ("-e", run[image - 1]) and run[image - 1].startswith("CONFIGPROXY_AUTH_TOKEN=")
    flags = run[image + 1 :]
    assert "--ip=127.0.0.1" in flags and "--api-ip=127.0.0.1" in flags
    assert any(flag.startswith("--default-target=") for flag in flags)


def test_each_images_sbom_is_checked_against_what_its_own_inspector_finds(monkeypatch):
    """The proxy image has Node.js and no Python: its SBOM is checked against what PROXY_INSPECTOR finds."""
    looked, checked = [], []
    monkeypatch.setattr(verify, "look_inside", lambda ref, key: looked.append((ref, key)) or {"chp": "5.2.0"})
    monkeypatch.setattr(verify.sbom, "check", lambda api, repository, digest, inside: checked.append(inside))
    for key in ("notebook", "hub", "proxy"):
        image = Image(key, f"blsq/{key}:dev", f"blsq/{key}", digest="sha256:0ff")
        verify.check_sbom(Registry("127.0.0.1:5000"), image, f"127.0.0.1:5000/blsq/{key}@sha256:0ff")
    assert [key for _, key in looked] == ["notebook", "hub", "proxy"]
    assert checked == [{"chp": "5.2.0"}] * 3
