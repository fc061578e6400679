"""`make release`: gate on every tier, tag, publish, verify, record.

1. Refuses a dirty work tree (unless ALLOW_DIRTY=1), builds the images and runs
   every tier `make test` runs (gate.TIERS, the Makefile's `tiers`); a failed tier,
   or one that ran no test, stops the release before anything is pushed (gate.py).
2. Tags in Jupyter Docker Stacks' manner, one function per tag (tags.py): the
   version (a vX.Y.Z git tag on HEAD), the 12-character commit, the versions
   inside the image (python-3.x, lab-x.y.z, hub-x.y.z, read by inspect_image.py
   run inside it), the date, and `latest` for a version release only.
3. Pushes to REGISTRY (registry.py): immutable tags (version, commit) first, and
   never over an existing one; moving tags (date, latest) last, once every image
   is verified (step 4), so a failure mid-push leaves `latest` where it was.
4. Attaches each image's SBOM to its digest (sbom.py), pulls every image back by
   digest, checks its SBOM and starts it (verify.py); on GitHub, signs and attests
   each digest and its SBOM (signing.py).
5. Writes releases/<tag>/manifest.json and manifest.md (manifest.py: digests,
   sizes, tags, packages, extensions, tests, the difference from the previous
   release) and points the chart values at the new tag, at the places
   chart-values/chart.yaml declares (chart_values.py).

`--phase gate` does step 1 alone and records what it gated (the commit, each
image's ID, the tiers' counts) in artifacts/release/gate.json; `--phase publish`
does steps 2-5 for exactly those images, refusing if HEAD or an image changed
since. A CI job logs in to the registry between the two, so no registry
credential exists while the tests run. `--phase all` (the default) does both.

Every run writes its phases (build, each tier, each push and verification, ...)
with their times and outcomes to artifacts/release/phases.json (phases.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts" / "release"


class ReleaseError(Exception):
    """A reason not to publish, said to the person running the release."""


def run(*command: str, capture: bool = True, check: bool = True, stdin: str | None = None) -> str:
    """Run ``command`` in the repository; its output (stripped), or ReleaseError when it fails."""
    result = subprocess.run(command, cwd=ROOT, text=True, capture_output=capture, input=stdin)
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout or "").strip()[-2000:] if capture else ""
        raise ReleaseError(f"`{' '.join(command)}` failed ({result.returncode}) {detail}")
    return (result.stdout or "").strip() if capture else ""
