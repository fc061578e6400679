"""What the mock App knows: its settings, people, workspaces and sessions."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

HERE = Path(__file__).parent

# config/settings/base.py: DEFAULT_WORKSPACE_IMAGE's default.
APP_DEFAULT_IMAGE = "blsq/openhexa-base-environment:latest"
# workspaces/models.py: who may launch notebooks (workspaces.launch_notebooks).
LAUNCHING_ROLES = ("admin", "editor")
ROLES = ("admin", "editor", "viewer")


def optional_path(value: str | None) -> Path | None:
    return Path(value) if value else None


def env_flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


@dataclass
class Settings:
    """The mock's settings, named after the App's own where it has them (env in brackets)."""

    fixtures: Path = HERE / "fixtures.yaml"  # [MOCK_APP_FIXTURES]
    # NOTEBOOKS_HUB_URL: the hub's /hub URL as the App's backend reaches it.
    notebooks_hub_url: str = "http://127.0.0.1:8001/hub"
    # NOTEBOOKS_URL: the hub as browsers reach it (the URLs the App shows).
    notebooks_url: str = "http://localhost:8001"
    hub_api_token: str = ""  # HUB_API_TOKEN
    # NEW_FRONTEND_DOMAIN: the separate frontend; the backend's /login sends browsers there.
    frontend_url: str = "http://localhost:3000"
    default_workspace_image: str = APP_DEFAULT_IMAGE  # DEFAULT_WORKSPACE_IMAGE
    # CSRF_TRUSTED_ORIGINS' hosts [MOCK_APP_TRUSTED_HOSTS].
    trusted_hosts: tuple[str, ...] = ("localhost", "127.0.0.1")
    # The 'local' storage engine (files/backends/fs.py): where buckets are folders
    # [MOCK_APP_STORAGE_DIR], and the same folder as the Docker engine sees it
    # [MOCK_APP_STORAGE_BIND_PATH, the App's ext_bind_path; default: the same path].
    storage_engine: str = "local"  # [MOCK_APP_STORAGE_ENGINE]: local, s3, gcp or azure, for every workspace
    s3_endpoint_url: str | None = None  # [MOCK_APP_S3_ENDPOINT_URL]: replaces the fixtures' endpoint
    storage_dir: Path = Path("/tmp/openhexa-mockapp-buckets")
    storage_bind_path: Path | None = None
    sessions_file: Path | None = None  # [MOCK_APP_SESSIONS]: sessions outlive a restart, as Django's do
    # The domains of sessionid [SESSION_COOKIE_DOMAIN] and csrftoken [CSRF_COOKIE_DOMAIN], two settings
    # as in the App (config/settings/base.py): e.g. ".example.org" both, so the hub at notebooks.example.org
    # sees both cookies; empty: host-only cookies (localhost shares them across ports).
    session_cookie_domain: str = ""
    csrf_cookie_domain: str = ""
    test_controls: bool = False  # [MOCK_APP_TEST_CONTROLS]: /_mock/... answers only when true

    @classmethod
    def from_env(cls, env=os.environ) -> Settings:
        frontend = env.get("NEW_FRONTEND_DOMAIN", cls.frontend_url).rstrip("/")
        trusted = env.get("MOCK_APP_TRUSTED_HOSTS", ",".join(cls.trusted_hosts))
        return cls(
            fixtures=Path(env.get("MOCK_APP_FIXTURES", cls.fixtures)),
            notebooks_hub_url=env.get("NOTEBOOKS_HUB_URL", cls.notebooks_hub_url).rstrip("/"),
            notebooks_url=env.get("NOTEBOOKS_URL", cls.notebooks_url).rstrip("/"),
            hub_api_token=env.get("HUB_API_TOKEN", ""),
            frontend_url=frontend,
            default_workspace_image=env.get("DEFAULT_WORKSPACE_IMAGE", cls.default_workspace_image),
            trusted_hosts=tuple(h.strip() for h in trusted.split(",") if h.strip()),
            storage_engine=env.get("MOCK_APP_STORAGE_ENGINE") or cls.storage_engine,
            s3_endpoint_url=env.get("MOCK_APP_S3_ENDPOINT_URL"),
            storage_dir=Path(env.get("MOCK_APP_STORAGE_DIR") or cls.storage_dir),
            storage_bind_path=optional_path(env.get("MOCK_APP_STORAGE_BIND_PATH")),
            sessions_file=optional_path(env.get("MOCK_APP_SESSIONS")),
            session_cookie_domain=env.get("SESSION_COOKIE_DOMAIN", ""),
            csrf_cookie_domain=env.get("CSRF_COOKIE_DOMAIN", ""),
            test_controls=env_flag(env.get("MOCK_APP_TEST_CONTROLS")),
        )

    def storage_env(self, bucket: str, storage: dict) -> dict[str, str]:
        """``WORKSPACE_STORAGE_ENGINE`` and ``get_bucket_mount_config`` of the App's storage backend."""
        engine = self.storage_engine
        env = {"WORKSPACE_STORAGE_ENGINE": engine}
        settings = storage.get(engine, {})
        prefix = "WORKSPACE_STORAGE_ENGINE_"
        if engine == "local":
            env.update(self.local_mount_config(bucket))
        elif engine == "s3":  # files/backends/s3.py
            endpoint = self.s3_endpoint_url if self.s3_endpoint_url is not None else settings["endpoint_url"]
            env.update(
                {
                    f"{prefix}S3_BUCKET_NAME": bucket,
                    f"{prefix}S3_REGION_NAME": settings["region_name"],
                    f"{prefix}S3_ENDPOINT_URL": endpoint,
                    f"{prefix}S3_ACCESS_KEY_ID": settings["access_key_id"],
                    f"{prefix}S3_SECRET_ACCESS_KEY": settings["secret_access_key"],
                }
            )
            if settings.get("session_token"):
                env[f"{prefix}S3_SESSION_TOKEN"] = settings["session_token"]
        elif engine == "gcp":  # files/backends/gcp.py
            env.update({f"{prefix}GCP_BUCKET_NAME": bucket, f"{prefix}GCP_ACCESS_TOKEN": settings["access_token"]})
        elif engine == "azure":  # files/backends/azure.py
            env.update(
                {
                    f"{prefix}AZURE_ACCOUNT_NAME": settings["account_name"],
                    f"{prefix}AZURE_STORAGE_SAS_TOKEN": settings["sas_token"],
                }
            )
        else:
            raise ValueError(f"MOCK_APP_STORAGE_ENGINE={engine!r}: use local, s3, gcp or azure")
        return env

    def local_mount_config(self, bucket: str) -> dict[str, str]:
        """``FileSystemStorage.get_bucket_mount_config``: the bucket's folder as the Docker engine sees it.

        The App creates a bucket's folder with the workspace; the mock does it here, writable
        by the notebook user (uid 1000, gid 100) as the App's permission settings would make it.
        """
        folder = self.storage_dir / bucket
        if not folder.exists():
            folder.mkdir(parents=True)
            if os.geteuid() == 0:
                os.chown(folder, 1000, 100)
            else:
                folder.chmod(0o777)
        return {"WORKSPACE_STORAGE_MOUNT_PATH": str((self.storage_bind_path or self.storage_dir) / bucket)}

    @property
    def frontend_port(self) -> int | None:
        return urlsplit(self.frontend_url).port


