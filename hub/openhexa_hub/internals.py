"""The one door to JupyterHub's internals: every private JupyterHub name the hub relies on, here only.

Each function says which internal it uses and why no public API serves. tests/unit/test_internals.py
checks every one against the JupyterHub installed, so a release that removes or changes one fails
there, naming it, before a hub runs it.
"""

from __future__ import annotations

import asyncio
import contextlib

from jupyterhub import apihandlers, version_info
from jupyterhub.handlers import pages
from tornado import web


def log_name(spawner) -> str:
    """The server as JupyterHub's own log lines name it (``alice@x.org:workspace``): ``Spawner._log_name``.
    No public name; ours use it so a server's lines, JupyterHub's and ours, read alike."""
    return spawner._log_name


def spawn_future(spawner) -> asyncio.Future | None:
    """The start under way, to interrupt at logout as the REST API's DELETE does: ``Spawner._spawn_future``.
    JupyterHub has no public way to cancel a start but its REST API, which a handler cannot call in-process."""
    return spawner._spawn_future


def stop_future(spawner) -> asyncio.Future | None:
    """The stop under way, to wait for: ``Spawner._stop_future``, set by JupyterHub's stop_single_user (the
    REST API waits on it the same way); None before any stop."""
    return getattr(spawner, "_stop_future", None)


def token_authenticated(handler) -> bool:
    """Whether this request came with a token, not the hub's cookie: ``BaseHandler._token_authenticated``,
    set by JupyterHub's own authentication of the request; no public accessor.

    JupyterHub sets it only on a token's request. 6.1's ``refresh_auth`` reads it without a default once
    refresh_user says no: on a cookie's request, an AttributeError and a traceback in the log (the
    person is still logged out). So where it is unset, this sets it, False, as JupyterHub 6 means it.
    """
    if not hasattr(handler, "_token_authenticated"):
        handler._token_authenticated = False
    return bool(handler._token_authenticated)


def logout_cleanup(handler, name: str) -> None:
    """What JupyterHub's own logout does once servers are stopped: ``LogoutHandler._backend_logout_cleanup``
    (its log line, the hub's cookies cleared, and on 5 its logout counter). Ours replaces
    ``default_handle_logout`` (the person may come with App cookies only) and ends the same way."""
    handler._backend_logout_cleanup(name)


def check_again_next_request(user) -> None:
    """Have JupyterHub call refresh_user again on the person's next request, whichever browser sends it.

    JupyterHub skips refresh_user for auth_refresh_age seconds (at least 1) after any request of
    the person was checked: its ``User._auth_refreshed`` is one time per person, not per browser.
    A request of another browser within that second (a copied hub cookie, a shared browser whose
    App session is now someone else's) would ride on that check. Once JupyterHub has set it, on
    the next turn of the loop, this sets it back. No setting makes the check per request.
    """
    with contextlib.suppress(RuntimeError):  # no running loop: nothing to undo
        asyncio.get_running_loop().call_soon(setattr, user, "_auth_refreshed", 0)


def counts_spawn_failure(error: BaseException) -> bool:
    """Whether JupyterHub counts a spawn that fails with ``error`` toward ``consecutive_failure_limit``.

    JupyterHub 5 counts every failed spawn. JupyterHub 6 counts only errors: not a ``SpawnException``
    nor an HTTP error under 500, which it takes for a refusal (``BaseHandler.spawn_single_user``).
    """
    if version_info[0] < 6:
        return True
    from jupyterhub.spawner import SpawnException  # JupyterHub 6

    if isinstance(error, SpawnException):
        return False
    return not (isinstance(error, web.HTTPError) and error.status_code < 500)


def take_back_spawn_failure(settings: dict, error: BaseException) -> int:
    """Take back, ahead of time, the failed spawn JupyterHub is about to count; return the count it will log.

    JupyterHub counts failed spawns (:func:`counts_spawn_failure`) in the application settings'
    ``failure_count`` and exits at the spawner's ``consecutive_failure_limit``; an App's refusal is no
    failure of the hub. No hook tells JupyterHub a failure is a refusal. A failure JupyterHub does not
    count is left as it is: taken back, the count would go below 0 and real failures go uncounted.
    """
    count = settings.get("failure_count", 0)
    if counts_spawn_failure(error):
        settings["failure_count"] = count - 1
    return count


async def admit_workspace_name(handler, user, server_name: str) -> None:
    """Let JupyterHub 6 start a workspace server named by the App's slug, which it refuses as a new name.

    JupyterHub 6 refuses a new named server unless its name is a "safe slug": 1-30 lowercase letters,
    digits and single hyphens, from a letter (``BaseHandler._check_named_server_request``). The App names
    a workspace's server by the workspace's slug, up to 63 characters, maybe from a digit
    (``create_workspace_slug``, hexa/workspaces/models.py). JupyterHub 6 still starts a named server
    whose row exists (``allow_existing_invalid_named_servers``, "allow-start" by default: servers named
    before 6). So for a name the spawn hooks took as a workspace's, asked for by the App, this adds the
    row first (``User._new_orm_spawner``: no public way adds a row JupyterHub's rule refuses), once
    JupyterHub's named-server limit allows one more (a row that exists is not counted again). On
    JupyterHub 5, for a name JupyterHub 6 takes, or where the hub refuses such names, nothing.
    """
    if version_info[0] < 6 or server_name in user.orm_spawners:
        return
    from jupyterhub.slugs import is_valid_safe_slug  # JupyterHub 6

    if is_valid_safe_slug(server_name) or not handler.settings.get("allow_invalid_named_server_start"):
        return
    limit = await handler.get_current_user_named_server_limit()
    if limit and len(set(user.orm_spawners) - {""}) >= limit:
        return  # JupyterHub's own refusal follows
    user._new_orm_spawner(server_name, server_name)


def api_routes() -> list[tuple]:
    """JupyterHub's REST API routes (``apihandlers.default_handlers``), to wrap the ones that name a user.
    An authenticator's get_handlers can add routes, not change JupyterHub's: these are put before them."""
    return list(apihandlers.default_handlers)


def page_routes() -> list[tuple]:
    """JupyterHub's page routes (``handlers.pages.default_handlers``), for the spawn pages' (as api_routes)."""
    return list(pages.default_handlers)


def remember(spawner, key: str, value):
    """What ``spawner`` held before the hooks changed it (``key``: a name of ours), kept on the object in its
    ``__dict__`` beside its traits: the spawner object outlives each server, and a trait has no 'configured
    value' to go back to."""
    return spawner.__dict__.setdefault(key, value)


def has_server_record(spawner) -> bool:
    """Whether JupyterHub's database records a server (its URL) for ``spawner``: ``orm_spawner.server``,
    set from a start until the stop is done; ``active`` and ``pending`` say nothing between the two."""
    return spawner.orm_spawner.server is not None


def forget_server(user, name: str, db) -> None:
    """Remove ``user``'s named server ``name`` and its database row (``Spawner.orm_spawner``).

    JupyterHub keeps a row for every named server asked for, started or not; only its REST API's
    DELETE removes one, which a handler cannot call in-process.
    """
    spawner = user.spawners.pop(name, None)
    if spawner is not None:
        db.delete(spawner.orm_spawner)
        db.commit()
