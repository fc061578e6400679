"""release/manifest.py: manifest.json and manifest.md, section by section."""

import datetime as dt
import json

import pytest

from release import manifest
from release.gate import TierResult
from release.images import Image
from release.tags import compute_tags

COMMIT = "0123456789abcdef0123456789abcdef01234567"
INSIDE = {"python": "3.11.2", "lab": "4.6.6", "hub": "5.5.4"}
DIGEST = "sha256:" + "a" * 64
RELEASE = {
    "name": "1.4.0", "version": "1.4.0", "commit": COMMIT, "dirty": False,
    "registry": "localhost:5000", "published_at": "2026-11-26T12:00:00+00:00",
}  # fmt: skip
PREVIOUS = {
    "release": {"name": "1.3.0", "published_at": "2026-10-01T00:00:00+00:00"},
    "images": {
        "notebook": {"python_packages": {"pandas": "3.0.0", "polars": "1.0"}, "debian_packages": {"s3fs": "1.91"}},
    },
}


def images():
    made = [Image("notebook", "blsq/nb:dev", "blsq/nb"), Image("hub", "blsq/hub:dev", "blsq/hub")]
    for image in made:
        image.tags = compute_tags("1.4.0", dt.date(2026, 11, 26), COMMIT, INSIDE)
        image.digest = DIGEST
        image.info = {
            "size_bytes": 1_800_000_000,
            "base": "openhexa/offline-docker-stacks:bookworm",
            **INSIDE,
            "python_packages": {"pandas": "3.1.1", "duckdb": "2.0.1", "openhexa-sdk": "2.22.7"},
            "debian_packages": {"s3fs": "1.91"},
            "lab_extensions": {"@jupyterlab/git": "0.55.0"},
        }
    return made


def test_the_manifest_says_what_changed_since_the_previous_release(tmp_path):
    (tmp_path / "1.3.0").mkdir()
    (tmp_path / "1.3.0" / "manifest.json").write_text(json.dumps(PREVIOUS))
    found = manifest.previous_manifest(tmp_path, current="1.4.0")
    made = manifest.build_manifest(RELEASE, images(), [TierResult("test-unit", passed=120, skipped=3)], found)
    python = made["changes"]["notebook"]["python_packages"]
    assert python["added"] == {"duckdb": "2.0.1", "openhexa-sdk": "2.22.7"}
    assert python["removed"] == {"polars": "1.0"}
    assert python["upgraded"] == {"pandas": ["3.0.0", "3.1.1"]}
    assert made["previous"] == "1.3.0"
    text = manifest.render_markdown(made)
    assert "pandas 3.0.0 -> 3.1.1" in text and "-polars 1.0" in text
    assert DIGEST in text


def test_the_proxy_image_says_its_proxy_node_and_modules():
    proxy = Image("proxy", "blsq/proxy:dev", "blsq/proxy", describes=("chp",))
    inside = {"chp": "5.2.0", "node": "24.19.0", "node_packages": {"http-proxy-3": "1.23.3"}}
    proxy.tags = compute_tags("1.4.0", dt.date(2026, 11, 26), COMMIT, inside, proxy.describes)
    proxy.digest, proxy.info = DIGEST, {"size_bytes": 70_000_000, "base": "b", **inside}
    previous = {"release": {"name": "1.3.0"}, "images": {"proxy": {"node_packages": {"http-proxy-3": "1.23.1"}}}}
    made = manifest.build_manifest(RELEASE, [*images(), proxy], [], previous)
    assert made["changes"]["proxy"]["node_packages"]["upgraded"] == {"http-proxy-3": ["1.23.1", "1.23.3"]}
    text = manifest.render_markdown(made)
    assert "configurable-http-proxy 5.2.0 on Node.js 24.19.0." in text and "http-proxy-3@1.23.3" in text
    assert "chp-5.2.0" in text


def test_the_previous_release_is_the_newest_other_one(tmp_path):
    for name, published in (("1.2.0", "2026-09-01"), ("1.3.0", "2026-10-01"), ("1.4.0", "2026-11-26")):
        (tmp_path / name).mkdir()
        record = {"release": {"name": name, "published_at": f"{published}T00:00:00+00:00"}, "images": {}}
        (tmp_path / name / "manifest.json").write_text(json.dumps(record))
    assert manifest.previous_manifest(tmp_path, current="1.4.0")["release"]["name"] == "1.3.0"
    assert manifest.previous_manifest(tmp_path / "none", current="1.4.0") is None


def test_each_section_alone():
    made = images()
    assert manifest.images_section(made)["hub"]["tags"][-1] == "latest"
    assert manifest.images_section(made)["notebook"]["digest"] == DIGEST
    assert manifest.tests_section([TierResult("lint", passed=1)]) == {"lint": {"passed": 1, "failed": 0, "skipped": 0}}
    assert manifest.previous_section(None) is None
    assert manifest.changes_section(manifest.images_section(made), None) == {}
    assert manifest.package_changes({"a": "1", "b": "1"}, {"b": "2", "c": "3"}) == {
        "added": {"c": "3"}, "removed": {"a": "1"}, "upgraded": {"b": ["1", "2"]},
    }  # fmt: skip


@pytest.mark.parametrize("dirty", [False, True])
def test_the_markdown_of_a_first_release(tmp_path, dirty):
    made = manifest.build_manifest({**RELEASE, "dirty": dirty}, images(), [TierResult("lint", passed=1)], None)
    manifest.write(tmp_path / "1.4.0", made)
    text = (tmp_path / "1.4.0" / "manifest.md").read_text()
    assert json.loads((tmp_path / "1.4.0" / "manifest.json").read_text()) == made
    assert text.startswith("# OpenHexa notebooks release 1.4.0\n")
    assert ("from a work tree with uncommitted changes" in text) is dirty
    assert "The first release: nothing to compare with." in text
    assert f"| `blsq/nb` | `{DIGEST}` | 1800 MB | 1.4.0, 0123456789ab," in text
    assert "| lint | 1 | 0 | 0 |" in text
    assert "JupyterLab extensions: @jupyterlab/git 0.55.0" in text
    assert "Python packages: duckdb==2.0.1, openhexa-sdk==2.22.7, pandas==3.1.1" in text
    assert "Debian packages: 1 (listed in manifest.json)." in text


@pytest.mark.parametrize("gated", [True, False])
def test_the_manifest_names_the_chart_configuration_the_gate_ran(tmp_path, gated):
    chart = {"name": "jupyterhub", "version": "4.4.0", "gated": gated}
    chart |= {"sha256": {"jupyterhub_config.py": "ab" * 32}} if gated else {"why": "Z2JH_CHART_DIR is unset"}
    made = manifest.build_manifest(RELEASE, images(), [TierResult("lint", passed=1)], None, chart)
    assert made["chart"] == chart
    text = manifest.render_markdown(made)
    if gated:
        assert f"Gated on jupyterhub 4.4.0's own hub configuration: `jupyterhub_config.py` sha256 `{'ab' * 32}`" in text
    else:
        assert "Not gated on jupyterhub 4.4.0's own hub configuration: Z2JH_CHART_DIR is unset" in text