@dataclass
class User:
    email: str  # as stored: capitals kept
    password: str
    memberships: dict[str, str]  # workspace slug -> role
    feature_flags: list[str]
    extra_env: dict[str, str]  # what the App's connector plugins add to the default credentials
    files: dict[str, str]

    @property
    def id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"user:{self.email}"))

    def may_launch(self, slug: str) -> bool:
        return self.memberships.get(slug) in LAUNCHING_ROLES


@dataclass
class Workspace:
    slug: str
    env: dict
    docker_image: str = ""  # empty: the App's DEFAULT_WORKSPACE_IMAGE
    notebook_profile: str | None = None  # the subscription's notebook profile

    @property
    def id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"workspace:{self.slug}"))


def server_hash(workspace: Workspace, user: User) -> str:
    """``WorkspaceMembership.notebooks_server_hash``: 32 hex characters."""
    return hashlib.blake2s(f"{workspace.id}_{user.id}".encode(), digest_size=16).hexdigest()


def _memberships(raw) -> dict[str, str]:
    """``[slug, ...]`` (editors) or ``{slug: role}``."""
    if isinstance(raw, dict):
        unknown = {role for role in raw.values() if role not in ROLES}
        if unknown:
            raise ValueError(f"unknown workspace roles {sorted(unknown)}: use {', '.join(ROLES)}")
        return dict(raw)
    return {slug: "editor" for slug in raw or []}


@dataclass
class State:
    """People and workspaces from the fixtures; sessions; what tests switched on."""

    users: dict[str, User]  # by email as stored
    workspaces: dict[str, Workspace]
    storage: dict = field(default_factory=dict)  # each engine's settings (fixtures' `storage`)
    sessions: dict[str, str] = field(default_factory=dict)  # sessionid -> email
    sessions_file: Path | None = None
    mode: str = "ok"
    delay: float = 0.0
    answer: dict | None = None
    calls: list[dict] = field(default_factory=list)
    hub_answers: list[dict] = field(default_factory=list)  # the hub's answers to launches (POST .../servers/<slug>)

    @classmethod
    def load(cls, path: Path, sessions_file: Path | None = None) -> State:
        data = yaml.safe_load(path.read_text()) or {}
        users = {}
        for raw in data.get("users", []):
            default = raw.get("default_credentials") or {}
            users[raw["email"]] = User(
                email=raw["email"],
                password=raw["password"],
                memberships=_memberships(raw.get("workspaces")),
                feature_flags=list(raw.get("feature_flags", [])),
                extra_env=dict(default.get("env", {})),
                files=dict(default.get("files", {})),
            )
        workspaces = {
            slug: Workspace(
                slug=slug,
                env=dict(raw.get("env", {})),
                docker_image=raw.get("docker_image", ""),
                notebook_profile=raw.get("notebook_profile"),
            )
            for slug, raw in (data.get("workspaces") or {}).items()
        }
        sessions = json.loads(sessions_file.read_text()) if sessions_file and sessions_file.exists() else {}
        return cls(
            users=users,
            workspaces=workspaces,
            storage=data.get("storage") or {},
            sessions=sessions,
            sessions_file=sessions_file,
        )

    def find_user(self, email: str) -> User | None:
        """Django's ModelBackend: the email exactly as stored (PostgreSQL compares case)."""
        return self.users.get(email.strip())

    def notebooks_server_hash(self, slug: str, email: str) -> str:
        return server_hash(self.workspaces[slug], self.users[email])

    def open_session(self, user: User) -> str:
        session = secrets.token_hex(16)
        self.sessions[session] = user.email
        self._keep_sessions()
        return session

    def close_session(self, session: str):
        self.sessions.pop(session, None)
        self._keep_sessions()

    def session_user(self, session: str | None) -> User | None:
        email = self.sessions.get(session or "")
        return self.users.get(email) if email else None

    def _keep_sessions(self):
        if self.sessions_file:
            self.sessions_file.write_text(json.dumps(self.sessions))
