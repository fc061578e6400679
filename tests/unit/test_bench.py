"""`make bench`'s own arithmetic and reports, without running a hub: what it writes must be right."""

import xml.etree.ElementTree as ET

import pytest

from bench import load, report, run, stack
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
    known = "build, release, start, user, auth, load, polls, capacity"
    assert f"unknown part(s) speed: use {known}" in capsys.readouterr().err


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
    results["meta"].update(load_at_start=[3.5, 2.0, 1.25], load_at_end=[4.0, 3.0, 2.0])
    text = report.render(results, chart="latest-load.png")
    assert "commit `0123456789ab` (work tree with uncommitted changes)" in text
    assert "Load average at the start 3.5 / 2 / 1.25, at the end 4 / 3 / 2." in text
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


def launch(at: float, email: str, status: int, place: int | None = None) -> dict:
    """The hub's answer to one of the App's launches, as the mock App notes it."""
    body = {"status": "waiting", "place": place} if place else None
    return {"at": at, "method": "POST", "path": f"/hub/api/users/{email}/servers/bench-workspace", "status": status,
            "retry_after": "1" if place else None, "body": body}  # fmt: skip


def test_the_spawn_limit_report_says_who_waited_in_line_how_long_and_what_they_saw():
    journeys = [
        load.Journey("first@openhexa.test", {"ready": 5.0}, launches=1),
        load.Journey("Second@openhexa.test", {"ready": 30.0}, launches=12),
        load.Journey("third@openhexa.test", {"ready": 40.0}, launches=20),
        load.Journey("refused@openhexa.test", {}, "ready", "ready: JourneyError: the App showed an error: 429 ...", 1),
    ]
    answers = [
        launch(100.0, "first@openhexa.test", 202),
        {"at": 100.0, "method": "GET", "path": "/hub/api/users/first@openhexa.test", "status": 200, "body": None},
        launch(100.1, "Second@openhexa.test", 202, place=1),
        launch(111.1, "Second@openhexa.test", 202, place=1),
        launch(112.2, "Second@openhexa.test", 201),
        launch(100.2, "third@openhexa.test", 202, place=2),
        launch(119.2, "third@openhexa.test", 202, place=1),
        launch(120.3, "third@openhexa.test", 202),
        launch(100.3, "refused@openhexa.test", 429),
    ]
    line = load.spawn_limit_report(journeys, answers, {"concurrentSpawnLimit": 1, "consecutiveFailureLimit": 5})
    assert line["people_beyond_limit"] == 2
    assert line["launch_answers"] == {"201": 1, "202": 2, "202 waiting": 4, "429": 1}
    assert (line["waiting_answers"], line["answers_429"], line["error_pages"]) == (4, 1, 1)
    assert line["largest_place"] == 2 and line["beyond_limit_failures"] == 0
    assert line["time_in_line"] == {"n": 2, "min": 11.0, "p50": 15.0, "p95": 18.6, "max": 19.0, "mean": 15.0}
    assert line["time_to_ready_beyond_limit"]["p50"] == 35.0
    assert line["time_to_ready_within_limit"] == {"n": 1, "min": 5.0, "p50": 5.0, "p95": 5.0, "max": 5.0, "mean": 5.0}
    assert line["launches_per_person"]["max"] == 20
    assert line["people_whose_spawn_started_again"] == 0


def test_a_failed_launch_carries_the_hubs_own_words_and_a_second_start_is_counted():
    failed = load.Journey("a@openhexa.test", {}, "ready", "ready: JourneyError: the App showed an error: 503 ...")
    fine = load.Journey("b@openhexa.test", {"ready": 9.0})
    refused = launch(2.0, "a@openhexa.test", 503)
    refused["body"] = {"status": 503, "message": "The OpenHexa App is unavailable, try again in a moment."}
    answers = [launch(1.0, "a@openhexa.test", 202), refused, launch(1.0, "b@openhexa.test", 202)]
    answers.append(launch(5.0, "b@openhexa.test", 202))  # b's first spawn failed; the App POSTed it again
    load.with_hub_reasons([failed, fine], answers)
    assert failed.failure.endswith("; the hub answered 503: The OpenHexa App is unavailable, try again in a moment.")
    for email in ("a@openhexa.test", "b@openhexa.test"):  # one reason, whoever it happened to
        reason = f"ready: the App showed an error: 503 Server Error for url: http://127.0.0.1:1/hub/api/users/{email}"
        assert load.reason_key(reason) == "ready: the App showed an error: 503 Server Error for url: <url>"
    assert fine.failure == ""
    limits = {"concurrentSpawnLimit": 64, "consecutiveFailureLimit": 5}
    line = load.spawn_limit_report([failed, fine], answers, limits)
    assert line["people_whose_spawn_started_again"] == 1
    assert "1 people's servers were started more than once" in "\n".join(report.spawn_limit_lines(line))


