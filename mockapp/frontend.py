"""The App's separate web frontend (NEW_FRONTEND_DOMAIN): login, home, and a workspace's notebooks.

The real frontend logs people in through the GraphQL ``login`` mutation, which sets
Django's cookies; here the login form does the same in one POST. The notebooks page
launches the workspace server as the real one does: it calls ``launchNotebookServer``
every second until the server is ready, then shows it in an iframe.
"""

from __future__ import annotations

import html
import json
import secrets
from urllib.parse import quote, urlencode, urlsplit

from .backend import ERROR_MESSAGES, GraphQL
from .django import DjangoHandler, page


class Login(DjangoHandler):
    anonymous = True

    def get(self):
        token = self.csrf_token()
        action = html.escape("/login?" + urlencode({"next": self.get_argument("next", "/")}), quote=True)
        self.finish(
            page(
                "Log in",
                f"<form method='post' action='{action}'>"
                f"<input type='hidden' name='csrfmiddlewaretoken' value='{token}'>"
                "<label>Email <input name='email' type='email' autocomplete='username'></label>"
                "<label>Password <input name='password' type='password'></label>"
                "<button type='submit' id='login-submit'>Log in</button></form>",
            )
        )

    def post(self):
        user = self.state.find_user(self.get_body_argument("email", ""))
        password = self.get_body_argument("password", "")
        if user is None or not password or not secrets.compare_digest(user.password.encode(), password.encode()):
            self.finish(page("Log in", "<p id='login-error'>Wrong email or password.</p>"))
            return
        # Django's login() ends the browser's previous session: flush() when it was another
        # person's, cycle_key() when it was the same person's; either way the old key is void.
        self.state.close_session(self.get_cookie("sessionid") or "")
        self.set_app_cookie("sessionid", self.state.open_session(user), httponly=True)
        # Django rotates the CSRF secret on login.
        self.set_app_cookie("csrftoken", secrets.token_hex(16))
        self.redirect(self.safe_next(self.get_argument("next", "/")))

    def safe_next(self, next_url: str) -> str:
        host = urlsplit(next_url).hostname
        return next_url if host is None or host in self.conf.trusted_hosts else "/"


class Home(DjangoHandler):
    def get(self):
        user = self.user
        links = "".join(
            f"<li><a class='workspace' href='/workspaces/{quote(s)}/notebooks'>{html.escape(s)}</a> ({role})</li>"
            for s, role in user.memberships.items()
        )
        backend = self.settings["backend_url"]
        self.finish(
            page(
                "OpenHexa",
                f"<p id='whoami'>{html.escape(user.email)}</p><ul>{links}</ul>"
                f"<p><a id='notebooks-link' href='{html.escape(self.conf.notebooks_url)}/hub/'>Notebooks</a></p>"
                f"<form method='post' action='{html.escape(backend)}/auth/logout/'>"
                f"<input type='hidden' name='csrfmiddlewaretoken' value='{self.csrf_token()}'>"
                "<button type='submit' id='logout'>Log out</button></form>",
            )
        )


LAUNCH_SCRIPT = """
const slug = %(slug)s, messages = %(messages)s;
function csrf() { return (document.cookie.match(/(?:^|; )csrftoken=([^;]*)/) || [])[1] || ""; }
function fail(text) {
  document.getElementById("notebooks-status").remove();
  const error = document.createElement("p");
  error.id = "notebooks-error";
  error.textContent = text;
  document.body.appendChild(error);
}
async function launch() {
  const response = await fetch("/graphql/", {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
    body: JSON.stringify({operationName: "launchNotebookServer",
      query: "mutation launchNotebookServer($input: LaunchNotebookServerInput!) " +
             "{ launchNotebookServer(input: $input) { success errors server { name url ready } } }",
      variables: {input: {workspaceSlug: slug}}}),
  });
  const body = await response.json();
  if (body.errors) return fail("The notebooks could not start: " + body.errors[0].message);
  const result = body.data.launchNotebookServer;
  if (!result.success) return fail(messages[result.errors[0]] || result.errors[0]);
  if (!result.server.ready) return setTimeout(launch, 1000);
  document.getElementById("notebooks-status").remove();
  const frame = document.createElement("iframe");
  frame.id = "notebooks-frame";
  frame.src = result.server.url;
  frame.style = "width:100%%;height:90vh;border:0";
  document.body.appendChild(frame);
}
window.addEventListener("DOMContentLoaded", launch);
"""


class WorkspaceNotebooks(DjangoHandler):
    """``/workspaces/<slug>/notebooks``: launch the server, then show it in an iframe."""

    def get(self, slug):
        self.csrf_token()
        script = LAUNCH_SCRIPT % {"slug": json.dumps(slug), "messages": json.dumps(ERROR_MESSAGES)}
        self.finish(
            page(
                f"{slug} notebooks",
                "<p id='notebooks-status'>Starting your notebook server...</p>",
                head=f"<script>{script}</script>",
            )
        )


def routes() -> list[tuple]:
    return [
        (r"/login", Login),
        (r"/", Home),
        (r"/workspaces/([^/]+)/notebooks", WorkspaceNotebooks),
        (r"/graphql/", GraphQL),  # proxied to the backend
    ]
