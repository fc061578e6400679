"""Property-based: no App answer and no cookie logs anyone in unless the App said so for that session.

Each example runs the real authenticator in-process, as ``/hub/login`` does, against the
mock App in memory (``tests/unit/inprocess_app.py``: mockapp's own handlers behind the
authenticator's ``app_client``), which answers exactly what hypothesis chose. The oracle is
the contract: a login happens only for a 200 JSON object whose ``username`` is an email,
and then as that email (trimmed, lowercased), never as someone else; nothing answers 500.
What only a real hub and proxy do (431 for headers over 16 KiB) is the hub tier's.
"""

from __future__ import annotations

import json
import re
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tornado.httputil import parse_cookie

from harness.app import DEMO
from openhexa_hub.authenticator import REQUIRED, OpenHexaAuthenticator
from tests.unit.inprocess_app import InProcessApp, login_outcome

# Reproducible and bounded: the same examples on every run, no example database.
BOUNDED = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# One App and one authenticator for each property (the App's answer is set per example).
APP = InProcessApp()
HUB_AUTHENTICATOR = APP.authenticator()
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


def logged_in(outcome: tuple) -> str | None:
    """Whom ``/hub/login`` logs in (gives a login cookie), or None."""
    return outcome[1] if outcome[0] == "login" else None


def status_of(outcome: tuple) -> int:
    """The status ``/hub/login`` answers: a 302 to the hub or to the App's login, or an error page's."""
    return 302 if outcome[0] in ("login", "app-login") else outcome[0]


@BOUNDED
@example(200, "application/json", json.dumps({"username": "\u212aelvin@openhexa.test"}))
@example(200, "application/json", json.dumps({"username": "<script>@x.org"}))
@example(200, "application/json", json.dumps({"username": "Alice@OpenHexa.test "}))
@example(200, "text/html", json.dumps({"username": "alice@openhexa.test"}))
@example(500, "application/json", json.dumps({"username": "alice@openhexa.test"}))
@given(statuses, content_types, bodies)
def test_any_app_answer_logs_in_only_whom_the_app_named(status, content_type, body):
    headers = {"Content-Type": content_type} if content_type else {}
    if 300 <= status < 400:
        headers["Location"] = "/login?next=/notebooks/authenticate/"
    APP.answer(status, body, headers, path="/notebooks/authenticate/")
    outcome = login_outcome(HUB_AUTHENTICATOR, f"sessionid={'s' * 32}; csrftoken={'c' * 64}")
    assert status_of(outcome) != 500, outcome
    expected = app_meant(status, content_type, body)
    if expected is None:
        assert logged_in(outcome) is None, f"logged in although the App vouched for no one: {outcome}"
        assert status_of(outcome) in (302, 403, 503), outcome
    else:
        assert logged_in(outcome) == expected, f"no login for the App's {expected!r}: {outcome}"


# -- what a browser (or an attacker) may send ---------------------------------------

cookie_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters=";"), min_size=0, max_size=80
)
COOKIE_OCTETS = re.compile(r"[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]+")  # RFC 6265


@pytest.fixture(scope="module")
def alice_app_session():
    """Alice's App cookies, for the whole property."""
    APP.set_mode("ok")
    return APP.login("alice")


cookie_values = st.one_of(
    cookie_text,
    st.from_regex(r"\A[a-z0-9]{32}\Z"),  # Django's shape
    st.sampled_from(["", '"quoted"', "a b", "=", "a=b", "\\", "é", "<script>", "../../etc/passwd"]),
    st.integers(min_value=4_000, max_value=20_000).map(lambda n: "x" * n),  # up to oversized
    st.none(),  # missing
)


@BOUNDED
@example(real_session=True, sessionid=None, csrftoken="c" * 64)
@example(real_session=True, sessionid=None, csrftoken="é")
@example(real_session=False, sessionid="x" * 16_000, csrftoken="c")
@given(real_session=st.booleans(), sessionid=cookie_values, csrftoken=cookie_values)
def test_only_the_apps_own_session_logs_in(alice_app_session, real_session, sessionid, csrftoken):
    APP.set_mode("ok")
    if real_session:
        sessionid = alice_app_session.cookies["sessionid"]
    parts = [
        f"{name}={value}" for name, value in (("sessionid", sessionid), ("csrftoken", csrftoken)) if value is not None
    ]
    header = "; ".join(parts)
    outcome = login_outcome(HUB_AUTHENTICATOR, header if parts else None)
    assert status_of(outcome) != 500, outcome
    received = parse_cookie(header)  # what the hub reads, as any server would parse the header
    browser_could_send = all(
        received.get(name) and len(received[name]) <= 4096 and COOKIE_OCTETS.fullmatch(received[name])
        for name in ("sessionid", "csrftoken")
    )
    if real_session and browser_could_send:
        assert logged_in(outcome) == DEMO["alice"][0], f"alice's own App session did not log her in: {outcome}"
        assert received["sessionid"] == alice_app_session.cookies["sessionid"]
    else:
        assert logged_in(outcome) is None, f"logged in without the App's session: {outcome}"
        # 431 (headers over 16 KiB) is the proxy's: tests/hub/test_hostile_names.py
        assert status_of(outcome) in (302, 400), outcome
        if status_of(outcome) == 400:
            assert "cookies are not valid" in outcome[1]


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