def test_the_markdown_says_what_people_beyond_the_spawn_limit_saw():
    part = load_part()
    part["spawn_limit"] = load.spawn_limit_report(
        [load.Journey("a@openhexa.test", {"ready": 9.0}, launches=4)],
        [launch(1.0, "a@openhexa.test", 202, place=3), launch(3.5, "a@openhexa.test", 202, place=1)],
        {"concurrentSpawnLimit": 64, "consecutiveFailureLimit": 5},
    )
    text = report.render({"meta": {}, "parts": {"load": part}})
    assert "the chart's `concurrentSpawnLimit` 64 and the chart's `consecutiveFailureLimit` 5." in text
    assert "**1 people were beyond the limit**" in text
    assert "the largest place 3" in text and "0 answers were JupyterHub's 429 and 0 people saw an error page" in text
    assert "| beyond the limit | 1 | 2.5 s | 2.5 s | 9 s | 9 s | 9 s |" in text
    assert "Spawn limit" not in report.render({"meta": {}, "parts": {"load": load_part()}})  # older results


def test_a_bench_spawn_limit_replaces_the_charts_and_the_report_says_so(monkeypatch):
    monkeypatch.setattr(load, "chart_limits", lambda: {"concurrentSpawnLimit": 64, "consecutiveFailureLimit": 5})
    assert load.limits_for_run({}) == {"concurrentSpawnLimit": 64, "consecutiveFailureLimit": 5}
    limits = load.limits_for_run({"BENCH_SPAWN_LIMIT": "4"})
    assert limits == {"concurrentSpawnLimit": 4, "consecutiveFailureLimit": 5, "chartConcurrentSpawnLimit": 64}
    assert stack.limit_args(limits)[0] == "--JupyterHub.concurrent_spawn_limit=4"
    line = load.spawn_limit_report([], [], limits)
    text = "\n".join(report.spawn_limit_lines(line))
    assert "`concurrentSpawnLimit` 4 (`BENCH_SPAWN_LIMIT`; the chart's is 64)" in text


def test_the_bench_hub_takes_the_charts_limits_from_the_values_or_the_charts_defaults(tmp_path):
    values = tmp_path / "values.yaml"
    values.write_text("hub:\n  concurrentSpawnLimit: 10\n")
    assert stack.chart_limits(values) == {"concurrentSpawnLimit": 10, "consecutiveFailureLimit": 5}
    assert stack.chart_limits(tmp_path / "absent.yaml") == {"concurrentSpawnLimit": 64, "consecutiveFailureLimit": 5}
    assert stack.limit_args({"concurrentSpawnLimit": 64, "consecutiveFailureLimit": 5}) == [
        "--JupyterHub.concurrent_spawn_limit=64",
        "--Spawner.consecutive_failure_limit=5",
    ]


def test_bench_people_may_all_open_the_bench_workspace(tmp_path):
    from mockapp.state import State

    state = State.load(stack.write_fixtures(tmp_path / "fixtures.yaml", stack.bench_people(3, "load")))
    assert [u.may_launch(stack.WORKSPACE) for u in state.users.values()] == [True] * 3
    assert state.workspaces[stack.WORKSPACE].env["WORKSPACE_BUCKET_NAME"]


def test_a_baseline_keeps_each_part_with_its_own_runs_meta_and_renders_it():
    from bench import baseline

    meta = {"date": "2026-11-26T00:00:00+00:00", "commit": "0123456789abcdef", "host": {"cores": 2}, "params": {}}
    older = {"meta": meta, "parts": {"load": load_part()}}
    newer = {"meta": {**meta, "commit": "fedcba9876543210"}, "parts": {"auth": {"error": "RuntimeError: no hub"}}}
    kept = baseline.keep(older, ["load"], {})
    assert kept["parts"]["load"]["run"]["commit"] == "0123456789abcdef"
    with pytest.raises(ValueError, match="no finished 'auth' part"):
        baseline.keep(newer, ["auth"], kept)
    text = report.render(kept)
    assert text.startswith("# Benchmark baselines")
    assert "deadline 60 s)\n\nMeasured 2026-11-26T00:00:00+00:00 on commit `0123456789ab`" in text


def test_a_run_writes_latest_to_the_results_and_the_dated_run_beside_its_logs(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "write", lambda results, folder, stem: [folder / f"{stem}.md"])
    run.write_results({"meta": {}, "parts": {}}, tmp_path / "results", tmp_path / "logs")
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["latest.json"]
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["results.json"]


def test_the_committed_results_are_the_latest_run_and_the_baselines_only():
    from harness import ROOT

    names = {path.name.split(".")[0].removesuffix("-load") for path in (ROOT / "bench" / "results").iterdir()}
    assert names == {"latest", "baseline"}, "older runs stay in artifacts/bench/, not in the tree"


