"""The release's three images: what they are locally, and what is inside them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from release import run
from release.tags import Tags

INSPECTOR = Path(__file__).with_name("inspect_image.py")
# The proxy image has Node.js, not Python: this runs in it (node -e), standard modules only, and
# prints the versions of configurable-http-proxy, of Node.js, of every module beside the proxy and of
# its system's packages.
PROXY_INSPECTOR = """
const fs = require("fs"), path = require("path"), root = "/srv/configurable-http-proxy";
const modules = {};
const read = (dir) => { for (const name of fs.readdirSync(dir)) {
  if (name.startsWith("@")) { read(path.join(dir, name)); continue; }
  const file = path.join(dir, name, "package.json");
  if (fs.existsSync(file)) { const pkg = JSON.parse(fs.readFileSync(file)); modules[pkg.name] = pkg.version; } } };
read(path.join(root, "node_modules"));
const chp = JSON.parse(fs.readFileSync(path.join(root, "package.json"))).version;
// Its system's packages: Alpine's database (the chart's image) or Debian's (the offline twin).
const stanzas = (file, sep) => fs.existsSync(file) ? fs.readFileSync(file, "utf8").split(sep) : [];
const field = (stanza, re) => (stanza.match(re) || [])[1];
const alpine = {}, debian = {};
for (const s of stanzas("/lib/apk/db/installed", "\\n\\n")) {
  const name = field(s, /^P:(.*)$/m), version = field(s, /^V:(.*)$/m);
  if (name && version) alpine[name] = version; }
for (const s of stanzas("/var/lib/dpkg/status", "\\n\\n")) {
  const name = field(s, /^Package: (.*)$/m), version = field(s, /^Version: (.*)$/m);
  if (name && version && /^Status: .* installed$/m.test(s)) debian[name] = version; }
const arch = field(stanzas("/var/lib/dpkg/status", "\\n\\n").join("\\n\\n"), /^Architecture: (?!all)(.*)$/m);
console.log(JSON.stringify({chp, node: process.versions.node, node_packages: modules, alpine_packages: alpine,
  debian_packages: debian, ...(arch ? {debian_architecture: arch} : {})}));
"""


@dataclass
class Image:
    """One image of the release."""

    key: str  # notebook | hub | proxy
    local: str  # the built image, e.g. blsq/openhexa-base-notebook:dev
    repository: str  # e.g. blsq/openhexa-base-notebook
    describes: tuple[str, ...] = ("python", "lab", "hub")  # the versions its tags name
    tags: Tags | None = None
    digest: str = ""
    sbom: str = ""  # the digest of its SBOM artifact in the registry
    info: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The repository without its prefix: openhexa-base-notebook."""
        return self.repository.rsplit("/", 1)[-1]


def release_images(prefix: str, local_tag: str) -> list[Image]:
    """The notebook image, the hub image and the chart's proxy image, as `make build` names them."""
    notebook, hub, proxy = (f"{prefix}openhexa-{name}" for name in ("base-notebook", "jupyterhub", "proxy"))
    return [
        Image("notebook", f"{notebook}:{local_tag}", notebook),
        Image("hub", f"{hub}:{local_tag}", hub, describes=("python", "hub")),
        Image("proxy", f"{proxy}:{local_tag}", proxy, describes=("chp",)),
    ]


def look_inside(local: str, key: str = "notebook") -> dict:
    """What the image carries: inspect_image.py run in it on its own Python, or for the proxy image
    PROXY_INSPECTOR on its Node.js; without network either way."""
    docker = ("docker", "run", "--rm", "-i", "--network", "none", "--entrypoint")
    if key == "proxy":
        output = run(*docker, "node", local, "-e", PROXY_INSPECTOR)
    else:
        output = run(*docker, "python3", local, "-", stdin=INSPECTOR.read_text())
    return json.loads(output.splitlines()[-1])


def image_id(local: str) -> str:
    return run("docker", "image", "inspect", "--format", "{{.Id}}", local)


def described(local: str, inside: dict) -> dict:
    """An image's facts for the manifest: its size, its base, what is inside."""
    base_label = '{{index .Config.Labels "org.openhexa.base"}}'
    return {
        "size_bytes": int(run("docker", "image", "inspect", "--format", "{{.Size}}", local)),
        "base": run("docker", "image", "inspect", "--format", base_label, local),
        **inside,
    }
