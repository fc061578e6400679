"""The spawn hooks: what a person's server gets from the App, before it starts.

``pre_spawn_start`` asks the App for the server's credentials (the default server's, or a
workspace's, which only the App may launch), then applies them with the spawner rules of
``spawner_rules.py``: environment and files, image, workspace folder and storage, FUSE, labels,
profile. A refusal (the App's, or a rule's) is the spawn's answer, and no failure of the hub.

:class:`SpawnHooks` is mixed into the authenticator, since JupyterHub calls
``Authenticator.pre_spawn_start``; it reaches the App through the authenticator's calls
(``_post``, ``app_cookies``, ``app_username``, ``username_from``, ``_no_session``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re

from tornado import web
from tornado.ioloop import IOLoop
from traitlets.config import LoggingConfigurable

from . import internals, spawner_rules
from .app_client import AppRefused, NotLoggedIn
from .errors import refusal
from .handlers import launched_by_app
from .traits import EnvList, EnvUnicode

# Workspace (named server) names are the App's slugs (Django's validate_slug). At most
# 63 characters: KubeSpawner puts the name in a Kubernetes label, which cannot be longer.
WORKSPACE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")

SESSION_ENDED = "Your OpenHexa session has ended: log in to the OpenHexa App again, then reopen your notebooks."
WORKSPACE_FROM_THE_APP = (
    "Workspace notebooks are opened from the OpenHexa App: open the workspace there, then its notebooks."
)
# A server's environment holds its files (OPENHEXA_FILES): Linux refuses a single
# environment string over 128 kB (E2BIG), and a server would not start.
MAX_FILES_BYTES = 96 * 1024


def forgive_spawn_failure(spawner, error: web.HTTPError) -> None:
    """Take back, ahead of time, the count JupyterHub adds when this spawn fails with ``error``.

    JupyterHub counts failed spawns (a done callback of the spawn, which runs after the refusal;
    JupyterHub 6 counts only a 5xx of ours) and exits at the spawner's ``consecutive_failure_limit``;
    a success sets it back to 0.
    """
    handler = getattr(spawner, "handler", None)
    settings = getattr(handler, "settings", None)
    if settings is not None:
        # JupyterHub then logs "N consecutive spawns failed. Hub will exit ..." with the count it has
        # after adding this one back: unchanged, and no failure happened. That line is left out.
        REFUSALS_LOG.refused(internals.take_back_spawn_failure(settings, error))


class RefusalsAreNoFailures(logging.Filter):
    """Leave out JupyterHub's "N consecutive spawns failed" line after a refusal (which it counts, and the
    authenticator takes back ahead of time: N is the count of real failures before it, logged already)."""

    MESSAGE = "%i consecutive spawns failed"

    def __init__(self):
        super().__init__()
        self.count: int | None = None  # the count JupyterHub will log after the last refusal

    def refused(self, count: int) -> None:
        self.count = count

    def filter(self, record: logging.LogRecord) -> bool:
        if self.count is None or not str(record.msg).startswith(self.MESSAGE) or not record.args:
            return True
        if record.args[0] != self.count:
            return True
        self.count = None
        return False


REFUSALS_LOG = RefusalsAreNoFailures()


def forget_refused_server(user, spawner) -> None:
    """Once a refused named server's spawn has ended, remove it and its database row.

    JupyterHub keeps a row for every named server asked for, started or not: people
    asking for workspaces they may not open would fill the database, one row each.
    """
    future = internals.spawn_future(spawner)
    if future is None:
        return

    def remove():
        if user.spawners.get(spawner.name) is not spawner or spawner.active or spawner.pending:
            return
        internals.forget_server(user, spawner.name, user.db)

    # After JupyterHub's own callbacks on the spawn, on the next turn of the loop.
    future.add_done_callback(lambda _: IOLoop.current().add_callback(remove))


class SpawnHooks(LoggingConfigurable):
    """What each server gets from the App: its credentials, image, storage, profile (the spawn hooks).

    Each setting defaults to the environment variable named in its help.
    """

    default_credentials_url = EnvUnicode(
        "DEFAULT_CREDENTIALS_URL",
        config=True,
        help="The App's `/notebooks/default-credentials/` endpoint, called before a "
        "default server starts (env DEFAULT_CREDENTIALS_URL). Required.",
    )
    workspace_credentials_url = EnvUnicode(
        "WORKSPACE_CREDENTIALS_URL",
        config=True,
        help="The App's `/workspaces/credentials/` endpoint, called before a workspace "
        "(named) server starts (env WORKSPACE_CREDENTIALS_URL). Required.",
    )
    hexa_server_url = EnvUnicode(
        "HEXA_SERVER_URL",
        config=True,
        help="The App's URL as notebook servers reach it; given to every server as "
        "HEXA_SERVER_URL (env HEXA_SERVER_URL). Required.",
    )
    extra_app_env = EnvList(
        "EXTRA_APP_ENV",
        config=True,
        help="Environment variables the App may set beyond those its code sends, comma-separated; "
        "`NAME*` for a prefix (env EXTRA_APP_ENV). The names the hub and the image rely on stay refused.",
    )
    local_storage_root = EnvUnicode(
        "LOCAL_STORAGE_ROOT",
        config=True,
        help="The folder, as the Docker engine sees it, under which the App keeps the buckets of the "
        "'local' storage engine (the App's WORKSPACE_STORAGE_MOUNT_PATH must be below it); "
        "empty: the 'local' engine is refused (env LOCAL_STORAGE_ROOT).",
    )
    fuse_seccomp_profile = EnvUnicode(
        "FUSE_SECCOMP_PROFILE",
        "openhexa/fuse.json",
        config=True,
        help="KubeSpawner: the Localhost seccomp profile of servers that mount a bucket with FUSE, relative to "
        "the kubelet's seccomp folder (/var/lib/kubelet/seccomp): openhexa_hub/seccomp/fuse.json installed on "
        "every node (env FUSE_SECCOMP_PROFILE). DockerSpawner passes that file itself.",
    )
    allowed_images = EnvList(
        "ALLOWED_IMAGES",
        config=True,
        help="Images the App may ask for in a workspace answer, besides the spawner's "
        "own image; any other image refuses the spawn (env ALLOWED_IMAGES, comma-separated).",
    )
    app_default_image = EnvUnicode(
        "APP_DEFAULT_IMAGE",
        "blsq/openhexa-base-environment:latest",
        config=True,
        help="The App's DEFAULT_WORKSPACE_IMAGE: the image it names for every workspace "
        "that has none of its own. A workspace asking for it gets the spawner's own image "
        "(env APP_DEFAULT_IMAGE; empty: every image the App names must be allowed).",
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if REFUSALS_LOG not in self.log.filters:
            self.log.addFilter(REFUSALS_LOG)  # JupyterHub logs its count of failed spawns on it

    def server_settings(self) -> dict[str, str]:
        """What every notebook server gets from the hub's own settings."""
        return {
            "HEXA_SERVER_URL": self.hexa_server_url,
            # Notebook servers are framed by the App too.
            "CONTENT_SECURITY_POLICY": self.content_security_policy,
        }

    async def pre_spawn_start(self, user, spawner):
        """Fetch the server's credentials from the App and apply them.

        A refusal here (the App says no or is down, an image outside the policy, an
        unknown profile) is no failure of the hub: it does not count toward
        JupyterHub's consecutive spawn failure limit, which exits the hub (the chart
        sets 5), so people refused again and again never restart it for everyone.
        """
        answered = getattr(spawner.handler, "app_answered", None)  # a workspace launch's REST call waits on it
        try:
            await self._prepare(user, spawner)
        except asyncio.CancelledError:
            # The spawn was stopped while it asked the App: its person logged out (the logout stops a
            # server still starting). The launch answers so, not with a 500.
            if answered is not None and not answered.done():
                answered.set_result(
                    refusal(409, "The notebook server was stopped while it started: its person logged out.")
                )
            raise
        except web.HTTPError as error:
            forgive_spawn_failure(spawner, error)
            if spawner.name:
                forget_refused_server(user, spawner)
            if answered is not None and not answered.done():
                answered.set_result(error)
            raise
        if answered is not None and not answered.done():
            answered.set_result(None)

    async def _prepare(self, user, spawner):
        handler = spawner.handler
        credentials = await self.launch_credentials(handler, user, spawner.name, internals.log_name(spawner))
        try:
            if spawner.name:
                self._apply_workspace(spawner, credentials)
            else:
                self._apply_default(spawner, credentials)
                # The default server keeps the default profile, whatever the request asked for
                # (KubeSpawner would apply user_options' profile when the server starts).
                spawner.user_options = {}
            self._apply_profile(spawner)
        except spawner_rules.BadCredentials as error:
            self.log.error("OpenHexa App credentials for %s unusable: %s", internals.log_name(spawner), error)
            raise refusal(502, "The OpenHexa App sent credentials the hub cannot use.") from None

    async def launch_credentials(self, handler, user, server_name: str, log_name: str) -> spawner_rules.Credentials:
        """The App's credentials for ``user``'s server ``server_name``, once every rule holds; else a refusal.

        The server's name is a workspace slug; a workspace server is the App's to start (its
        service token, with the person's cookies); the App session is the person's and the App
        lets them open it. The spawn hooks apply what this returns; the spawn line asks it
        before it gives anyone a place.
        """
        if server_name:
            self.check_workspace_request(handler, server_name)
        cookies = self.app_cookies(handler) if handler is not None else None
        if cookies is None:
            raise refusal(403, SESSION_ENDED)
        try:
            if server_name:
                self._check_owner(user, await self.app_username(handler, cookies))
                form = {"workspace": server_name}
                try:
                    payload = await self._post(self.workspace_credentials_url, handler, cookies, form)
                except AppRefused as refused:
                    raise self._workspace_refusal(server_name, refused) from None
                return spawner_rules.parse_workspace_credentials(payload, self.extra_app_env)
            try:
                payload = await self._post(self.default_credentials_url, handler, cookies)
            except AppRefused as refused:
                raise self._no_session(refused) from None
            self._check_owner(user, self.username_from(payload))
            return spawner_rules.parse_default_credentials(payload, self.extra_app_env)
        except NotLoggedIn:
            raise refusal(403, SESSION_ENDED) from None
        except spawner_rules.Forbidden as error:  # a name or a file: never its value, never the file's content
            self.log.error("OpenHexa App credentials for %s: %s: refused", log_name, error)
            raise refusal(502, error.explanation) from None
        except spawner_rules.BadCredentials as error:
            self.log.error("OpenHexa App credentials for %s unusable: %s", log_name, error)
            raise refusal(502, "The OpenHexa App sent credentials the hub cannot use.") from None

    def check_workspace_request(self, handler, server_name: str) -> None:
        """A workspace server's name is a workspace slug, and only the App asks for one (so the App
        chooses its profile, as the workspace's subscription says). Else a refusal."""
        if not WORKSPACE_PATTERN.fullmatch(server_name):
            self.log.warning("Refusing server name that is not a workspace: %r", server_name[:64])
            raise refusal(400, "This is not an OpenHexa workspace name: use the workspace's slug.")
        if not launched_by_app(handler):
            self.log.warning("A workspace server (%s) asked for by someone else than the App: refused", server_name)
            raise refusal(403, WORKSPACE_FROM_THE_APP)

    def _check_owner(self, user, name):
        if name != user.name:
            self.log.warning("App session belongs to %r, not %r: spawn refused", name, user.name)
            raise refusal(403, "This OpenHexa session belongs to someone else.")

    def _apply_default(self, spawner, credentials: spawner_rules.Credentials):
        env = dict(credentials.env, **self.server_settings())
        if credentials.files:
            files = json.dumps(credentials.files)
            if len(files) > MAX_FILES_BYTES:
                server = internals.log_name(spawner)
                self.log.error("OpenHexa App files for %s: %d bytes, over the limit", server, len(files))
                raise refusal(
                    502,
                    f"The OpenHexa App sent files of {len(files) // 1024} kB for this server; a server takes "
                    f"at most {MAX_FILES_BYTES // 1024} kB of them. An administrator needs to look at the App.",
                )
            env["OPENHEXA_FILES"] = files
        spawner_rules.add_environment(spawner, env)

    def _apply_workspace(self, spawner, credentials: spawner_rules.Credentials):
        workspace = spawner.name
        self._choose_image(spawner, workspace, credentials.image)
        spawner_rules.name_after_hash(spawner, credentials.server_hash)
        spawner_rules.drop_personal_volumes(spawner)
        spawner_rules.grant_fuse(spawner, credentials.env, self.fuse_seccomp_profile)
        try:
            spawner_rules.bind_local_storage(spawner, credentials.env, self.local_storage_root)
        except spawner_rules.LocalStorageRefused as error:
            self.log.error("Workspace %s: the 'local' storage engine refused: %s", workspace, error)
            raise refusal(502, str(error)) from None
        spawner_rules.label_workspace(spawner, workspace)
        env = dict(credentials.env, **self.server_settings(), HEXA_WORKSPACE=workspace)
        spawner_rules.add_environment(spawner, env)

    def _workspace_refusal(self, workspace: str, refused: AppRefused):
        """What the person sees when the App refuses a workspace's credentials."""
        self.log.info("OpenHexa App refused the credentials of workspace %s: %s", workspace, refused)
        if refused.status == 404:
            return refusal(404, f"There is no workspace {workspace!r} in OpenHexa.")
        if refused.status == 400:
            return refusal(400, f"The OpenHexa App could not read the request for the workspace {workspace!r}.")
        return refusal(403, f"You may not open notebooks in the workspace {workspace!r}.")

    def _choose_image(self, spawner, workspace: str, image: str | None):
        """Run the image the App names, when this hub allows it; the App's default means the hub's own."""
        # The spawner object outlives a server: remember its configured image, so a
        # workspace that goes back to the default gets it back.
        own = internals.remember(spawner, "_openhexa_own_image", getattr(spawner, "image", None))
        if not image or image == self.app_default_image:
            if own is not None:
                spawner.image = own
            return
        if not spawner_rules.image_allowed(image, own, self.allowed_images):
            self.log.error("Workspace %s asked for image %s, not allowed", workspace, image)
            raise refusal(
                403,
                f"The workspace {workspace!r} asks for the notebook image {image}, which this hub does not run. "
                f"An administrator can allow it (ALLOWED_IMAGES on the hub) or set the workspace's image in "
                f"the OpenHexa App to {own or 'an allowed image'}.",
            )
        spawner.image = image

    def _apply_profile(self, spawner):
        """Size the server as the profile the App asked for (``{"profile": <slug>}``), or the default one."""
        name = (spawner.user_options or {}).get("profile")
        if name is not None and not isinstance(name, str):
            raise refusal(400, "The notebook profile must be a profile's name.")
        try:
            profile = spawner_rules.choose_profile(spawner_rules.profiles_of(spawner), name)
        except spawner_rules.UnknownProfile as error:
            raise refusal(400, str(error)) from None
        if profile is None:
            if name:
                server = internals.log_name(spawner)
                self.log.info("Profile %r asked for %s, but this hub defines no profiles", name, server)
            return
        sizing = spawner_rules.apply_profile(spawner, profile)
        self.log.info("Profile %s for %s %s", profile.get("slug"), internals.log_name(spawner), sizing or "")
