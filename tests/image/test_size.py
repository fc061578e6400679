"""How big the image is, and how much the OpenHexa layer adds to its base: reported, not judged."""

import json

from harness import ROOT


def test_report_the_image_size_and_the_openhexa_layer(docker_client, notebook_image):
    base_name = notebook_image.labels.get("org.openhexa.base")
    assert base_name, "the image does not record its base (label org.openhexa.base)"
    base = docker_client.images.get(base_name)
    report = {
        "image": notebook_image.tags[0],
        "base": base_name,
        "image_mb": round(notebook_image.attrs["Size"] / 1e6),
        "base_mb": round(base.attrs["Size"] / 1e6),
        "openhexa_layer_mb": round((notebook_image.attrs["Size"] - base.attrs["Size"]) / 1e6),
    }
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "image-size.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nimage size: {report}")
    assert report["openhexa_layer_mb"] > 0
