"""Keyless signatures and build provenance of each published digest, checked before any moving tag moves.

With ``--sign keyless`` (SIGN=keyless), which `.github/workflows/release.yml` sets: cosign signs the
image's digest and its SBOM's digest with the workflow's GitHub OIDC identity (Sigstore's Fulcio
certificate, logged in Rekor), attests SLSA build provenance for the image (the workflow, the
commit, the run), then verifies all three against that identity. Keyless signing needs GitHub's
OIDC token, so it runs on GitHub Actions only; elsewhere the release refuses ``--sign`` at once.

A user checks a pulled tag with the commands in RELEASING.md ("Check what you pulled").
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from release import ReleaseError, run

ISSUER = "https://token.actions.githubusercontent.com"
PROVENANCE_TYPE = "slsaprovenance1"
WORKFLOW = ".github/workflows/release.yml"


def workflow_identity(env: dict | None = None) -> str:
    """The certificate identity the release workflow signs with: its file at the ref it ran for."""
    env = os.environ if env is None else env
    if not env.get("ACTIONS_ID_TOKEN_REQUEST_URL"):
        raise ReleaseError(
            "--sign keyless needs GitHub's OIDC token (a workflow with `permissions: id-token: write`); "
            "it signs on GitHub Actions only, nothing was pushed"
        )
    return f"https://github.com/{env['GITHUB_REPOSITORY']}/{WORKFLOW}@{env['GITHUB_REF']}"


def provenance(commit: str, env: dict | None = None) -> dict:
    """An SLSA v1 provenance predicate: this workflow run built the image from ``commit`` (cosign names
    the image's digest as the statement's subject)."""
    env = os.environ if env is None else env
    server, repository = env.get("GITHUB_SERVER_URL", "https://github.com"), env["GITHUB_REPOSITORY"]
    return {
        "buildDefinition": {
            "buildType": "https://github.com/BLSQ/openhexa-notebooks/release@v1",
            "externalParameters": {
                "workflow": {"ref": env["GITHUB_REF"], "repository": f"{server}/{repository}", "path": WORKFLOW}
            },
            "resolvedDependencies": [
                {"uri": f"git+{server}/{repository}@{env['GITHUB_REF']}", "digest": {"gitCommit": commit}}
            ],
        },
        "runDetails": {
            "builder": {"id": f"{server}/{repository}/{WORKFLOW}@{env['GITHUB_REF']}"},
            "metadata": {"invocationId": f"{server}/{repository}/actions/runs/{env.get('GITHUB_RUN_ID', '')}"},
        },
    }


def cosign(*args: str) -> str:
    return run("cosign", *args)


def sign_and_check(ref: str, sbom_ref: str, commit: str, identity: str) -> None:
    """Sign ``ref`` (name@digest) and its SBOM ``sbom_ref``, attest the image's provenance, then verify all."""
    cosign("sign", "--yes", ref)
    cosign("sign", "--yes", sbom_ref)
    with tempfile.TemporaryDirectory() as folder:
        predicate = Path(folder) / "provenance.json"
        predicate.write_text(json.dumps(provenance(commit)))
        cosign("attest", "--yes", "--type", PROVENANCE_TYPE, "--predicate", str(predicate), ref)
    who = ["--certificate-identity", identity, "--certificate-oidc-issuer", ISSUER]
    for signed in (ref, sbom_ref):
        cosign("verify", *who, signed)
    cosign("verify-attestation", "--type", PROVENANCE_TYPE, *who, ref)
