"""A notebook cell run in a kernel inside a container, as JupyterLab runs one: the image's own jupyter_client.

``run_cell`` starts the named kernel (``python3``, ``ir``) with ``jupyter_client`` in a running
container of the image, as its notebook user and with its environment (the App's variables
included), sends one ``execute_request`` and collects what the cell shows: streams, results,
and its errors if it fails. The kernel is shut down afterwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# Run in the container by the image's Python (standard library and jupyter_client only).
CELL = r"""
import json, sys
from jupyter_client.manager import start_new_kernel

kernel, code, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
manager, client = start_new_kernel(kernel_name=kernel, startup_timeout=timeout)
shown, errors = [], []
def hook(message):
    content, kind = message["content"], message["header"]["msg_type"]
    if kind == "stream":
        shown.append(content["text"])
    elif kind in ("execute_result", "display_data"):
        shown.append(content["data"].get("text/plain", ""))
    elif kind == "error":
        errors.append(f"{content['ename']}: {content['evalue']}")
try:
    reply = client.execute_interactive(code, timeout=timeout, output_hook=hook)
    status = reply["content"]["status"]
finally:
    client.stop_channels()
    manager.shutdown_kernel(now=True)
print(json.dumps({"status": status, "output": "".join(shown), "error": "\n".join(errors) or None}))
"""


@dataclass(frozen=True)
class Cell:
    """What a cell showed: its status (ok, error), its output, its errors (``name: value``, one a line) if any.

    R's kernel reports every error of a line of ``;``-separated expressions, and runs them all.
    """

    status: str
    output: str
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def run_cell(tracked, container, kernel: str, code: str, timeout: int = 120) -> Cell:
    """Run ``code`` in a new ``kernel`` in ``container`` (a harness.containers.TrackedContainer's)."""
    output = tracked.exec(container, ["python3", "-c", CELL, kernel, code, str(timeout)], timeout=timeout + 30)
    return Cell(**json.loads(output.strip().splitlines()[-1]))


# What an analyst's R notebook does in a workspace, each on one line (the browser types it as it is).
def r_reads_table(table: str) -> str:
    """R: connect to the workspace database from its ``WORKSPACE_DATABASE_*`` variables (DBI and
    RPostgreSQL), print ``table``'s rows as JSON (jsonlite), disconnect."""
    return (
        'library(DBI); con <- dbConnect(RPostgreSQL::PostgreSQL(), host = Sys.getenv("WORKSPACE_DATABASE_HOST"),'
        ' port = as.integer(Sys.getenv("WORKSPACE_DATABASE_PORT")), dbname = Sys.getenv("WORKSPACE_DATABASE_DB_NAME"),'
        ' user = Sys.getenv("WORKSPACE_DATABASE_USERNAME"), password = Sys.getenv("WORKSPACE_DATABASE_PASSWORD"));'
        f' rows <- dbGetQuery(con, "SELECT * FROM {table} ORDER BY 1"); invisible(dbDisconnect(con));'
        " cat(jsonlite::toJSON(rows))"
    )


def r_reads_and_writes(read: str, write: str) -> str:
    """R: read the CSV ``read`` of the workspace folder (``OPENHEXA_WORKSPACE_DIR``), print it as JSON,
    and write the sum of its ``cases`` column there as the CSV ``write``."""
    return (
        f'w <- Sys.getenv("OPENHEXA_WORKSPACE_DIR"); d <- read.csv(file.path(w, "{read}"));'
        f' write.csv(data.frame(total = sum(d$cases)), file.path(w, "{write}"), row.names = FALSE);'
        " cat(jsonlite::toJSON(d))"
    )
