"""The tree's rules: shared code lives in ``harness``, each tier stands on its own."""

import ast
import re

import pytest

from harness import ROOT

PACKAGES = ("harness", "bench", "release", "scripts", "hub", "mockapp", "chart-values")


def imports(path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def python_files(*folders):
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]


def test_nothing_outside_the_tests_imports_them():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in imports(path) if name == "tests" or name.startswith("tests.")
        )
        for path in python_files(*PACKAGES)
    }
    assert not {path: names for path, names in offenders.items() if names}


def test_no_test_module_imports_another_or_a_conftest():
    offenders = {}
    for path in python_files("tests"):
        names = {
            name
            for name in imports(path)
            if name.startswith("tests.") and (name.rsplit(".", 1)[-1].startswith("test_") or name.endswith("conftest"))
        }
        if names:
            offenders[str(path.relative_to(ROOT))] = sorted(names)
    assert not offenders, "share through harness/, or a tier's conftest fixtures"


def test_the_unit_tier_collects_without_testinfra_or_a_browser(unit_tier_collected_without_testinfra):
    """Collected in another process where testinfra and selenium cannot be imported (the conftest's
    ``unit_tier_collected_without_testinfra``, started as soon as this session has collected)."""
    code, output = unit_tier_collected_without_testinfra
    assert code == 0, output[-6000:]
    assert " tests collected" in output


def test_make_test_runs_every_tier_folder():
    """Each folder of tests/ with a conftest.py is a tier: ``make test-<tier>`` runs it, and ``make test`` runs that."""
    makefile = (ROOT / "Makefile").read_text()
    tiers = re.search(r"^tiers:(.*)$", makefile, re.M).group(1).split()
    folders = sorted(path.parent.name for path in (ROOT / "tests").glob("*/conftest.py"))
    assert folders, "no tier folder"
    for folder in folders:
        target = {"e2e": "test-e2e"}.get(folder, f"test-{folder}")
        assert target in tiers, f"make test does not run tests/{folder}"
        recipe = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.M)
        assert recipe and f"pytest tests/{folder} " in recipe.group(1), f"{target} does not run tests/{folder}"


def test_the_tier_table_is_the_makefiles_tier_list():
    """TESTING.md's table of tiers names each `make test` tier once, in the Makefile's order."""
    makefile = (ROOT / "Makefile").read_text()
    tiers = re.search(r"^tiers:(.*)$", makefile, re.M).group(1).split()
    listed = re.findall(r"^\| [^|]+ \| `make ([a-z0-9-]+)` \|", (ROOT / "TESTING.md").read_text(), re.M)
    assert listed == tiers, "TESTING.md's table of tiers is not the Makefile's `tiers`"


def test_the_release_gates_on_every_tier_make_test_runs():
    from release import gate

    makefile = (ROOT / "Makefile").read_text()
    assert list(gate.TIERS) == re.search(r"^tiers:(.*)$", makefile, re.M).group(1).split()


@pytest.mark.parametrize(
    "doc", ["SECURITY.md", "TESTING.md", "hub/README.md", "jupyter/README.md", "chart-values/README.md"]
)
def test_every_test_a_document_names_exists(doc):
    """A document that names a test as the proof of what it says names one that exists (renamed tests go stale)."""
    text = (ROOT / doc).read_text()
    for path, name in re.findall(r"tests/(\w+/\w+\.py)::(\w+)", text):
        module = ROOT / "tests" / path
        assert module.exists(), f"{doc}: tests/{path}"
        assert f"def {name}(" in module.read_text(), f"{doc}: tests/{path}::{name}"