def test_the_poll_cost_reads_a_processs_cpu_time_and_reports_medians():
    from bench import polls

    figures = polls.report([1.5, 1.0, 2.0], [3.0, 4.0, 2.5], users=100)
    assert figures["ours_median_ms"] == 1.5 and figures["plain_median_ms"] == 3.0
    assert figures["ours_over_plain"] == 0.5 and figures["users"] == 100
    assert polls.people(2) == ["person000@bench.openhexa.test", "person001@bench.openhexa.test"]
    lines = report.polls_lines({**figures, "polls_per_batch": 1000, "jupyterhub": "5.5.4"})
    assert "| ours | 1.5 ms | 1.5, 1.0, 2.0 |" in lines and "Ours/plain: 0.5." in lines


def test_start_figures_are_medians_and_ratios_to_the_second_image():
    from bench import start

    runs = {
        "ours": [{"cpu_s": 1.0, "wall_s": 2.0}, {"cpu_s": 3.0, "wall_s": 1.0}, {"cpu_s": 1.2, "wall_s": 1.5}],
        "base": [{"cpu_s": 2.4, "wall_s": 3.0}, {"cpu_s": 2.5, "wall_s": 3.0}, {"cpu_s": 2.6, "wall_s": 3.0}],
        "before": [{"cpu_s": 1.25, "wall_s": 1.5}],
    }
    result = start.summarise(runs, 3)
    assert result["images"]["ours"]["cpu_s_median"] == 1.2 and result["images"]["ours"]["wall_s_median"] == 1.5
    assert result["ratio_to_base"] == {"ours": {"cpu": 0.48, "wall": 0.5}, "before": {"cpu": 0.5, "wall": 0.5}}
    assert "ratio_to_base" not in start.summarise({"ours": runs["ours"]}, 3)


def test_start_cpu_is_read_from_the_containers_cgroup_or_the_run_says_it_cannot(monkeypatch, tmp_path):
    from bench import start

    v2 = tmp_path / "docker" / "abc" / "cpu.stat"
    v2.parent.mkdir(parents=True)
    v2.write_text("usage_usec 1234567\nuser_usec 1000000\n")
    real_path = start.Path
    monkeypatch.setattr(start, "Path", lambda p: real_path(str(p).replace("/sys/fs/cgroup", str(tmp_path))))
    assert start.cpu_usec("abc") == 1234567
    with pytest.raises(RuntimeError, match=r"no cgroup figures \(cpu.stat or cpuacct.usage\) found for def"):
        start.cpu_usec("def")
    v1 = tmp_path / "cpuacct" / "docker" / "def" / "cpuacct.usage"
    v1.parent.mkdir(parents=True)
    v1.write_text("2000000\n")  # nanoseconds
    assert start.cpu_usec("def") == 2000
    memory = tmp_path / "memory" / "docker" / "def" / "memory.stat"
    memory.parent.mkdir(parents=True)
    memory.write_text("cache 999\nrss 1\ntotal_rss 104857600\n")
    assert start.memory_mb("def") == 100.0


def test_a_processs_cpu_time_is_read_from_proc():
    import os
    import time

    before, start = stack.cpu_seconds(os.getpid()), time.process_time()
    while time.process_time() - start < 0.1:
        pass
    assert 0.05 < stack.cpu_seconds(os.getpid()) - before < 5


def capacity_run(hub: str, people: int, failures: dict) -> dict:
    from bench import capacity

    journeys = [load.Journey(f"p{i}@openhexa.test", times={"logged_in": 1.0, "ready": 31.0}) for i in range(3)]
    journeys.append(load.Journey("late@openhexa.test", times={"logged_in": 2.0}, step="ready", failure="ready: x"))
    usage = {"cpu_seconds": 6.2, "cpu_percent_of_one_core": 15.0, "vmhwm_mb": 140.0}
    probe = {"n": 10, "p50": 0.01, "p95": 0.2, "max": 0.5, "failures": 0}
    limits = {"concurrentSpawnLimit": 64, "consecutiveFailureLimit": 5}
    answers = [{"method": "POST", "path": "/api/users/late@openhexa.test/servers/w", "status": 429, "at": 1.0}]
    part = capacity.report(journeys, 40.0, usage, {"cpu_percent_of_one_core": 3.0}, probe, answers, limits)
    return {**part, "hub": hub, "people": people, "load_before": [1.0], "load_after": [2.0], "failures": failures}


def test_the_hubs_capacity_counts_the_served_and_its_cpu_per_person_waiting():
    part = capacity_run("plain", 4, {})
    # 3 people waited 30 s each, the fourth from 2 s to the run's end at 40 s: 128 person-seconds.
    assert part["person_seconds_waiting"] == 128.0
    assert part["hub_cpu_percent_per_waiting_person"] == round(100 * 6.2 / 128, 3)
    assert (part["served"], part["spawn_limit"]["answers_429"], part["time_to_ready"]["p50"]) == (3, 1, 31.0)


