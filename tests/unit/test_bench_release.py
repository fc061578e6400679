"""The release part's per-tier times: only release.py's own `==>` lines start and end a phase."""

from bench.commands import phases_of
from bench.release import group_phases

BUILD_MARKERS = (  # what `make build` prints, from scripts/build-*.sh
    "quay.io/jupyter/datascience-notebook:2025-12-22 cannot be pulled here: building on the offline base",
    "building blsq/openhexa-base-notebook:bench on openhexa/offline-docker-stacks:bookworm (storage engines: local)",
    "built blsq/openhexa-base-notebook:bench",
    "building blsq/openhexa-jupyterhub:bench (target production) on openhexa/offline-docker-stacks:bookworm",
    "built blsq/openhexa-jupyterhub:bench and blsq/openhexa-jupyterhub:bench-local",
)


def phases(markers: list[tuple[float, str]], end: float) -> list[dict]:
    """As the release part records them: run_timed's phases, through Timed.to_json."""
    return [{"phase": name, "at": at, "seconds": round(s, 1)} for name, at, s in phases_of(markers, end)]


def test_a_tier_lasts_until_the_next_release_marker_even_when_its_make_rebuilds_first():
    def build(at: float) -> list[tuple[float, str]]:  # five build markers, ten seconds apart
        return [(at + 10 * i, marker) for i, marker in enumerate(BUILD_MARKERS)]

    markers = [
        (0.2, "releasing ec0dc5f81125 to 127.0.0.1:59973"),
        (0.2, "building the images"),
        *build(0.3),
        (312.5, "tier lint"),
        (314.7, "tier test-unit"),
        (415.2, "tier test-image"),  # `make test-image` builds again, then runs pytest (~5 min)
        *build(415.4),
        (1038.4, "tier test-e2e"),
        *build(1038.6),
        (1550.3, "pushing 127.0.0.1:59973/blsq/openhexa-base-notebook:ec0dc5f81125"),
        (1617.4, "pushing 127.0.0.1:59973/blsq/openhexa-jupyterhub:ec0dc5f81125"),
        (1641.1, "verifying 127.0.0.1:59973/blsq/openhexa-base-notebook@sha256:247b"),
        (1643.4, "verifying 127.0.0.1:59973/blsq/openhexa-jupyterhub@sha256:c30b"),
        (1647.9, "pushing 127.0.0.1:59973/blsq/openhexa-base-notebook:2026-11-26"),
        (1648.1, "published"),
    ]
    assert group_phases(phases(markers, 1648.3)) == {
        "build": 312.3,
        "lint": 2.2,
        "test-unit": 100.5,
        "test-image": 623.2,
        "test-e2e": 511.9,
        "push": 91.0,
        "verify": 6.8,
        "gate": 1550.1,
    }


def test_a_release_that_prints_no_marker_has_only_an_empty_gate():
    assert group_phases([]) == {"gate": 0.0}
