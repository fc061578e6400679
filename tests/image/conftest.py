"""The image tier's fixtures: containers of the notebook image, tracked and always removed."""

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