def test_the_capacity_table_puts_each_hub_beside_the_other_with_its_failures():
    runs = [capacity_run("ours", 4, {}), capacity_run("plain", 4, {"ready: the App showed an error": 1})]
    text = "\n".join(report.capacity_lines({"jupyterhub": "5.5.4", "start_seconds": 30.0, "runs": runs}))
    assert "## Hub capacity (stand-in servers starting in 30 s, JupyterHub 5.5.4)" in text
    assert "| 4 | ours | 3 | 1 | 31 s |" in text and "| 4 | plain | 3 | 1 | 31 s |" in text
    assert "Failures, plain at 4: 1 x ready: the App showed an error." in text
    assert "Failures, ours" not in text


def test_the_start_table_gives_each_image_its_ratio_to_the_base():
    from bench import start

    ours = {"cpu_s": 1.0, "wall_s": 2.0, "idle_mb": 80.0, "first_result_s": 1.5, "kernel_mb": 35.0}
    runs = {"ours": [ours], "base": [{"cpu_s": 2.0, "wall_s": 2.5}]}
    text = "\n".join(report.start_lines(start.summarise(runs, 1)))
    assert "| `ours` | 1 CPU-s | 2 s | 0.5, 0.8 | 80 MB | 1.5 s | 35 MB |" in text
    assert "| `base` | 2 CPU-s | 2.5 s | 1 (the base) | - | - | - |" in text
    together = {**start.summarise(runs, 1), "at_once": {"ours": {"count": 4, "cpu_s_median": 1.5, "last_wall_s": 6.0}}}
    text = "\n".join(report.start_lines(together))
    assert "Started at the same instant: `ours`: the last of 4 answered after 6 s, 1.5 CPU-s a start (median)." in text


def test_a_stand_in_server_answers_after_its_start_and_is_gone_once_stopped():
    import asyncio
    import time

    from bench.stand_in import StandInSpawner

    spawner = StandInSpawner(start_seconds=0.2, answerer_url="http://127.0.0.1:9")

    async def lifecycle():
        before = await spawner.poll()
        started = time.monotonic()
        url = await spawner.start()
        took = time.monotonic() - started
        running = await spawner.poll()
        await spawner.stop()
        return before, url, running, await spawner.poll(), 0.1 <= took < 0.5

    assert asyncio.run(lifecycle()) == (0, "http://127.0.0.1:9", None, 0, True)


def test_the_journey_beside_the_base_gives_each_phases_median_over_the_bases():
    from bench import user

    ours = user.figures("ours", 2, [{"login": 0.2, "spawn_to_ready": 1.0}, {"login": 0.4, "spawn_to_ready": 1.2}], [])
    base = user.figures("base", 2, [{"login": 0.3, "spawn_to_ready": 2.2}], ["TimeoutError: no lab"])
    part = {**ours, "peer": base, "over_peer": user.ratios(ours, base)}
    assert part["over_peer"] == {"login": 1.0, "spawn_to_ready": 0.5}
    text = "\n".join(report.user_lines(part))
    assert "beside the base, 1 of 2, taking turns" in text and "| spawn to ready | 1.1 s |" in text
    assert "| 2.2 s | 0.5 |" in text and "The base's failures: TimeoutError: no lab" in text


def test_the_load_part_is_set_beside_the_physical_bound_of_its_starts(monkeypatch):
    monkeypatch.setattr(run.os, "cpu_count", lambda: 2)
    results = {"load": load_part(), "start": {"images": {"ours": {"cpu_s_median": 1.5}, "base": {"cpu_s_median": 3}}}}
    run.with_physical_bound(results)
    assert results["load"]["physical_bound_s"] == 3.0  # 4 people x 1.5 CPU-s / 2 cores
    assert "The physical bound (people x the start part's CPU-seconds per start / cores): 3 s" in "\n".join(
        report.load_lines(results["load"], None)
    )
    alone = {"load": load_part()}
    run.with_physical_bound(alone)
    assert "physical_bound_s" not in alone["load"]


def test_a_parts_logs_keep_their_folders_so_two_stacks_hub_logs_both_survive(tmp_path):
    work, kept = tmp_path / "work", tmp_path / "kept"
    for folder, text in (("ours-400/hub", "ours"), ("plain-400/hub", "plain"), ("release/clone", "no")):
        (work / folder).mkdir(parents=True)
        (work / folder / "hub.log").write_text(text)
    run.keep_logs(work, kept)
    assert (kept / "ours-400/hub/hub.log").read_text() == "ours"
    assert (kept / "plain-400/hub/hub.log").read_text() == "plain"
    assert not (kept / "release").exists()
