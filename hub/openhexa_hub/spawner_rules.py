"""Turn the App's credentials answers into spawner settings.

Kept free of HTTP and of the authenticator so each rule can be tested on a
real DockerSpawner or KubeSpawner without a hub.
"""

from __future__ import annotations

import base64
import json
import logging
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from traitlets import Dict, HasTraits, List

from . import internals

HASH_PATTERN = re.compile(r"^[0-9a-f]{6,64}$")
ENV_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # matched whole (fullmatch)

# The names the App's code sends, read from the App (BLSQ/openhexa-app, backend/hexa), and nothing
# else: a name outside them refuses the spawn, naming it (a dropped name would hide the App's
# mistake, or an attack, behind a server that half works). Names that run code (SHELLOPTS and PS4,
# *_PROXY, PIP_*, NODE_OPTIONS, GIT_*, R_*, IPYTHONDIR, ...) are not among them.
APP_ENV_NAMES = frozenset(
    {
        # notebooks/views.py: the git extension's feature flag
        "GIT_EXTENSION_ENABLED",
        # plugins/connector_s3/credentials.py (default credentials)
        "AWS_S3_BUCKET_NAMES", "AWS_S3_FUSE_CONFIG", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN", "AWS_FRESH_ROLE", "AWS_DEFAULT_REGION",
        # plugins/connector_dhis2 and connector_postgresql (default credentials)
        "DHIS2_INSTANCES_SLUGS", "POSTGRESQL_DATABASE_NAMES",
        # workspaces/views.py: credentials
        "HEXA_TOKEN", "WORKSPACE_BUCKET_NAME", "WORKSPACE_STORAGE_ENGINE",
        "WORKSPACE_DATABASE_DB_NAME", "WORKSPACE_DATABASE_HOST", "WORKSPACE_DATABASE_PORT",
        "WORKSPACE_DATABASE_USERNAME", "WORKSPACE_DATABASE_PASSWORD", "WORKSPACE_DATABASE_URL",
        # files/backends/*.py: get_bucket_mount_config
        "WORKSPACE_STORAGE_MOUNT_PATH",
        "WORKSPACE_STORAGE_ENGINE_S3_BUCKET_NAME", "WORKSPACE_STORAGE_ENGINE_S3_REGION_NAME",
        "WORKSPACE_STORAGE_ENGINE_S3_ENDPOINT_URL", "WORKSPACE_STORAGE_ENGINE_S3_ACCESS_KEY_ID",
        "WORKSPACE_STORAGE_ENGINE_S3_SECRET_ACCESS_KEY", "WORKSPACE_STORAGE_ENGINE_S3_SESSION_TOKEN",
        "WORKSPACE_STORAGE_ENGINE_GCP_BUCKET_NAME", "WORKSPACE_STORAGE_ENGINE_GCP_ACCESS_TOKEN",
        "WORKSPACE_STORAGE_ENGINE_AZURE_ACCOUNT_NAME", "WORKSPACE_STORAGE_ENGINE_AZURE_STORAGE_SAS_TOKEN",
    }
)  # fmt: skip
# One set per DHIS2 instance and PostgreSQL database a person can reach (their slug or name,
# uppercased, `-` as `_`; connector_dhis2/credentials.py, connector_postgresql/credentials.py).
APP_ENV_PATTERNS = (
    re.compile(r"DHIS2_[A-Z0-9_]+_(URL|USERNAME|PASSWORD)"),
    re.compile(r"POSTGRESQL_[A-Z0-9_]+_(HOSTNAME|USERNAME|PASSWORD|DATABASE|PORT|URL)"),
)

