"""The tests' pytest plugin (registered by the root conftest.py): the hooks every tier shares.

- The report's header says which Python runs the hub here, beside production's.
- Each phase's report is kept on its test item, so fixtures can tell a failure (artifacts).
- tests/reliability.yaml's rows become ``reliability`` markers; each marked test's outcome is written to
  artifacts/reliability/<tier>.json, which scripts/reliability_report.py joins into RELIABILITY.md (on
  another JupyterHub than production's, ``<tier>-jupyterhub<major>.json``, which it leaves out).
- Tests marked ``first`` run before the others of their session, those marked ``last`` after them.
"""

from __future__ import annotations

import importlib.metadata
import json

import pytest
import yaml

from harness import ARTIFACTS, ROOT
from harness.locks import HUB_LOCK, pins


def pytest_report_header(config):
    """Which Python and JupyterHub run the hub here, beside production's (the chart's hub image)."""
    import sys

    production = yaml.safe_load((ROOT / "chart-values" / "chart.yaml").read_text())["hubPython"]
    here = "{}.{}".format(*sys.version_info[:2])
    if here == production:
        python = f"hub's Python: {here}, as in production (chart-values/chart.yaml)"
    else:
        python = (
            f"hub's Python: {here} here, production runs {production} (chart-values/chart.yaml); "
            f"this machine has no {production}, CI runs the unit and hub tiers on it"
        )
    jupyterhub, hub = installed_jupyterhub(), pins(HUB_LOCK)["jupyterhub"]
    same = "as in production" if jupyterhub == hub else f"production runs {hub} (hub/requirements.lock)"
    return [python, f"JupyterHub: {jupyterhub}, {same}"]


def installed_jupyterhub() -> str:
    return importlib.metadata.version("jupyterhub")


def reliability_file(tier: str) -> str:
    """Where a tier's reliability rows go: ``<tier>.json``; on another JupyterHub major than production's
    (make test-jupyterhub6), ``<tier>-jupyterhub<major>.json``, so that run does not replace the tier's."""
    major, production = installed_jupyterhub().split(".")[0], pins(HUB_LOCK)["jupyterhub"].split(".")[0]
    return f"{tier}.json" if major == production else f"{tier}-jupyterhub{major}.json"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)
    if item.get_closest_marker("reliability"):
        RELIABILITY_ROWS.setdefault(item.nodeid, reliability_row(item))
        row = RELIABILITY_ROWS[item.nodeid]
        if report.failed:
            row["outcome"], row["detail"] = "failed", report.longreprtext.strip().splitlines()[-1][:300]
        elif report.skipped and row["outcome"] != "failed":
            row["outcome"], row["detail"] = "skipped", str(report.longrepr[-1])[:300]
        elif report.when == "call" and row["outcome"] == "not run":
            row["outcome"] = "passed"


RELIABILITY_ROWS: dict[str, dict] = {}


def reliability_row(item) -> dict:
    marker = item.get_closest_marker("reliability")
    area, tried, expected = marker.args
    row = {"test": item.nodeid, "area": area, "tried": tried, "expected": expected, "outcome": "not run", "detail": ""}
    if marker.kwargs.get("before"):  # a finding of a security review: what happened before its fix
        row["before"] = marker.kwargs["before"]
    return row


def pytest_sessionfinish(session):
    """Each tier writes its rows to artifacts/reliability/<tier>.json; scripts/reliability_report.py joins them."""
    if not RELIABILITY_ROWS or hasattr(session.config, "workerinput"):
        return
    by_tier: dict[str, list] = {}
    for row in RELIABILITY_ROWS.values():
        by_tier.setdefault(row["test"].split("/")[1], []).append(row)
    folder = ARTIFACTS / "reliability"
    folder.mkdir(parents=True, exist_ok=True)
    for tier, rows in by_tier.items():
        (folder / reliability_file(tier)).write_text(json.dumps(rows, indent=2) + "\n")


# The rows of RELIABILITY.md, by test: each test named there gets them as its marker.
RELIABILITY = yaml.safe_load((ROOT / "tests" / "reliability.yaml").read_text())


def reliability_marker(item):
    """The ``reliability`` marker tests/reliability.yaml gives ``item`` (by case, else by function), or None."""
    row = RELIABILITY.get(item.nodeid) or RELIABILITY.get(f"{item.nodeid.split('::')[0]}::{item.originalname}")
    if row is None:
        return None
    before = {"before": row["before"]} if "before" in row else {}
    return pytest.mark.reliability(row["area"], row["tried"], row["expected"], **before)


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(items):
    """Reliability rows become markers; tests marked ``first`` run before the others of their session (they
    need ports the session's stack holds once up), those marked ``last`` after them (they read what the
    others left)."""
    for item in items:
        marker = reliability_marker(item)
        if marker is not None:
            item.add_marker(marker)
    items.sort(
        key=lambda item: (item.get_closest_marker("last") is not None) - (item.get_closest_marker("first") is not None)
    )
