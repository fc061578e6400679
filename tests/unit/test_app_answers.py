"""/hub/login in-process: the App's session is the only way in, and each bad App answer has its page.

The real authenticator, its ``app_client`` answered by the mock App in memory (``inapp``):
the cases here run in milliseconds. Their real-hub twins, where the hub, its proxy or real
sockets matter (cookies set, memory, concurrency), are the hub tier's (``tests/hub``).
"""

import asyncio
import json
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from tornado import web

from harness.app import DEMO
from openhexa_hub.authenticator import OpenHexaAuthenticator
from tests.unit.inprocess_app import HUB_HOST, HubUser, app_traits, cookie_header, hub_handler, login_outcome

UNAVAILABLE = "The OpenHexa App is unavailable"
AUTHENTICATE = "/notebooks/authenticate/"
ALICE = "alice@openhexa.test"


def session_of(app, who: str) -> str:
    return cookie_header(app.login(who).cookies)


def test_the_app_client_is_a_trait_that_defaults_to_the_real_one():
    authenticator = OpenHexaAuthenticator(**app_traits("http://127.0.0.1:9"), app_read_timeout=7.0)
    client = authenticator.app_client
    assert type(client).__name__ == "AppClient" and client.http_client is None, "a fresh tornado client per call"
    assert (client.read_timeout, client.connect_timeout) == (7.0, 5.0)
    assert "app_client" in OpenHexaAuthenticator.class_trait_names(config=True)
    assert OpenHexaAuthenticator.class_traits()["app_client"].help


def test_an_app_session_logs_in_and_the_call_follows_the_contract(inapp):
    authenticator = inapp.authenticator()
    assert login_outcome(authenticator, session_of(inapp, "alice")) == ("login", "alice@openhexa.test")
    (call,) = inapp.calls()
    assert call["path"] == AUTHENTICATE and call["method"] == "POST"
    assert call["cookies"] == ["csrftoken", "sessionid"]
    assert call["csrf_header"]
    assert call["referer"] == f"http://{HUB_HOST}/", "the hub's own origin"


def test_usernames_are_normalised(inapp):
    outcome = login_outcome(inapp.authenticator(), session_of(inapp, "mixed"))
    assert outcome == ("login", "mixed.case+tag@openhexa.test")


@pytest.mark.parametrize(
    "cookie",
    [None, "sessionid=not-a-session; csrftoken=abc", "csrftoken=abc", "sessionid=abc"],
    ids=["none", "stale", "no-session", "no-csrf"],
)
def test_without_a_valid_app_session_the_person_goes_to_the_app_login(inapp, cookie):
    authenticator = inapp.authenticator()
    assert login_outcome(authenticator, cookie) == ("app-login", None)
    target = authenticator.app_login_redirect(hub_handler(cookie))
    assert target.startswith(f"{inapp.url}/login?")
    assert parse_qs(urlsplit(target).query)["next"] == [f"http://{HUB_HOST}/hub/login"]


@pytest.mark.parametrize(
    "mode",
    ["html", "invalid-json", "not-object", "no-username", "status-500", "status-502", "status-404", "status-400"],
)
def test_bad_app_answers_give_503_and_never_log_in(inapp, mode):
    authenticator = inapp.authenticator()
    cookie = session_of(inapp, "alice")
    inapp.set_mode(mode)
    status, message = login_outcome(authenticator, cookie)
    assert status == 503, message
    assert UNAVAILABLE in message


def test_a_redirect_is_not_followed_and_means_not_logged_in(inapp):
    authenticator = inapp.authenticator()
    cookie = session_of(inapp, "alice")
    inapp.set_mode("redirect")
    assert login_outcome(authenticator, cookie) == ("app-login", None)
    assert inapp.http.fetched == 1, "the redirect was followed"


def test_a_username_that_is_not_an_email_is_refused(inapp):
    authenticator = inapp.authenticator()
    cookie = session_of(inapp, "alice")
    inapp.set_mode("bad-username")
    assert login_outcome(authenticator, cookie) == (403, "This account's username is not a valid OpenHexa email.")


@pytest.mark.parametrize("username", ["<script>alert(1)</script>@x.org", "<script>@x.org", "a" * 300 + "@x.org"])
def test_a_username_with_markup_from_the_app_is_refused(inapp, username):
    authenticator = inapp.authenticator()
    inapp.answer(200, json.dumps({"username": username}), {"Content-Type": "application/json"})
    status, message = login_outcome(authenticator, session_of(inapp, "alice"))
    assert status == 403
    assert "username is not a valid OpenHexa email" in message and "<script>" not in message


def test_an_oversized_app_cookie_is_refused_without_asking_the_app(inapp):
    status, message = login_outcome(inapp.authenticator(), f"sessionid={'s' * 5000}; csrftoken={'c' * 64}")
    assert status == 400
    assert "cookies are not valid" in message
    assert inapp.calls() == []


def test_an_oversized_answer_is_a_502_naming_the_limit(inapp):
    authenticator = inapp.authenticator()
    huge = json.dumps({"username": "alice@openhexa.test", "padding": "x" * (2 * 1024 * 1024)})
    inapp.answer(200, huge, {"Content-Type": "application/json"}, path=AUTHENTICATE)
    status, message = login_outcome(authenticator, session_of(inapp, "alice"))
    assert status == 502
    assert "larger than the hub reads (1024 kB)" in message