# What the hub, the spawner, JupyterHub's single-user server, Docker Stacks' start-up, the
# image's hooks, the shell or the dynamic loader rely on: refused even when an operator's
# EXTRA_APP_ENV would let the name in.
FORBIDDEN_ENV_NAMES = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "IFS", "ENV", "BASH_ENV", "TMPDIR",
        "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND", "CDPATH", "GLOBIGNORE",
        "GRANT_SUDO", "RESTARTABLE", "GEN_CERT", "DOCKER_STACKS_JUPYTER_CMD",
        "MEM_LIMIT", "MEM_GUARANTEE", "CPU_LIMIT", "CPU_GUARANTEE",
        "HEXA_SERVER_URL", "HEXA_WORKSPACE", "CONTENT_SECURITY_POLICY",
        "NODE_OPTIONS", "IPYTHONDIR", "MPLCONFIGDIR", "R_HOME", "R_PROFILE", "R_PROFILE_USER", "R_ENVIRON",
        "R_ENVIRON_USER", "R_LIBS", "R_LIBS_USER", "PERL5OPT", "PERL5LIB", "RUBYOPT",
    }
)  # fmt: skip
FORBIDDEN_ENV_PREFIXES = (
    "JUPYTERHUB_", "JUPYTER_", "JPY_", "LD_", "PYTHON", "NB_", "CHOWN_", "OPENHEXA_", "BASH_FUNC_",
    "GIT_", "PIP_", "CONDA_", "MAMBA_", "NPM_", "NODE_",
)  # fmt: skip
PROXY_SUFFIX = "_PROXY"  # HTTP_PROXY, https_proxy, ALL_PROXY, NO_PROXY: where every connection goes


def forbidden_env_name(name: str) -> bool:
    upper = name.upper()  # programs read some in lowercase too (http_proxy)
    return upper in FORBIDDEN_ENV_NAMES or upper.startswith(FORBIDDEN_ENV_PREFIXES) or upper.endswith(PROXY_SUFFIX)


def app_may_set(name: str, extra: tuple[str, ...] | list[str] = ()) -> bool:
    """Whether the App may set ``name``: one its code sends, or one of the operator's ``extra``
    (a name, or ``PREFIX*``); never one the hub and the image rely on (but the App's own
    GIT_EXTENSION_ENABLED)."""
    if name in APP_ENV_NAMES or any(pattern.fullmatch(name) for pattern in APP_ENV_PATTERNS):
        return name == "GIT_EXTENSION_ENABLED" or not forbidden_env_name(name)
    allowed = any(name.startswith(e[:-1]) if e.endswith("*") else name == e for e in extra)
    return allowed and not forbidden_env_name(name)


# Files the App writes in a person's home (default credentials, a path to base64): the App's
# code writes one, ~/.pgpass (connector_postgresql/credentials.py). Never under another hidden
# file or folder (~/.jupyter, ~/.ipython, ~/.bashrc, ~/.config/...): those run code.
APP_DOTFILES = frozenset({".pgpass"})


def file_allowed(path: str) -> bool:
    """Whether the App may write ``path`` (``~/``-relative or relative) in a person's home."""
    relative = path[2:] if path.startswith("~/") else path
    parts = relative.split("/")
    if not relative or relative.startswith("/") or any(part in ("", ".", "..") for part in parts):
        return False
    return relative in APP_DOTFILES or not any(part.startswith(".") for part in parts)


# Template fields that make a volume personal (a person's home), as used by
# KubeSpawner's and DockerSpawner's volume templates.
PERSONAL_FIELDS = re.compile(
    r"\{(username|safe_username|escaped_username|unescaped_username|"
    r"user_server|safe_user_server|escaped_user_server|userid|pvc_name|prefix)\}"
)


class BadCredentials(ValueError):
    """The App's credentials answer does not have the contract's shape."""


class Forbidden(BadCredentials):
    """The App's answer sets what the hub does not let it set; ``explanation`` is for people to read."""

    explanation = ""


class ForbiddenName(Forbidden):
    """The App's answer sets an environment variable the hub does not let it set."""

    def __init__(self, name: str):
        super().__init__(f"the App may not set {name}")
        self.name = name
        self.explanation = (
            f"The OpenHexa App sent a setting the hub does not let it set ({name}); an administrator needs to "
            "look at the App's configuration (or EXTRA_APP_ENV on the hub)."
        )


class ForbiddenFile(Forbidden):
    """The App's answer writes a file the hub does not let it write."""

    def __init__(self, path: str):
        super().__init__(f"the App may not write {path[:64]!r}")
        self.path = path[:64]
        self.explanation = (
            f"The OpenHexa App sent a file the hub does not write ({self.path}): files from the App never go in "
            "hidden files or folders (only ~/.pgpass). An administrator needs to look at the App."
        )


