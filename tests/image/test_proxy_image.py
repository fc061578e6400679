"""The proxies the images run: the chart's proxy image and the local hub's, both the wrapper that keeps
the App's cookies from people's servers, both the configurable-http-proxy version the chart runs."""

from __future__ import annotations

import json

import pytest

from harness import ROOT
from harness.containers import HUB_IMAGE, PROXY_IMAGE
from harness.net import StandInServer
from harness.proxy import Proxy, cookie_header, cookies_received, send_raw

BOB = "bob@openhexa.test"
APP_COOKIES = {"sessionid": "alice-app-session-5e1f", "csrftoken": "alice-app-csrf-77a0"}
SERVER_COOKIES = {"jupyterhub-user-bob%40openhexa.test": "bobs-oauth", "_xsrf": "x-1"}
IMAGES = {"proxy-image": PROXY_IMAGE, "local-hub-image": f"{HUB_IMAGE}-local"}


@pytest.fixture(params=list(IMAGES))
def image(request, docker_client):
    name = IMAGES[request.param]
    docker_client.images.get(name)  # built by `make build`
    return name


def test_a_server_behind_the_images_proxy_gets_no_app_cookie(image, tmp_path):
    with StandInServer(lambda r: (200, {}, "hub")) as hub, StandInServer(lambda r: (200, {}, "bob")) as bob:
        proxy = Proxy.start(tmp_path, hub.url, image=image)
        try:
            proxy.add_route("/", hub.url, hub=True)
            proxy.add_route(f"/user/{BOB}/", bob.url, user=BOB, server_name="")
            everything = cookie_header({**APP_COOKIES, **SERVER_COOKIES})
            assert send_raw(proxy.url, f"/%75ser/{BOB}/lab", {"Cookie": everything}) == 200
            assert cookies_received(bob) == SERVER_COOKIES
            assert send_raw(proxy.url, "/hub/login", {"Cookie": everything}) == 200
            assert cookies_received(hub) == {**APP_COOKIES, **SERVER_COOKIES}
        finally:
            proxy.stop()


def test_the_images_proxy_is_the_version_the_chart_runs(image, docker_client):
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/configurable-http-proxy"]
    output = docker_client.containers.run(image, ["--version"], entrypoint="configurable-http-proxy", remove=True)
    assert output.decode().strip().splitlines()[-1] == locked["version"]


def test_the_proxy_image_runs_as_nobody_like_the_charts(docker_client):
    assert docker_client.images.get(PROXY_IMAGE).attrs["Config"]["User"] == "65534"
