"""release/tags.py: Docker Stacks' tags, one function per tag."""

import datetime as dt

import pytest

from release import tags
from release.tags import Context

DATE = dt.date(2026, 11, 26)
COMMIT = "0123456789abcdef0123456789abcdef01234567"
INSIDE = {"python": "3.11.2", "lab": "4.6.6", "hub": "5.5.4"}


def test_a_version_release_is_tagged_like_docker_stacks():
    made = tags.compute_tags("1.4.0", DATE, COMMIT, INSIDE)
    assert made.immutable == ("1.4.0", "0123456789ab")
    assert made.described == ("python-3.11", "lab-4.6.6", "hub-5.5.4")
    assert made.moving == ("2026-11-26", "latest")
    assert made.in_push_order() == [*made.immutable, *made.described, "2026-11-26", "latest"]


def test_latest_only_for_a_version_release():
    made = tags.compute_tags(None, DATE, COMMIT, {"python": "3.12.1", "hub": "5.5.4"})
    assert made.immutable == ("0123456789ab",)
    assert made.described == ("python-3.12", "hub-5.5.4")
    assert made.moving == ("2026-11-26",)
    assert "latest" not in made.in_push_order()


def test_the_hub_image_is_not_named_after_a_jupyterlab_it_happens_to_carry():
    made = tags.compute_tags(None, DATE, COMMIT, INSIDE, describes=("python", "hub"))
    assert made.described == ("python-3.11", "hub-5.5.4")


def test_the_proxy_image_is_named_after_its_configurable_http_proxy_only():
    inside = {"chp": "5.2.0", "node": "24.19.0"}
    made = tags.compute_tags("1.4.0", DATE, COMMIT, inside, describes=("chp",))
    assert made.described == ("chp-5.2.0",)


@pytest.mark.parametrize(
    ("git_tags", "version"),
    [([], None), (["v1.2.3"], "1.2.3"), (["v1.2.3", "v1.10.0", "nightly"], "1.10.0"), (["1.2.3", "v1.2"], None)],
)
def test_the_version_comes_from_a_vxyz_tag_on_head(git_tags, version):
    assert tags.version_of(git_tags) == version


@pytest.mark.parametrize(
    ("tagger", "context", "tag"),
    [
        (tags.version_tag, Context("1.4.0", DATE, COMMIT, {}), "1.4.0"),
        (tags.version_tag, Context(None, DATE, COMMIT, {}), None),
        (tags.commit_tag, Context(None, DATE, COMMIT, {}), "0123456789ab"),
        (tags.python_tag, Context(None, DATE, COMMIT, {"python": "3.12.10"}), "python-3.12"),
        (tags.python_tag, Context(None, DATE, COMMIT, {}), None),
        (tags.lab_tag, Context(None, DATE, COMMIT, {"lab": "4.6.6"}), "lab-4.6.6"),
        (tags.lab_tag, Context(None, DATE, COMMIT, {"lab": None}), None),
        (tags.hub_tag, Context(None, DATE, COMMIT, {"hub": "5.5.4"}), "hub-5.5.4"),
        (tags.date_tag, Context(None, dt.date(2027, 1, 2), COMMIT, {}), "2027-01-02"),
        (tags.latest_tag, Context("1.4.0", DATE, COMMIT, {}), "latest"),
        (tags.latest_tag, Context(None, DATE, COMMIT, {}), None),
    ],
)
def test_each_tagger_alone(tagger, context, tag):
    assert tagger(context) == tag