@dataclass
class Credentials:
    """What a server gets from the App: environment variables and files."""

    env: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)  # path -> base64 content
    server_hash: str | None = None
    image: str | None = None


def _env_from(payload: dict, extra: tuple[str, ...] | list[str] = ()) -> dict[str, str]:
    env = payload.get("env", {})
    if not isinstance(env, dict):
        raise BadCredentials("'env' is not an object")
    clean = {}
    for name, value in env.items():
        if not isinstance(name, str) or not ENV_NAME_PATTERN.fullmatch(name):
            raise BadCredentials("an environment variable has an invalid name")
        if not app_may_set(name, extra):
            raise ForbiddenName(name)
        if value is None:
            continue
        if not isinstance(value, (str, int, float, bool)):
            raise BadCredentials(f"environment variable {name} is not a scalar")
        # Numbers and booleans become their JSON spelling: 5432, true.
        clean[name] = value if isinstance(value, str) else json.dumps(value)
    return clean


def parse_default_credentials(payload: dict, extra_env: tuple[str, ...] | list[str] = ()) -> Credentials:
    """Parse a ``/notebooks/default-credentials/`` answer; ``extra_env``: the operator's EXTRA_APP_ENV."""
    files = payload.get("files") or {}
    if not isinstance(files, dict):
        raise BadCredentials("'files' is not an object")
    for path, content in files.items():
        if not isinstance(path, str) or not file_allowed(path):
            raise ForbiddenFile(str(path))
        try:
            base64.b64decode(content, validate=True)
        except (ValueError, TypeError):
            raise BadCredentials(f"file {path} is not valid base64") from None
    return Credentials(env=_env_from(payload, extra_env), files={str(p): c for p, c in files.items()})


def parse_workspace_credentials(payload: dict, extra_env: tuple[str, ...] | list[str] = ()) -> Credentials:
    """Parse a ``/workspaces/credentials/`` answer; ``extra_env``: the operator's EXTRA_APP_ENV."""
    server_hash = payload.get("notebooks_server_hash")
    if not isinstance(server_hash, str) or not HASH_PATTERN.match(server_hash):
        raise BadCredentials("'notebooks_server_hash' is missing or not lowercase hex")
    image = payload.get("image") or None
    if image is not None and not isinstance(image, str):
        raise BadCredentials("'image' is not a string")
    return Credentials(env=_env_from(payload, extra_env), server_hash=server_hash, image=image)


def is_kubespawner(spawner) -> bool:
    """True for KubeSpawner and its subclasses, without importing kubespawner."""
    return any(cls.__name__ == "KubeSpawner" for cls in type(spawner).__mro__)


def escape_for_spawner(spawner, value: str) -> str:
    """Escape a value so the spawner passes it on unchanged.

    KubeSpawner expands ``{...}`` in environment values as templates
    (``str.format``), so braces are doubled for it. Other spawners pass values
    through as they are.
    """
    return escape_template(value) if is_kubespawner(spawner) else value


def add_environment(spawner, env: dict[str, str]) -> None:
    """Add ``env`` to the spawner's environment, escaped for that spawner."""
    merged = dict(spawner.environment)
    merged.update({name: escape_for_spawner(spawner, value) for name, value in env.items()})
    spawner.environment = merged


def name_after_hash(spawner, server_hash: str) -> str:
    """Name the container or pod after the App's server hash; return the name."""
    name = f"jupyter-{server_hash}"
    if is_kubespawner(spawner):
        spawner.pod_name = name
    elif hasattr(spawner, "object_name"):  # DockerSpawner
        spawner.object_name = name
    return name


def _is_personal(template) -> bool:
    return bool(PERSONAL_FIELDS.search(str(template)))


