"""R in the notebook image: its Jupyter kernel, and an R notebook reaching the workspace's database and folder.

Cells run in a kernel started by the image's own jupyter_client (``harness.kernel``), as JupyterLab
starts one, with the variables the App gives a workspace server. The database is a real PostgreSQL
(Debian's, on 127.0.0.1) holding a workspace database as the App makes one: a role and a database
of their own, a password with the braces the mock App's fixtures carry.
"""

from __future__ import annotations

import json
import os

import pytest

from harness.kernel import r_reads_and_writes, r_reads_table, run_cell
from harness.postgres import CASES, CASES_TABLE, cases_csv, cases_json, workspace_database

WORKSPACE = "/home/jovyan/workspace"
IDLE = {"entrypoint": ["tini", "--"], "command": ["sleep", "infinity"]}


@pytest.fixture(scope="module")
def database():
    with workspace_database("malaria_dashboards", "malaria_dashboards", "s3cr{et}-{{pw}}-r") as workspace:
        yield workspace


@pytest.mark.arm64
def test_both_images_have_the_r_kernel(stack, which_image):
    container = stack.run_detached(**IDLE)
    specs = json.loads(stack.exec(container, ["jupyter", "kernelspec", "list", "--json"]))["kernelspecs"]
    assert "ir" in specs, f"{which_image}: no R kernel among {sorted(specs)}"
    assert specs["ir"]["spec"]["language"] == "R"


@pytest.mark.arm64
def test_an_r_cell_runs(notebook):
    container = notebook.run_detached(**IDLE)
    cell = run_cell(notebook, container, "ir", 'x <- c(7L, 12L); cat(sum(x), R.version$major, "\\n")')
    assert cell.ok, cell.error
    assert cell.output.split()[0] == "19"


def test_an_r_cell_that_fails_says_why(notebook):
    """The kernel reports R's error as an error, not as output: the checks above can fail."""
    container = notebook.run_detached(**IDLE)
    cell = run_cell(notebook, container, "ir", 'stop("no such district")')
    assert not cell.ok
    assert "no such district" in (cell.error or "")


def test_r_reads_a_table_of_the_workspace_database(notebook, database):
    container = notebook.run_detached(environment=database.env(), **IDLE)
    cell = run_cell(notebook, container, "ir", r_reads_table(CASES_TABLE))
    assert cell.ok, cell.error
    assert cell.output.strip().splitlines()[-1] == cases_json()


def test_r_refuses_a_wrong_database_password_with_postgresqls_words(notebook, database):
    env = {**database.env(), "WORKSPACE_DATABASE_PASSWORD": "not-the-password"}
    container = notebook.run_detached(environment=env, **IDLE)
    cell = run_cell(notebook, container, "ir", r_reads_table(CASES_TABLE))
    assert not cell.ok
    assert "password authentication failed" in f"{cell.error} {cell.output}"


def test_r_reads_and_writes_a_file_of_the_mounted_workspace_folder(notebook, tmp_path):
    """The 'local' engine's way: the bucket's folder bound at the workspace folder, as the hub binds it."""
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    (bucket / "from-the-app.csv").write_text(cases_csv())
    os.chown(bucket, 1000, 100)  # the notebook user's, as the App's folders are to its servers
    container = notebook.run_detached(volumes={str(bucket): {"bind": WORKSPACE, "mode": "rw"}}, **IDLE)
    cell = run_cell(notebook, container, "ir", r_reads_and_writes("from-the-app.csv", "from-r.csv"))
    assert cell.ok, cell.error
    assert cell.output.strip().splitlines()[-1] == cases_json()
    total = sum(row["cases"] for row in CASES)
    assert (bucket / "from-r.csv").read_text().split() == ['"total"', str(total)]
