"""The image tier's fixtures: containers of the notebook image, tracked and always removed.

The Docker Stacks checks run on two images: the notebook image's base (the offline base
here, the upstream datascience-notebook where a registry answers) and the OpenHexa notebook
image itself, which must behave as a Docker Stacks image too.
"""

from __future__ import annotations

import pytest
import testinfra

from harness.containers import NOTEBOOK_IMAGE, TrackedContainer


@pytest.fixture
def notebook(docker_client, notebook_image):
    """Containers of the notebook image for one test; always removed."""
    tracked = TrackedContainer(docker_client, NOTEBOOK_IMAGE)
    yield tracked
    tracked.remove_all()


@pytest.fixture(scope="module")
def notebook_host(docker_client, notebook_image):
    """A testinfra host: an idle container of the notebook image, shared by a module."""
    tracked = TrackedContainer(docker_client, NOTEBOOK_IMAGE)
    container = tracked.run_detached(entrypoint=["tini", "--"], command=["sleep", "infinity"])
    yield testinfra.get_host(f"docker://{container.id}")
    tracked.remove_all()


# The base's checks are marked, so make test-arm64 can leave them out (its time budget).
IMAGES = [pytest.param("base", marks=pytest.mark.base_image), "openhexa"]


def image_name(docker_client, which: str) -> str:
    """``base``: the image NOTEBOOK_IMAGE was built on (its org.openhexa.base label); ``openhexa``: NOTEBOOK_IMAGE."""
    if which == "openhexa":
        return NOTEBOOK_IMAGE
    base = docker_client.images.get(NOTEBOOK_IMAGE).labels.get("org.openhexa.base")
    assert base, f"{NOTEBOOK_IMAGE} has no org.openhexa.base label: build it with `make build-notebook`"
    return base


@pytest.fixture(scope="module", params=IMAGES)
def which_image(request):
    """``base`` or ``openhexa``, for checks that differ by design between the two (the healthcheck's interval)."""
    return request.param


@pytest.fixture(scope="module")
def stack_image(docker_client, notebook_image, which_image):
    """The name of the image under test: the base or the OpenHexa image."""
    return image_name(docker_client, which_image)


@pytest.fixture(scope="module")
def stack_module(docker_client, stack_image):
    """Containers of the image under test shared by a module (its long-running servers); always removed."""
    tracked = TrackedContainer(docker_client, stack_image)
    yield tracked
    tracked.remove_all()


@pytest.fixture
def stack(docker_client, stack_image):
    """Containers of the image under test for one test; always removed."""
    tracked = TrackedContainer(docker_client, stack_image)
    yield tracked
    tracked.remove_all()