def drop_personal_volumes(spawner) -> list[str]:
    """Remove every volume that is a person's home; return what was removed.

    A volume is personal when its name, claim or host source is a template on
    the person (``{username}``, ``{pvc_name}``, ...). Shared volumes, such as
    ``/dev/fuse``, stay.
    """
    removed: list[str] = []
    if is_kubespawner(spawner):
        volumes = spawner.volumes
        items = list(volumes.items()) if isinstance(volumes, dict) else list(enumerate(volumes))
        kept = []
        for key, volume in items:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName", "")
            if _is_personal(volume.get("name", "")) or _is_personal(claim):
                removed.append(volume.get("name", str(key)))
            else:
                kept.append((key, volume))
        spawner.volumes = dict(kept) if isinstance(volumes, dict) else [v for _, v in kept]
        mounts = spawner.volume_mounts
        mount_items = list(mounts.items()) if isinstance(mounts, dict) else list(enumerate(mounts))
        kept_mounts = [(k, m) for k, m in mount_items if m.get("name") not in removed]
        spawner.volume_mounts = dict(kept_mounts) if isinstance(mounts, dict) else [m for _, m in kept_mounts]
        spawner.storage_pvc_ensure = False
    elif hasattr(spawner, "volumes") and isinstance(spawner.volumes, dict):  # DockerSpawner
        kept = {}
        for source, target in spawner.volumes.items():
            if _is_personal(source):
                removed.append(source)
            else:
                kept[source] = target
        spawner.volumes = kept
    return removed


def image_allowed(image: str, spawner_image: str | None, allowed: list[str]) -> bool:
    """An image is allowed when it is the spawner's own or on the allow-list."""
    return image == spawner_image or image in allowed


# -- notebook profiles -------------------------------------------------------------

# What a profile may change: the size of a server. KubeSpawner and DockerSpawner
# both have these traits (JupyterHub's Spawner declares them).
SIZING_TRAITS = ("cpu_guarantee", "cpu_limit", "mem_guarantee", "mem_limit")


class ProfileList(HasTraits):
    """Mixed into spawners that lack KubeSpawner's ``profile_list``: the same setting, the same format."""

    profile_list = List(
        Dict(),
        config=True,
        help="""Notebook profiles, as KubeSpawner's profile_list: each with a `slug`, one with
        `default: true`, and the sizes in `kubespawner_override` (cpu_guarantee, cpu_limit,
        mem_guarantee, mem_limit). The App picks one by slug (`{"profile": <slug>}`).""",
    )


class UnknownProfile(ValueError):
    """The App asked for a profile this hub does not define."""


def profiles_of(spawner) -> list[dict]:
    """The spawner's ``profile_list`` (KubeSpawner's format), as a list; empty when it has none."""
    profiles = getattr(spawner, "profile_list", None) or []
    if callable(profiles):
        return []  # computed per spawn by KubeSpawner itself: nothing to check here
    if isinstance(profiles, dict):
        profiles = list(profiles.values())
    return list(profiles)


def choose_profile(profiles: list[dict], name: str | None) -> dict | None:
    """The profile called ``name`` (its slug), or the default one when no name is given.

    None when the hub defines no profiles (a named profile is then ignored, as
    KubeSpawner ignores it). Raises :class:`UnknownProfile` naming the profiles there are.
    """
    if not profiles:
        return None
    if not name:
        return next((p for p in profiles if p.get("default")), profiles[0])
    for profile in profiles:
        if profile.get("slug") == name:
            return profile
    names = ", ".join(str(p.get("slug")) for p in profiles)
    raise UnknownProfile(f"There is no notebook profile {name!r} on this hub; its profiles are: {names}.")


def apply_profile(spawner, profile: dict) -> dict:
    """Size the server as ``profile`` says; return what was set.

    KubeSpawner applies its own ``profile_list`` when the server starts, after the
    spawn hooks; other spawners get the profile's sizing traits here.
    """
    if is_kubespawner(spawner):
        return {}
    override = profile.get("kubespawner_override") or {}
    sizing = {key: value for key, value in override.items() if key in SIZING_TRAITS}
    for key, value in sizing.items():
        setattr(spawner, key, value)
    return sizing


def load_profiles(path) -> list[dict]:
    """Profiles from a YAML file: a list of profiles, or Helm values with ``singleuser.profileList``."""
    import yaml  # only the hub's configuration needs it

    with open(path) as stream:
        data = yaml.safe_load(stream) or []
    if isinstance(data, dict):
        data = (data.get("singleuser") or {}).get("profileList") or []
    if not isinstance(data, list) or not all(isinstance(p, dict) and p.get("slug") for p in data):
        raise ValueError(f"{path}: not a list of profiles with a slug each")
    return data


# -- the 'local' storage engine --------------------------------------------------------

