"""Property-based: no App answer and no cookie logs anyone in unless the App said so for that session.

Each example is a real request to the real hub (``hub`` fixture); the mock App answers
exactly what hypothesis chose (``/_mock/answer``). The oracle is the contract: a login
happens only for a 200 JSON object whose ``username`` is an email, and then as that
email (trimmed, lowercased), never as someone else; nothing answers 500.
"""

from __future__ import annotations

import json
import re
import string

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tornado.httputil import parse_cookie

from harness.app import DEMO
from openhexa_hub.authenticator import REQUIRED, OpenHexaAuthenticator

# Reproducible and bounded: the same examples on every run, no example database.
BOUNDED = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

LOGIN_COOKIE = "jupyterhub-hub-login"
# What an App username may be, stated apart from the authenticator's pattern (so the two
# can disagree): a lowercased ASCII email, one "@", a local part of these characters, and a
# domain of two or more non-empty labels of letters, digits and hyphens.
LOCAL_PART = frozenset(string.ascii_lowercase + string.digits + "._%+-'")
DOMAIN_LABEL = frozenset(string.ascii_lowercase + string.digits + "-")


def is_app_username(name: str) -> bool:
    local, at, domain = name.partition("@")
    labels = domain.split(".")
    return (
        bool(at and local)
        and len(name) <= 254
        and set(local) <= LOCAL_PART
        and len(labels) >= 2
        and all(label and set(label) <= DOMAIN_LABEL for label in labels)
    )


# -- what the App may answer -------------------------------------------------------

emails = st.from_regex(r"\A[A-Za-z0-9._+\-]{1,20}@[a-z0-9]{1,10}\.(org|test|ORG)\Z")
odd_usernames = st.one_of(
    emails,
    emails.map(lambda e: f"  {e}\n"),
    st.sampled_from(
        [
            "<script>alert(1)</script>@x.org",
            "<script>@x.org",
            "alice@openhexa.test<br>",
            "\u212aelvin@openhexa.test",  # lowercases to an ASCII k
            "alice@openhexa.test\n",
            "",
            " ",
            "..",
            "a/b@x.org",
            "alice@openhexa.test/../bob",
            "a" * 300 + "@x.org",
            "a" * 10_000,
        ]
    ),
    st.text(max_size=60),
    st.integers(),
    st.none(),
    st.booleans(),
    st.lists(emails, max_size=2),
    st.dictionaries(st.text(max_size=5), emails, max_size=2),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
bodies = st.one_of(
    st.builds(lambda u: json.dumps({"username": u}), odd_usernames),
    st.builds(
        lambda u, extra: json.dumps({"username": u, **extra}),
        odd_usernames,
        st.dictionaries(st.text(), json_values, max_size=2),
    ),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.sampled_from(
        ['{"username": ', "<!doctype html><p>Welcome</p>", "null", "[]", '{"user": "alice@openhexa.test"}']
    ),
)
statuses = st.sampled_from([200, 200, 200, 200, 201, 204, 301, 302, 400, 401, 403, 404, 405, 500, 502, 503])
content_types = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "application/problem+json", "text/html", "text/plain", ""]
)


def app_meant(status: int, content_type: str, body: str) -> str | None:
    """The username the App vouched for, by the contract; None when it vouched for no one."""
    if status != 200 or "json" not in content_type:
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    name = payload.get("username") if isinstance(payload, dict) else None
    if not isinstance(name, str) or not name.isascii():
        return None
    name = name.strip().lower()
    return name if is_app_username(name) else None


def login_cookie(response: requests.Response) -> str | None:
    return response.cookies.get(LOGIN_COOKIE)


def who_is(hub, cookie: str) -> str | None:
    """Whom the hub's login cookie identifies, by the hub's own API."""
    me = requests.get(f"{hub.url}/hub/api/user", cookies={LOGIN_COOKIE: cookie}, timeout=30)
    return me.json()["name"] if me.status_code == 200 else None


