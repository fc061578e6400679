"""release/chart_values.py: each image's tag set where chart.yaml declares it, and nothing else touched."""

import pytest
import yaml

from release import ReleaseError, chart_values
from release.images import release_images

VALUES_TEXT = """\
# a comment at the top, kept
hub:
  image:   # the hub's image
    name: blsq/openhexa-jupyterhub
    tag: "dev"     # written by the release
  db: {type: sqlite-memory}
singleuser:
    image:
        name: blsq/openhexa-base-notebook
        tag: 'dev'
    cmd: null
# a comment at the end, kept
"""
PLACES = {"openhexa-jupyterhub": "hub.image.tag", "openhexa-base-notebook": "singleuser.image.tag"}
RELEASED = {**PLACES, "openhexa-proxy": "proxy.chp.image.tag"}


def test_chart_yaml_declares_the_place_of_every_released_image():
    names = [image.name for image in release_images("blsq/", "dev")]
    assert chart_values.places_for(names) == RELEASED
    with pytest.raises(ReleaseError, match="does not say where the tag of openhexa-other lives"):
        chart_values.places_for([*names, "openhexa-other"])


def test_the_chart_values_point_at_the_released_tag(tmp_path):
    values = tmp_path / "values.yaml"
    original = chart_values.VALUES.read_text()
    values.write_text(original)
    chart_values.point_chart_values_at("1.4.0", values)
    text = values.read_text()
    loaded = yaml.safe_load(text)
    assert loaded["hub"]["image"]["tag"] == loaded["singleuser"]["image"]["tag"] == "1.4.0"
    assert loaded["proxy"]["chp"]["image"]["tag"] == "1.4.0"
    assert text.count('tag: "1.4.0"') == 3 and 'tag: "dev"' not in text
    assert text == original.replace('tag: "dev"', 'tag: "1.4.0"'), "only the three tags changed"


def test_only_the_tags_change_byte_for_byte_whatever_the_indentation_or_quoting():
    text = chart_values.with_tag(VALUES_TEXT, PLACES, "1.10")
    expected = VALUES_TEXT.replace('tag: "dev"', 'tag: "1.10"').replace("tag: 'dev'", 'tag: "1.10"')
    assert text == expected
    loaded = yaml.safe_load(text)
    assert loaded["singleuser"]["image"]["tag"] == "1.10", "a version that looks like a number stays a string"
    assert "# a comment at the top, kept" in text and "# written by the release" in text


def test_a_plain_tag_is_replaced_whole():
    text = chart_values.set_scalar("hub:\n  image:\n    tag: dev-2026   # x\n", "hub.image.tag", "0123456789ab")
    assert text == 'hub:\n  image:\n    tag: "0123456789ab"   # x\n'


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("hub.image.digest", "no hub.image.digest: hub.image has no key 'digest'"),
        ("proxy.image.tag", "no proxy.image.tag: the document has no key 'proxy'"),
        ("hub.image.name.tag", "no hub.image.name.tag: hub.image.name is not a mapping"),
        ("hub.image", "hub.image is not a single value"),
    ],
)
def test_a_missing_place_fails_naming_the_path(tmp_path, path, reason):
    values = tmp_path / "values.yaml"
    values.write_text(VALUES_TEXT)
    with pytest.raises(ReleaseError, match=str(values)) as refusal:
        chart_values.check(values, {"openhexa-jupyterhub": path})
    assert reason in str(refusal.value)
    with pytest.raises(ReleaseError, match=path.replace(".", r"\.")):
        chart_values.point_chart_values_at("1.4.0", values, {"openhexa-jupyterhub": path})
    assert values.read_text() == VALUES_TEXT, "a refused edit writes nothing"


def test_a_chart_yaml_without_the_declaration_is_refused(tmp_path):
    chart = tmp_path / "chart.yaml"
    chart.write_text("name: jupyterhub\nversion: 4.4.0\n")
    with pytest.raises(ReleaseError, match="no `images:`"):
        chart_values.declared_places(chart)
