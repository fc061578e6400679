"""The App's poll, ``GET /hub/api/users/<email>``, served from the hub's memory (handlers.UserFromMemory).

The first GET of a name is JupyterHub's own lookup; every later one is from memory. Whatever happens
to a person between polls (renamed, deleted, created again under the name, two people's names swapped),
a poll answers what JupyterHub's own lookup answers: never a former holder of the name.
"""

from __future__ import annotations

import itertools
from urllib.parse import quote

import pytest

counter = itertools.count()


@pytest.fixture
def names():
    """Fresh names for one test (the hub is the session's)."""
    n = next(counter)
    return [f"poll{n}-{who}@openhexa.test" for who in ("a", "b", "c")]


def path(name: str) -> str:
    return f"/users/{quote(name, safe='')}"


def create(hub, name: str) -> dict:
    response = hub.api("POST", path(name))
    assert response.status_code == 201, response.text
    return response.json()


def poll(hub, name: str) -> dict | None:
    """The App's poll; None for a 404."""
    response = hub.api("GET", path(name))
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.json()


def rename(hub, old: str, new: str):
    response = hub.api("PATCH", path(old), json={"name": new})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == new


def test_a_poll_from_memory_answers_what_jupyterhubs_own_lookup_answers(hub, names):
    created = create(hub, names[0])
    first = poll(hub, names[0])  # JupyterHub's own lookup: the name was never found before
    again = [poll(hub, names[0]) for _ in range(3)]  # from memory
    jupyterhubs = hub.api("PATCH", path(names[0]), json={}).json()  # PATCH finds as JupyterHub does; changes nothing
    assert first["name"] == names[0] and first["created"] == created["created"]
    assert all(answer == first for answer in again)
    assert jupyterhubs == first
    spelled_otherwise = poll(hub, names[0].upper())  # the App's spellings reach the one person
    assert spelled_otherwise == first


def test_a_renamed_person_is_polled_under_the_new_name_only(hub, names):
    old, new, _ = names
    created = create(hub, old)
    assert poll(hub, old)["created"] == created["created"]
    rename(hub, old, new)
    assert poll(hub, old) is None
    renamed = poll(hub, new)
    assert renamed["name"] == new and renamed["created"] == created["created"]
    assert poll(hub, new) == renamed


def test_a_deleted_person_is_gone_and_a_new_one_under_the_name_is_not_them(hub, names):
    name = names[0]
    before = create(hub, name)
    assert poll(hub, name)["created"] == before["created"]
    assert hub.api("DELETE", path(name)).status_code == 204
    assert poll(hub, name) is None
    assert poll(hub, name) is None
    after = create(hub, name)  # SQLite may give the new row the old one's id
    assert after["created"] != before["created"]
    assert poll(hub, name)["created"] == after["created"]
    assert poll(hub, name) == poll(hub, name)


def test_two_people_whose_names_are_swapped_each_get_their_own(hub, names):
    a, b, spare = names
    person_a, person_b = create(hub, a), create(hub, b)
    assert poll(hub, a)["created"] == person_a["created"] and poll(hub, b)["created"] == person_b["created"]
    rename(hub, a, spare)
    rename(hub, b, a)
    rename(hub, spare, b)
    now_a, now_b = poll(hub, a), poll(hub, b)
    assert now_a["created"] == person_b["created"] and now_a["name"] == a
    assert now_b["created"] == person_a["created"] and now_b["name"] == b
    assert poll(hub, spare) is None


def test_a_renamed_person_whose_old_name_is_taken_again_is_not_served_under_it(hub, names):
    old, new, _ = names
    first = create(hub, old)
    assert poll(hub, old)["created"] == first["created"]
    rename(hub, old, new)
    second = create(hub, old)
    assert poll(hub, old)["created"] == second["created"] != first["created"]
    assert poll(hub, new)["created"] == first["created"]