@pytest.mark.reliability(
    "Hostile input",
    "generated App answers to /notebooks/authenticate/ (status, content type, body, odd usernames)",
    "login only on a 200 JSON email, as that email; else 302/403/503; never 500",
)
@BOUNDED
@example(200, "application/json", json.dumps({"username": "\u212aelvin@openhexa.test"}))
@example(200, "application/json", json.dumps({"username": "<script>@x.org"}))
@example(200, "application/json", json.dumps({"username": "Alice@OpenHexa.test "}))
@example(200, "text/html", json.dumps({"username": "alice@openhexa.test"}))
@example(500, "application/json", json.dumps({"username": "alice@openhexa.test"}))
@given(statuses, content_types, bodies)
def test_any_app_answer_logs_in_only_whom_the_app_named(app, hub, status, content_type, body):
    headers = {"Content-Type": content_type} if content_type else {}
    if 300 <= status < 400:
        headers["Location"] = "/login?next=/notebooks/authenticate/"
    app.answer(status, body, headers, path="/notebooks/authenticate/")
    response = requests.get(
        f"{hub.url}/hub/login",
        cookies={"sessionid": "s" * 32, "csrftoken": "c" * 64},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code != 500, response.text[:300]
    expected = app_meant(status, content_type, body)
    cookie = login_cookie(response)
    if expected is None:
        assert cookie is None, f"logged in although the App vouched for no one: {response.status_code}"
        assert response.status_code in (302, 403, 503), response.status_code
    else:
        assert response.status_code == 302 and cookie, f"no login for the App's {expected!r}"
        assert who_is(hub, cookie) == expected


# -- what a browser (or an attacker) may send ---------------------------------------

cookie_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters=";"), min_size=0, max_size=80
)
COOKIE_OCTETS = re.compile(r"[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]+")  # RFC 6265


@pytest.fixture(scope="module")
def alice_app_session(mock_app):
    """One App login for the whole property (logging in per example would dominate its time)."""
    return mock_app.login(*DEMO["alice"])


cookie_values = st.one_of(
    cookie_text,
    st.from_regex(r"\A[a-z0-9]{32}\Z"),  # Django's shape
    st.sampled_from(["", '"quoted"', "a b", "=", "a=b", "\\", "é", "<script>", "../../etc/passwd"]),
    st.integers(min_value=4_000, max_value=20_000).map(lambda n: "x" * n),  # up to oversized
    st.none(),  # missing
)


@pytest.mark.reliability(
    "Hostile input",
    "generated sessionid/csrftoken cookies (missing, random, odd characters, up to 20 kB), real session or not",
    "login only with the App's real session, as its owner; else 302/400/431; never 500",
)
@BOUNDED
@example(real_session=True, sessionid=None, csrftoken="c" * 64)
@example(real_session=True, sessionid=None, csrftoken="é")
@example(real_session=False, sessionid="x" * 16_000, csrftoken="c")
@given(real_session=st.booleans(), sessionid=cookie_values, csrftoken=cookie_values)
def test_only_the_apps_own_session_logs_in(app, hub, alice_app_session, real_session, sessionid, csrftoken):
    if real_session:
        sessionid = alice_app_session.cookies["sessionid"]
    parts = [
        f"{name}={value}" for name, value in (("sessionid", sessionid), ("csrftoken", csrftoken)) if value is not None
    ]
    header = "; ".join(parts)
    response = requests.get(
        f"{hub.url}/hub/login", headers={"Cookie": header} if parts else {}, allow_redirects=False, timeout=30
    )
    assert response.status_code != 500, response.text[:300]
    cookie = login_cookie(response)
    received = parse_cookie(header)  # what the hub reads, as any server would parse the header
    browser_could_send = all(
        received.get(name) and len(received[name]) <= 4096 and COOKIE_OCTETS.fullmatch(received[name])
        for name in ("sessionid", "csrftoken")
    )
    if real_session and browser_could_send:
        assert response.status_code == 302 and cookie, "alice's own App session did not log her in"
        assert who_is(hub, cookie) == DEMO["alice"][0]
        assert received["sessionid"] == alice_app_session.cookies["sessionid"]
    else:
        assert cookie is None, f"logged in without the App's session: {response.status_code}"
        assert response.status_code in (302, 400, 431), response.status_code
        if response.status_code == 400:
            assert "cookies are not valid" in response.text


NEAR_EMAIL = "ab9._%+-'@_A \n\u212a\u00e9/"  # an email's characters and their near misses
near_emails = st.builds(
    "{}@{}".format,
    st.text(alphabet=NEAR_EMAIL, max_size=8),
    st.lists(st.text(alphabet=NEAR_EMAIL, max_size=5), max_size=4).map(".".join),
)


@given(st.one_of(emails.map(str.lower), near_emails, st.text(alphabet=NEAR_EMAIL, max_size=30)))
@example("a@b.c" + "c" * 250)  # 256 characters
@settings(max_examples=500, deadline=None, derandomize=True, database=None)
def test_the_authenticator_accepts_exactly_the_app_usernames(name):
    """Its pattern and the oracle's statement agree on every name, in-process."""
    assert AUTHENTICATOR.validate_username(name) == is_app_username(name), name


AUTHENTICATOR = OpenHexaAuthenticator(**{name: "http://127.0.0.1:9/" for name in REQUIRED})
