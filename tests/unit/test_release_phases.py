"""release/phases.py: the phases file `bench/` reads."""

import itertools
import json

import pytest

from release.phases import Phases, read


def test_each_phase_is_recorded_with_its_times_and_outcome(tmp_path, capsys):
    path = tmp_path / "phases.json"
    ticks = itertools.count(0, 2.5)
    phases = Phases(path, clock=lambda: next(ticks), stamp=lambda: "2026-11-26T12:00:00.000+00:00")
    assert read(path) == {"started": "2026-11-26T12:00:00.000+00:00", "outcome": "running", "phases": []}
    with phases.phase("build", "build", "building the images"):
        pass
    with pytest.raises(RuntimeError), phases.phase("tier", "test-unit", "tier test-unit"):
        raise RuntimeError("a test failed")
    phases.finish("refused")
    record = read(path)
    assert record["outcome"] == "refused"
    assert record["phases"] == [
        {"name": "build", "kind": "build", "start": "2026-11-26T12:00:00.000+00:00",
         "end": "2026-11-26T12:00:00.000+00:00", "seconds": 2.5, "outcome": "passed"},
        {"name": "test-unit", "kind": "tier", "start": "2026-11-26T12:00:00.000+00:00",
         "end": "2026-11-26T12:00:00.000+00:00", "seconds": 2.5, "outcome": "failed"},
    ]  # fmt: skip
    assert "==> building the images" in capsys.readouterr().out, "people still see each phase begin"


def test_an_unknown_kind_or_an_incomplete_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown phase kind 'tests'"), Phases(None).phase("tests", "x"):
        pass
    path = tmp_path / "phases.json"
    path.write_text(json.dumps({"phases": [{"name": "build", "kind": "build", "seconds": 1}]}))
    with pytest.raises(ValueError, match="phase 'build' lacks end, outcome, start"):
        read(path)