def test_a_slow_app_times_out_with_503(inapp):
    authenticator = inapp.authenticator(read_timeout=0.2)
    cookie = session_of(inapp, "alice")
    inapp.set_mode("ok", delay=2)
    status, message = login_outcome(authenticator, cookie)
    assert status == 503 and UNAVAILABLE in message


def test_an_unreachable_app_gives_503_and_no_login(inapp):
    authenticator = OpenHexaAuthenticator(**app_traits("http://127.0.0.1:9"), app_client=inapp.client())
    status, message = login_outcome(authenticator, "sessionid=abc; csrftoken=def")
    assert status == 503 and UNAVAILABLE in message
    assert inapp.calls() == [], "nothing listens there"


def test_the_app_login_page_is_where_the_settings_say(inapp):
    authenticator = OpenHexaAuthenticator(**app_traits(inapp.url), app_login_url="https://app.test/signin?x=1")
    target = authenticator.app_login_redirect(hub_handler(None, uri="/hub/login?next=%2Fhub%2Fhome"))
    assert target.startswith("https://app.test/signin?x=1&next=")
    assert parse_qs(urlsplit(target).query)["next"] == [f"http://{HUB_HOST}/hub/login?next=%2Fhub%2Fhome"]


def test_each_demo_person_logs_in_as_the_email_the_app_stores(inapp):
    authenticator = inapp.authenticator()
    for who, (email, _) in DEMO.items():
        assert login_outcome(authenticator, session_of(inapp, who)) == ("login", email.lower())


# -- refresh_user: a hub cookie is only as good as the App session it came from -----------


def refresh(authenticator, name: str, handler, user=None):
    return asyncio.run(authenticator.refresh_user(user or HubUser(name), handler))


def test_a_hub_cookie_stays_good_while_its_app_session_does(inapp):
    authenticator = inapp.authenticator()
    cookie = session_of(inapp, "alice") + "; jupyterhub-session-id=browser-1"
    user = HubUser(ALICE)
    bound = refresh(authenticator, ALICE, hub_handler(cookie, uri="/hub/home"), user)
    user.auth_state = bound["auth_state"]  # the first check binds this browser to its App session
    assert refresh(authenticator, ALICE, hub_handler(cookie, uri="/hub/home"), user) is True


def test_the_app_session_a_browser_logged_in_with_is_kept_encrypted(inapp):
    authenticator = inapp.authenticator()
    cookies = inapp.login("alice").cookies
    cookie = cookie_header(cookies) + "; jupyterhub-session-id=browser-1"
    bound = refresh(authenticator, ALICE, hub_handler(cookie, uri="/hub/home"))
    sessions = bound["auth_state"]["app_sessions"]
    assert set(sessions) == {"browser-1"}
    assert cookies["sessionid"] not in json.dumps(bound), "readable by admin:auth_state: encrypted once more"
    fresh = inapp.authenticator()  # as after a hub restart: from auth_state
    user = HubUser(ALICE)
    user.auth_state = bound["auth_state"]
    assert asyncio.run(fresh.bindings.get(user, "browser-1")).sessionid == cookies["sessionid"]


@pytest.mark.parametrize(
    "cookie",
    [None, "sessionid=over; csrftoken=abc", f"sessionid={'s' * 5000}; csrftoken=c"],
    ids=["no-app-cookies", "app-session-over", "malformed"],
)
def test_without_its_app_session_a_hub_cookie_sends_the_person_to_log_in_again(inapp, cookie):
    handler = hub_handler(cookie, uri="/hub/home")
    assert refresh(inapp.authenticator(), ALICE, handler) is False
    assert handler.cleared, "this browser's hub cookie and its servers' logins go"


def test_someone_elses_app_session_does_not_keep_a_hub_cookie(inapp):
    handler = hub_handler(session_of(inapp, "bob"), uri="/hub/home")
    assert refresh(inapp.authenticator(), ALICE, handler) is False
    assert handler.cleared


def test_tokens_and_logging_out_need_no_app_session(inapp):
    """A server's own token and a person's API token are tied to no browser: no App session to check."""
    authenticator = inapp.authenticator()
    token_request = hub_handler(None, uri="/hub/api/user")
    token_request._token_authenticated = True
    token_request.get_token = lambda: SimpleNamespace(session_id=None)
    assert refresh(authenticator, ALICE, token_request) is True
    assert refresh(authenticator, ALICE, None) is True
    assert inapp.calls() == [], "the App was asked for nothing"


def test_the_app_down_does_not_keep_a_hub_cookie_alive(inapp):
    authenticator = inapp.authenticator()
    cookie = session_of(inapp, "alice")
    inapp.set_mode("status-500")
    with pytest.raises(web.HTTPError) as refused:
        refresh(authenticator, ALICE, hub_handler(cookie, uri="/hub/home"))
    assert refused.value.status_code == 503


# -- cookie attributes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secure", "samesite", "expected"),
    [
        (False, "", {}),
        (True, "", {"secure": True}),
        (False, "Lax", {"samesite": "Lax"}),
        (False, "None", {"samesite": "None", "secure": True}),
    ],
)
def test_cookie_options_follow_the_settings(secure, samesite, expected):
    authenticator = OpenHexaAuthenticator(
        **app_traits("http://127.0.0.1:9"), cookie_secure=secure, cookie_samesite=samesite
    )
    assert authenticator.cookie_options() == expected


def test_an_unknown_samesite_is_refused_naming_the_values():
    with pytest.raises(ValueError, match="use one of Lax, Strict, None"):
        OpenHexaAuthenticator(**app_traits("http://127.0.0.1:9"), cookie_samesite="lax")