LOCAL_ON_KUBERNETES = (
    "This workspace keeps its files on the OpenHexa App's own machine (storage engine 'local'), "
    "which notebooks on Kubernetes cannot reach. The 'local' engine is for single-machine "
    "deployments; on Kubernetes the App needs a cloud storage engine (s3, gcp or azure)."
)


class LocalStorageRefused(ValueError):
    """The 'local' engine cannot work under this spawner."""


def bind_local_storage(spawner, env: dict[str, str], root: str = "") -> str | None:
    """The 'local' engine: the App's folder of the bucket becomes the workspace folder.

    The App sends WORKSPACE_STORAGE_MOUNT_PATH, the bucket's folder as the Docker
    engine sees it. Under DockerSpawner it is bound at the workspace folder, if it is a
    folder under ``root`` (LOCAL_STORAGE_ROOT, where the App keeps its buckets; never
    ``/`` or the Docker socket); under KubeSpawner, or without a root, it is refused
    (:class:`LocalStorageRefused`). Returns the path bound.
    """
    path = env.get("WORKSPACE_STORAGE_MOUNT_PATH", "") if env.get("WORKSPACE_STORAGE_ENGINE") == "local" else ""
    if hasattr(spawner, "workspace_host_path"):
        spawner.workspace_host_path = ""  # a server of another engine last time
    if not path:
        return None
    if is_kubespawner(spawner):
        raise LocalStorageRefused(LOCAL_ON_KUBERNETES)
    if not posixpath.isabs(path) or posixpath.normpath(path) != path:
        raise BadCredentials("WORKSPACE_STORAGE_MOUNT_PATH is not an absolute, normalised path")
    top = posixpath.normpath(root).rstrip("/") if root else ""  # "/" and "//" leave nothing: refused
    if not top or not posixpath.isabs(top) or not path.startswith(top + "/"):
        raise LocalStorageRefused(
            f"This workspace keeps its files in a folder of this machine (storage engine 'local'), which is not "
            f"under the hub's LOCAL_STORAGE_ROOT ({root or 'unset'}): an administrator sets it to the folder "
            "where the OpenHexa App keeps its buckets."
        )
    if hasattr(spawner, "workspace_host_path"):  # HostNetworkDockerSpawner binds it when it starts
        spawner.workspace_host_path = path
    elif hasattr(spawner, "volumes") and isinstance(spawner.volumes, dict):  # another DockerSpawner
        target = getattr(spawner, "workspace_dir", "/home/jovyan/workspace")
        spawner.volumes = {**spawner.volumes, escape_template(path): {"bind": target, "mode": "rw"}}
    return path


# What a server needs to mount a bucket with FUSE as the notebook user, through the setuid
# fusermount3: /dev/fuse, SYS_ADMIN in its bounding set (for mount(2)), AppArmor unconfined (the
# runtime's default profile denies mount(2)) and privilege escalation (the setuid bit). Only
# servers of a cloud storage engine get them. SYS_ADMIN would also let the notebook user create
# user namespaces (the runtime's seccomp profile allows unshare and clone's namespace flags to
# whoever has it): seccomp/fuse.json, the runtime's default profile for the default capabilities
# plus mount, umount and umount2, denies them (FUSE_SECCOMP_PROFILE for Kubernetes' nodes).
FUSE_ENGINES = ("s3", "gcp", "azure")
FUSE_SECCOMP = Path(__file__).with_name("seccomp") / "fuse.json"


def fuse_seccomp() -> str:
    """seccomp/fuse.json as Docker takes it in ``security_opt``: the profile's JSON content."""
    return json.dumps(json.loads(FUSE_SECCOMP.read_text()), separators=(",", ":"))


def fuse_host_config() -> dict:
    """DockerSpawner's host config of a server that mounts a bucket (its templates: braces doubled)."""
    return {
        "devices": ["/dev/fuse:/dev/fuse:rwm"],
        "cap_add": ["SYS_ADMIN"],
        # Both in one list: DockerSpawner merges dicts, and replaces lists.
        "security_opt": ["apparmor:unconfined", "seccomp=" + escape_template(fuse_seccomp())],
    }


