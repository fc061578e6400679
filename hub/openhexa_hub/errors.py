"""The one way the hub says no: an HTTP error whose message people read as written."""

from __future__ import annotations

from tornado import web


def refusal(status: int, message: str) -> web.HTTPError:
    """An HTTP error with ``message`` on the REST API's answers and on the hub's pages alike.

    Tornado formats an error's message with ``%``, so it goes in as an argument and any
    ``%`` in it stays one. JupyterHub's pages replace the message of a failed spawn with
    a generic "Failed to start your server"; ``jupyterhub_message`` is what they show instead.
    """
    error = web.HTTPError(status, "%s", message)
    error.jupyterhub_message = message
    return error
