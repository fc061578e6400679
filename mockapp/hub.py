"""The App's calls to the hub, as ``notebooks/api.py``, ``notebooks/schema.py`` and the logout view make them.

The App uses ``requests`` from its backend: no redirect is followed on logout, an
error status raises ``HTTPError`` ("403 Client Error: Forbidden for url: ..."), and
a name goes into a URL path as it is (``requests`` only quotes what a URL cannot
hold: ``+`` and ``@`` stay). Here the calls are asynchronous, because the hub calls
the App back while it answers (a spawn's hooks, a logout's "who is this?").
"""

from __future__ import annotations

import json
import time
from http import HTTPStatus
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from .state import Settings, User, Workspace

# requests.utils.requote_uri: what stays as it is in a URL.
URL_SAFE = "!#$%&'()*+,/:;=?@[]~"


class HubHTTPError(Exception):
    """``requests.HTTPError`` as ``raise_for_status`` words it."""

    def __init__(self, code: int, url: str):
        kind = "Client Error" if code < 500 else "Server Error"
        reason = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else ""
        super().__init__(f"{code} {kind}: {reason} for url: {url}")
        self.code = code


def url(conf: Settings, path: str) -> str:
    return quote(f"{conf.notebooks_hub_url}{path}", safe=URL_SAFE)


async def call(conf: Settings, method: str, path: str, body=None, cookies: dict | None = None, api=True, answers=None):
    """One request to the hub; returns (status, JSON body or None).

    ``api``: a REST API call, with the App's token, following redirects as requests does;
    otherwise the logout call: no token, no redirect followed. ``answers``: a list the
    answer is noted in (the test switch ``/_mock/hub-answers``; the App keeps no such list).
    """
    headers = {"Authorization": f"token {conf.hub_api_token}"} if api else {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items() if v)
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = HTTPRequest(
        url(conf, path),
        method=method,
        headers=headers,
        body=None if body is None else json.dumps(body),
        allow_nonstandard_methods=True,
        follow_redirects=api,
        request_timeout=120,
    )
    client = AsyncHTTPClient(force_instance=True)
    try:
        response = await client.fetch(request, raise_error=False)
    finally:
        client.close()
    if response.code == 599:
        raise ConnectionError(f"{request.url}: {response.error}")
    try:
        data = json.loads(response.body or b"null")
    except ValueError:
        data = None
    if answers is not None:
        answers.append(
            {
                "at": time.time(),
                "method": method,
                "path": path,
                "status": response.code,
                "retry_after": response.headers.get("Retry-After"),
                "body": data if isinstance(data, dict) else None,
            }
        )
    return response.code, data


def raise_for_status(code: int, path: str, conf: Settings):
    if 400 <= code < 600:
        raise HubHTTPError(code, url(conf, path))


async def get_user(conf: Settings, username: str) -> dict | None:
    code, data = await call(conf, "GET", f"/api/users/{username}")
    if code == 404:
        return None
    raise_for_status(code, f"/api/users/{username}", conf)
    return data


async def create_user(conf: Settings, username: str):
    code, _ = await call(conf, "POST", f"/api/users/{username}")
    raise_for_status(code, f"/api/users/{username}", conf)


async def create_server(
    conf: Settings, username: str, server_name: str, cookies: dict, profile: str | None, answers=None
):
    """``create_server``: any 4xx or 5xx raises, a 429 too (the App neither waits nor asks again by itself)."""
    path = f"/api/users/{username}/servers/{server_name}"
    body = {"profile": profile} if profile else None
    code, _ = await call(conf, "POST", path, body=body, cookies=cookies, answers=answers)
    raise_for_status(code, path, conf)


async def server_ready(conf: Settings, username: str, server_name: str) -> bool:
    code, data = await call(conf, "GET", f"/api/users/{username}")
    raise_for_status(code, f"/api/users/{username}", conf)
    server = (data.get("servers") or {}).get(server_name)
    return bool(server and server["ready"])


def encoded_username(email: str) -> str:
    """The part before ``@`` percent-encoded, as the App builds notebook URLs."""
    local, domain = email.split("@", 1)
    return f"{quote(local)}@{domain}"


async def launch_notebook_server(
    conf: Settings, user: User, workspace: Workspace, cookies: dict, answers: list | None = None
) -> dict:
    """``launchNotebookServer`` once membership is checked: no waiting, the frontend asks again.

    The server is POSTed whenever the hub does not list it, so each ask of the frontend
    (every second) is a new POST until the hub has started it; ``answers`` notes them.
    """
    username = user.email
    user_data = await get_user(conf, username)
    if user_data is None:
        await create_user(conf, username)
        user_data = await get_user(conf, username)
    if workspace.slug not in user_data["servers"]:
        await create_server(conf, username, workspace.slug, cookies, workspace.notebook_profile, answers)
    encoded = encoded_username(username)
    return {
        "success": True,
        "server": {
            "name": workspace.slug,
            "url": f"{conf.notebooks_url}/user/{encoded}/{workspace.slug}/",
            "ready": await server_ready(conf, encoded, workspace.slug),
        },
        "errors": [],
    }


async def logout(conf: Settings, cookies: dict) -> int:
    """``LogoutView.post``: the hub's logout from the backend, the App's cookies only, no redirect followed."""
    code, _ = await call(conf, "GET", "/logout", cookies=cookies, api=False)
    return code