FUSE_VOLUME = {"name": "fuse", "hostPath": {"path": "/dev/fuse", "type": "CharDevice"}}
FUSE_MOUNT = {"name": "fuse", "mountPath": "/dev/fuse"}


def fuse_security_context(base: dict, seccomp_profile: str) -> dict:
    """KubeSpawner's container security context of a pod that mounts a bucket: ``base`` (the chart's) with
    SYS_ADMIN, the Localhost seccomp profile ``seccomp_profile`` (seccomp/fuse.json on each node), AppArmor
    unconfined and privilege escalation."""
    return {
        **base,
        "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]},
        "seccompProfile": {"type": "Localhost", "localhostProfile": seccomp_profile},
        "appArmorProfile": {"type": "Unconfined"},
        "allowPrivilegeEscalation": True,
    }


def _without_fuse(items):
    if isinstance(items, dict):
        return {k: v for k, v in items.items() if v.get("name") != "fuse"}
    return [item for item in items if item.get("name") != "fuse"]


def _with_fuse(items, item):
    if isinstance(items, dict):
        return {**items, "fuse": item}
    return [*items, item]


def grant_fuse(spawner, env: dict[str, str], seccomp_profile: str = "openhexa/fuse.json") -> bool:
    """Give a workspace server of a cloud storage engine what FUSE needs, and no other server; returns
    whether granted. ``seccomp_profile``: KubeSpawner's Localhost profile (FUSE_SECCOMP_PROFILE)."""
    granted = env.get("WORKSPACE_STORAGE_ENGINE") in FUSE_ENGINES
    if is_kubespawner(spawner):
        # The spawner object outlives a server: start from the configured context every time.
        base = internals.remember(spawner, "_openhexa_own_security", dict(spawner.container_security_context))
        spawner.container_security_context = fuse_security_context(base, seccomp_profile) if granted else dict(base)
        volumes, mounts = _without_fuse(spawner.volumes), _without_fuse(spawner.volume_mounts)
        spawner.volumes = _with_fuse(volumes, FUSE_VOLUME) if granted else volumes
        spawner.volume_mounts = _with_fuse(mounts, FUSE_MOUNT) if granted else mounts
        return granted
    if not hasattr(spawner, "extra_host_config"):
        return False
    fuse = fuse_host_config()
    config = {k: v for k, v in dict(spawner.extra_host_config).items() if k not in fuse}
    spawner.extra_host_config = {**config, **fuse} if granted else config
    return granted


def escape_template(value: str) -> str:
    """A value that ``str.format`` gives back unchanged (braces doubled), for a spawner's templates."""
    return value.replace("{", "{{").replace("}", "}}")


# -- logs ------------------------------------------------------------------------------

# KubeSpawner logs a pod or manifest Kubernetes refused whole, as its to_str(): with
# the server's environment, credentials included.
MANIFEST_MESSAGES = ("Failed for %s", "Failed to create %s")
MANIFEST_NAME = re.compile(r"'name': '([^']*)'")


class ManifestFilter(logging.Filter):
    """Keep a refused pod's or manifest's name in the hub's log, never its content."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg in MANIFEST_MESSAGES and record.args:
            found = MANIFEST_NAME.search(str(record.args[0]))
            name = found.group(1) if found else "?"
            record.args = (f"{name} (its manifest is not logged: it carries the server's credentials)",)
        return True


def keep_credentials_out_of(log: logging.Logger) -> None:
    """Put :class:`ManifestFilter` on ``log`` (the hub's logger, which spawners share), once."""
    if not any(isinstance(f, ManifestFilter) for f in log.filters):
        log.addFilter(ManifestFilter())


# -- labels --------------------------------------------------------------------------

WORKSPACE_LABEL = "hexa-workspace"


def label_workspace(spawner, workspace: str) -> None:
    """Label the pod or container with its workspace (``hexa-workspace: <slug>``), for accounting."""
    if is_kubespawner(spawner):
        spawner.extra_labels = {**spawner.extra_labels, WORKSPACE_LABEL: workspace}
    elif hasattr(spawner, "extra_create_kwargs"):  # DockerSpawner
        kwargs = dict(spawner.extra_create_kwargs)
        kwargs["labels"] = {**kwargs.get("labels", {}), WORKSPACE_LABEL: workspace}
        spawner.extra_create_kwargs = kwargs
