"""`make bench`'s own arithmetic and reports, without running a hub: what it writes must be right."""

import xml.etree.ElementTree as ET

import pytest

from bench import load, report, run
from bench.commands import phases_of, run_timed, stand_in
from bench.stats import percentile, summary


def test_percentiles_interpolate_and_summaries_round_to_the_millisecond():
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile(range(101), 95) == 95
    assert summary([0.0011, 0.0029, 1.0], (50,)) == {"n": 3, "min": 0.001, "p50": 0.003, "max": 1.0, "mean": 0.335}
    assert summary([]) == {"n": 0}


def test_a_phase_lasts_from_its_marker_to_the_next_one_or_the_end():
    assert phases_of([(0.0, "build"), (2.5, "test"), (4.0, "push")], 10.0) == [
        ("build", 0.0, 2.5),
        ("test", 2.5, 1.5),
        ("push", 4.0, 6.0),
    ]
    assert phases_of([], 10.0) == []


def test_a_timed_command_reads_the_bold_markers_and_keeps_its_output(tmp_path):
    timed = run_timed(stand_in("building", "testing", pause=0.05), tmp_path / "log.txt", cwd=tmp_path)
    assert timed.status == 0
    assert [name for name, _, _ in timed.phases] == ["building", "testing"]
    assert "==> testing" in (tmp_path / "log.txt").read_text()
    assert "tail" not in timed.to_json()


def test_unknown_parts_are_refused_with_the_known_ones(capsys):
    with pytest.raises(SystemExit):
        run.parse_args(["--parts", "user,speed"])
    assert "unknown part(s) speed: use build, release, user, auth, load" in capsys.readouterr().err


def test_a_broken_part_is_recorded_and_the_next_still_runs(tmp_path, monkeypatch):
    def broken():
        raise RuntimeError("the hub did not start")

    monkeypatch.setattr(run, "part_runners", lambda *_: {"auth": broken, "load": lambda: {"users": 1}})
    args = run.parse_args(["--parts", "auth,load"])
    (tmp_path / "logs").mkdir()  # as main() makes it
    results = run.run_parts(args, tmp_path / "work", tmp_path / "logs")
    assert results["auth"]["error"] == "RuntimeError: the hub did not start"
    assert "the hub did not start" in (tmp_path / "logs" / "auth-error.txt").read_text()
    assert results["load"]["users"] == 1


def load_part() -> dict:
    journeys = [load.Journey(f"p{i}@openhexa.test", {"logged_in": 0.1, "ready": 2.0 + i, "first_result": 3.0 + i})
                for i in range(3)]  # fmt: skip
    journeys.append(load.Journey("late@openhexa.test", {"logged_in": 0.2}, "ready", "ready: the run's deadline passed"))
    part = load.report(journeys, wall=9.5)
    part.update(deadline=60, usage={"hub": {"cpu_percent_of_one_core": 4.2, "vmhwm_mb": 130.0}, "proxy": {}})
    return part


def test_the_load_report_counts_failures_with_their_reason():
    part = load_part()
    assert part["failure_count"] == 1
    assert part["failures"] == {"ready: the run's deadline passed": 1}
    assert part["time_to_ready"]["p50"] == 3.0
    assert part["time_to_ready"]["n"] == 3


def test_the_markdown_shows_each_part_and_says_which_did_not_finish():
    results = {
        "meta": {"date": "2026-11-26T00:00:00+00:00", "commit": "0123456789abcdef", "dirty": True,
                 "host": {"cores": 2, "memory_gib": 24.0}, "params": {"users": 4}},
        "parts": {"load": load_part(), "auth": {"error": "RuntimeError: the hub did not start"}},
    }  # fmt: skip
    text = report.render(results, chart="latest-load.png")
    assert "commit `0123456789ab` (work tree with uncommitted changes)" in text
    assert "## Load: 4 people at once" in text
    assert "1 x ready: the run's deadline passed" in text
    assert "## auth: did not finish" in text
    assert "latest-load.png" in text


@pytest.mark.parametrize(("seconds", "blamed"), [(95.8, True), (1.4, False)])
def test_the_rebuild_between_releases_blames_buildkit_only_when_it_was_slow(seconds, blamed):
    run_ = {"ok": True, "phases": {"gate": 500.0}, "setup": {"seconds": 1.0}, "make_release_seconds": 600.0}
    part = {"cold": run_, "warm": run_, "rebuild_after_cold": {"seconds": seconds}}
    text = "\n".join(report.release_lines(part))
    assert f"a plain `make build` took {seconds} s" in text
    assert ("moby/buildkit#4437" in text) is blamed


def test_the_load_chart_is_an_svg_with_every_finished_journey():
    svg = ET.fromstring(report.load_chart_svg(load_part()))
    assert svg.tag.endswith("svg")
    assert "failures: 1" in "".join(svg.itertext())
