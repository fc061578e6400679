"""A registry's HTTP API (OCI distribution spec): manifests, blobs, and the artifacts that refer to an image.

What the Docker client does not do: push an artifact whose ``subject`` is an image's digest (an SBOM),
and find it again. Registries without the referrers API (Debian's docker-registry 2.8, Docker Hub)
get the spec's fallback: an OCI index tagged ``sha256-<hex of the subject>`` that lists the
artifacts referring to it. On a registry that asks for a token (Docker Hub), the credentials are
those `docker login` stored (``~/.docker/config.json``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import requests

from release import ReleaseError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
EMPTY = b"{}"
MANIFEST_TYPES = ", ".join(  # every manifest a tag may name: an image, an index, Docker's two
    [
        OCI_INDEX,
        OCI_MANIFEST,
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
TIMEOUT = 60


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def fallback_tag(digest: str) -> str:
    """The referrers tag schema's tag for the artifacts referring to ``digest``."""
    return digest.replace(":", "-")


def docker_credentials(host: str) -> tuple[str, str] | None:
    """The user and password `docker login` stored for ``host`` (auths, not credential helpers)."""
    path = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "config.json"
    if not path.exists():
        return None
    auths = json.loads(path.read_text()).get("auths", {})
    keys = ["https://index.docker.io/v1/", "docker.io"] if host == "docker.io" else [host, f"https://{host}"]
    for key in keys:
        if auths.get(key, {}).get("auth"):
            user, _, password = base64.b64decode(auths[key]["auth"]).decode().partition(":")
            return user, password
    return None


@dataclass
class RegistryAPI:
    """The HTTP API of the registry at ``host`` (``localhost:5000``, ``docker.io``, ...)."""

    host: str
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def base(self) -> str:
        if self.host.split(":")[0] in ("localhost", "127.0.0.1"):
            return f"http://{self.host}"
        return "https://registry-1.docker.io" if self.host == "docker.io" else f"https://{self.host}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        url = path if path.startswith("http") else f"{self.base}/v2/{path}"
        response = self.session.request(method, url, timeout=TIMEOUT, **kwargs)
        challenge = response.headers.get("WWW-Authenticate", "")
        if response.status_code == 401 and challenge.startswith("Bearer "):
            self._log_in(challenge)
            response = self.session.request(method, url, timeout=TIMEOUT, **kwargs)
        return response

    def _log_in(self, challenge: str) -> None:
        """The token the registry's challenge asks for, with `docker login`'s credentials if any."""
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.pop("realm")
        answer = requests.get(realm, params=params, auth=docker_credentials(self.host), timeout=TIMEOUT)
        if answer.status_code != 200:
            raise ReleaseError(f"{self.host} refused a token for {params.get('scope')}: HTTP {answer.status_code}")
        token = answer.json().get("token") or answer.json().get("access_token")
        self.session.headers["Authorization"] = f"Bearer {token}"

    def manifest(self, repository: str, reference: str) -> tuple[bytes, str] | None:
        """The manifest's bytes and media type, or None when there is none."""
        response = self.request("GET", f"{repository}/manifests/{reference}", headers={"Accept": MANIFEST_TYPES})
        if response.status_code == 404:
            return None
        self._check(response, f"reading {repository}:{reference}")
        return response.content, response.headers["Content-Type"].split(";")[0]

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        response = self.request(
            "PUT", f"{repository}/manifests/{reference}", data=body, headers={"Content-Type": media_type}
        )
        self._check(response, f"pushing {repository}:{reference}")
        return digest_of(body)

    def blob(self, repository: str, digest: str) -> bytes:
        response = self.request("GET", f"{repository}/blobs/{digest}")
        self._check(response, f"reading {repository}@{digest}")
        return response.content

    def put_blob(self, repository: str, data: bytes) -> str:
        digest = digest_of(data)
        if self.request("HEAD", f"{repository}/blobs/{digest}").status_code == 200:
            return digest
        started = self.request("POST", f"{repository}/blobs/uploads/")
        self._check(started, f"starting an upload to {repository}")
        location = started.headers["Location"]
        location = location if location.startswith("http") else f"{self.base}{location}"
        separator = "&" if "?" in location else "?"
        done = self.request(
            "PUT", f"{location}{separator}digest={digest}", data=data,
            headers={"Content-Type": "application/octet-stream"},
        )  # fmt: skip
        self._check(done, f"uploading {digest} to {repository}")
        return digest

    def referrers(self, repository: str, digest: str) -> list[dict]:
        """Descriptors of the artifacts whose subject is ``digest``: the referrers API, else its fallback tag."""
        response = self.request("GET", f"{repository}/referrers/{digest}", headers={"Accept": OCI_INDEX})
        if response.status_code == 200 and response.headers.get("Content-Type", "").startswith(OCI_INDEX):
            return response.json().get("manifests", [])
        found = self.manifest(repository, fallback_tag(digest))
        return json.loads(found[0]).get("manifests", []) if found else []

    def push_referrer(self, repository: str, subject: dict, artifact_type: str, layer: bytes, annotations: dict) -> str:
        """Push ``layer`` as an artifact of ``artifact_type`` whose subject is ``subject`` (a descriptor);
        list it in the fallback index unless the registry says it indexed it (``OCI-Subject``)."""
        config = {"mediaType": EMPTY_CONFIG, "digest": self.put_blob(repository, EMPTY), "size": len(EMPTY)}
        blob = {"mediaType": artifact_type, "digest": self.put_blob(repository, layer), "size": len(layer),
                "annotations": {"org.opencontainers.image.title": annotations.get("title", "artifact")}}  # fmt: skip
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": config,
            "layers": [blob],
            "subject": subject,
            "annotations": annotations,
        }
        body = json.dumps(manifest, sort_keys=True).encode()
        digest = digest_of(body)
        response = self.request(
            "PUT", f"{repository}/manifests/{digest}", data=body, headers={"Content-Type": OCI_MANIFEST}
        )
        self._check(response, f"pushing an artifact referring to {subject['digest']}")
        if "OCI-Subject" not in response.headers:
            self._list_in_fallback(repository, subject["digest"], {
                "mediaType": OCI_MANIFEST, "digest": digest, "size": len(body),
                "artifactType": artifact_type, "annotations": annotations,
            })  # fmt: skip
        return digest

    def _list_in_fallback(self, repository: str, subject: str, descriptor: dict) -> None:
        found = self.manifest(repository, fallback_tag(subject))
        index = json.loads(found[0]) if found else {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        index["manifests"] = [m for m in index["manifests"] if m["digest"] != descriptor["digest"]] + [descriptor]
        self.put_manifest(repository, fallback_tag(subject), json.dumps(index, sort_keys=True).encode(), OCI_INDEX)

    def descriptor(self, repository: str, reference: str) -> dict:
        """The descriptor (media type, digest, size) of the manifest at ``reference``, from its bytes."""
        found = self.manifest(repository, reference)
        if found is None:
            raise ReleaseError(f"{self.host}/{repository}:{reference} does not exist")
        body, media_type = found
        return {"mediaType": media_type, "digest": digest_of(body), "size": len(body)}

    @staticmethod
    def _check(response: requests.Response, what: str) -> None:
        if response.status_code >= 400:
            raise ReleaseError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
