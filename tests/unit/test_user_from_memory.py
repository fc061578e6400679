"""handlers.UserFromMemory against JupyterHub's own database session and users, in-process: a GET finds a
person from memory once JupyterHub's lookup found them, and never serves a row that no longer is theirs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from jupyterhub import orm
from jupyterhub.handlers.base import BaseHandler
from jupyterhub.user import UserDict
from sqlalchemy.orm import Session

from openhexa_hub.handlers import UserFromMemory


class JupyterHubs:
    """JupyterHub's own lookup (BaseHandler.find_user), counting the database queries it makes."""

    queries = 0

    def find_user(self, name):
        self.queries += 1
        return BaseHandler.find_user(self, name)

    _user_from_orm = BaseHandler._user_from_orm


class Handler(UserFromMemory, JupyterHubs):
    def __init__(self, db: Session, users: UserDict, settings: dict, method: str = "GET"):
        self.db, self.users, self.settings = db, users, settings
        self.request = SimpleNamespace(method=method)


@pytest.fixture
def hub():
    db = orm.new_session_factory("sqlite:///:memory:")()
    settings: dict = {}
    users = UserDict(lambda: db, settings)
    yield SimpleNamespace(db=db, users=users, handler=lambda method="GET": Handler(db, users, settings, method))
    db.close()


def add(hub, name: str):
    row = orm.User(name=name)
    hub.db.add(row)
    hub.db.commit()
    return hub.users[row]


def test_a_name_found_once_is_found_in_memory_after(hub):
    alice = add(hub, "alice")
    handler = hub.handler()
    assert handler.find_user("alice") is alice and handler.queries == 1
    assert handler.find_user("alice") is alice and handler.queries == 1
    assert handler.find_user("nobody") is None and handler.find_user("nobody") is None
    assert handler.queries == 3  # an unknown name is asked of the database each time


def test_other_methods_look_up_as_jupyterhub_does(hub):
    add(hub, "alice")
    hub.handler().find_user("alice")
    patch = hub.handler("PATCH")
    assert patch.find_user("alice").name == "alice" and patch.queries == 1


def test_renamed_deleted_and_recreated_people_are_never_served_stale(hub):
    handler = hub.handler()
    alice, bob = add(hub, "alice"), add(hub, "bob")
    assert handler.find_user("alice") is alice and handler.find_user("bob") is bob
    alice.name = "carol"  # as the REST API's PATCH renames
    hub.db.commit()
    assert handler.find_user("alice") is None
    assert handler.find_user("carol") is alice
    hub.users.delete(bob)  # as the REST API's DELETE
    assert handler.find_user("bob") is None
    new_bob = add(hub, "bob")
    assert handler.find_user("bob") is new_bob and new_bob.id != alice.id
    new_alice = add(hub, "alice")
    assert handler.find_user("alice") is new_alice and handler.find_user("carol") is alice


def test_a_row_deleted_behind_the_sessions_back_is_not_served(hub):
    handler = hub.handler()
    alice = add(hub, "alice")
    assert handler.find_user("alice") is alice
    hub.db.query(orm.User).filter(orm.User.id == alice.id).delete()  # not through the hub's users
    hub.db.commit()
    hub.db.expire_all()  # as a rollback leaves every row
    assert handler.find_user("alice") is None
