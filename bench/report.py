"""Render a results file: Markdown tables, and the load part's time-to-ready chart (SVG, then PNG).

``python -m bench.report [bench/results/latest.json]`` writes ``latest.md`` (or ``<stem>.md``)
beside it. The chart is drawn as SVG and photographed by Debian's headless Chromium: no plotting
library is needed.
"""

from __future__ import annotations

import json
import sys
from html import escape
from pathlib import Path


def fmt(value, unit: str = "s") -> str:
    return "-" if value is None else f"{value:g} {unit}".strip()


def meta_lines(meta: dict) -> list[str]:
    params = ", ".join(f"{k}={v}" for k, v in meta.get("params", {}).items())
    dry = (
        "**Dry run**: the build and release commands were stand-ins; their times mean nothing. "
        if meta.get("dry_run")
        else ""
    )
    return [
        dry
        + f"Measured {meta.get('date')} on commit `{meta.get('commit', '')[:12]}`"
        + (" (work tree with uncommitted changes)" if meta.get("dirty") else "")
        + f", {meta.get('host', {}).get('cores')} cores, {meta.get('host', {}).get('memory_gib')} GiB; {params}."
        + load_words(meta),
        "",
    ]


def load_words(meta: dict) -> str:
    """The machine's load average (1, 5 and 15 minutes) as the run started and ended, when recorded."""
    if "load_at_start" not in meta:
        return ""
    end = " / ".join(f"{v:g}" for v in meta.get("load_at_end", []))
    return f" Load average at the start {' / '.join(f'{v:g}' for v in meta['load_at_start'])}" + (
        f", at the end {end}." if end else "."
    )


def table(title: str, header: list[str], rows: list[list]) -> list[str]:
    """A section: its heading, then a Markdown table (an empty cell is drawn ``| |``)."""

    def row(cells: list) -> str:
        return "|" + "|".join(f" {cell} " if str(cell) else " " for cell in cells) + "|"

    return [f"## {title}", "", row(header), "| --- " * len(header) + "|", *map(row, rows)]


def build_lines(part: dict) -> list[str]:
    rows = []
    for key, kinds in part["builds"].items():
        size = part.get("sizes", {}).get(key, {})
        rows.append(
            [key, fmt(kinds["cold"]["seconds"]), fmt(kinds.get("after_cold", {}).get("seconds")),
             fmt(kinds["warm"]["seconds"])]
            + [fmt(size.get(k), "MB") for k in ("size_mb", "base_size_mb", "openhexa_layer_mb")]
        )  # fmt: skip
    total = part["total"]
    rows.append(["all", fmt(total["cold"]), fmt(total.get("after_cold")), fmt(total["warm"]), "", "", ""])
    header = ["image", "cold", "first after cold", "warm", "size", "base", "OpenHexa layer"]
    return [*table("Build", header, rows), ""]


def release_lines(part: dict) -> list[str]:
    keys = ["build", "lint", "test-unit", "test-hub", "test-image", "test-chart", "test-e2e", "gate", "push", "sbom",
            "verify"]  # fmt: skip
    rows = [
        [kind + ("" if run["ok"] else " (failed)"), *(fmt(run["phases"].get(k)) for k in keys),
         fmt(run["setup"]["seconds"]), fmt(run["make_release_seconds"])]
        for kind, run in ((kind, part.get(kind)) for kind in ("cold", "warm"))
        if run
    ]  # fmt: skip
    lines = table("Release gate", ["", *keys, "setup", "whole `make release`"], rows)
    rebuild = part.get("rebuild_after_cold")
    if rebuild:
        seconds = rebuild["seconds"]
        why = " (BuildKit ran again what the cold build copied, moby/buildkit#4437)" if seconds > 10 else ""
        lines += ["", f"Between the two, a plain `make build` took {fmt(seconds)}{why}."]
    return [*lines, ""]


def user_lines(part: dict) -> list[str]:
    peer = part.get("peer")
    rows = [
        [phase.replace("_", " "), *(fmt(stats.get(k)) for k in ("p50", "p95", "min", "max"))]
        + ([fmt(peer["phases"][phase].get("p50")), part["over_peer"].get(phase, "-")] if peer else [])
        for phase, stats in part["phases"].items()
    ]
    title = f"One person ({len(part['runs'])} of {part['repeat']} repetitions succeeded"
    if peer:
        title += f"; beside the base, {len(peer['runs'])} of {peer['repeat']}, taking turns"
    header = ["phase", "median", "p95", "min", "max"] + (["base's median", "ours/base"] if peer else [])
    lines = table(title + ")", header, rows)
    if peer:
        lines += ["", f"The base: `{peer['image']}`."]
    for who, figures in (("Failures", part), ("The base's failures", peer or {})):
        if figures.get("failures"):
            lines += ["", f"{who}: " + "; ".join(figures["failures"][:5])]
    return [*lines, ""]


def auth_lines(part: dict) -> list[str]:
    rows = [
        [level["clients"], level["logins_per_second"], fmt(level["latency"].get("p50")),
         fmt(level["latency"].get("p99")), level["failure_count"]]
        for level in part["levels"]
    ]  # fmt: skip
    lines = table(
        f"Authenticator ({part['logins_per_level']} hub logins per level)",
        ["concurrent clients", "logins/s", "median", "p99", "failed"],
        rows,
    )
    hub = part.get("usage", {}).get("hub", {})
    lines += [
        "",
        f"Hub: {fmt(hub.get('cpu_percent_of_one_core'), '%')} of one core, peak {fmt(hub.get('vmhwm_mb'), 'MB')}.",
    ]
    return [*lines, ""]


def polls_lines(part: dict) -> list[str]:
    lines = table(
        f"The App's polls ({part['users']} people, {part['polls_per_batch']} polls a batch, JupyterHub "
        f"{part['jupyterhub']})",
        ["hub", "hub CPU per poll, median", "batches"],
        [
            ["ours", fmt(part["ours_median_ms"], "ms"), ", ".join(map(str, part["ours_ms_per_poll"]))],
            ["plain JupyterHub", fmt(part["plain_median_ms"], "ms"), ", ".join(map(str, part["plain_ms_per_poll"]))],
        ],
    )
    return [*lines, "", f"Ours/plain: {part['ours_over_plain']}.", ""]


def start_lines(part: dict) -> list[str]:
    images = list(part["images"])
    rows = [
        [f"`{image}`", fmt(figures["cpu_s_median"], "CPU-s"), fmt(figures["wall_s_median"]),
         ", ".join(f"{ratio:g}" for ratio in part.get("ratio_to_base", {}).get(image, {}).values()) or "1 (the base)",
         fmt(figures.get("idle_mb_median"), "MB"), fmt(figures.get("first_result_s_median")),
         fmt(figures.get("kernel_mb_median"), "MB")]
        for image, figures in part["images"].items()
    ]  # fmt: skip
    lines = table(
        f"A server's start, container start to `/api` (medians of {part['runs']}, images taking turns)",
        ["image", "CPU", "wall", "CPU, wall over the base", "idle memory", "first kernel's result", "its memory"],
        rows,
    )
    together = [
        f"`{image}`: the last of {f['count']} answered after {fmt(f['last_wall_s'])}, "
        f"{fmt(f['cpu_s_median'], 'CPU-s')} a start (median)"
        for image, f in part.get("at_once", {}).items()
        if f
    ]
    if together:
        lines += ["", "Started at the same instant: " + "; ".join(together) + "."]
    return [*lines, "", f"The base: `{images[1]}`." if len(images) > 1 else "", ""]


def capacity_lines(part: dict) -> list[str]:
    rows = [
        [run["people"], run["hub"], run["served"], run["failure_count"], fmt(run["time_to_ready"].get("p50")),
         fmt(run["time_to_ready"].get("p95")), fmt(run["hub_cpu_percent_of_one_core"], "%"),
         fmt(run["hub_cpu_percent_per_waiting_person"], "%"), fmt(run["probe"].get("p50")),
         fmt(run["probe"].get("p95")), fmt(run["probe"].get("max")), fmt(run["hub_rss_peak_mb"], "MB"),
         " / ".join(f"{v:g}" for v in run["load_before"][:1] + run["load_after"][:1])]
        for run in part["runs"]
    ]  # fmt: skip
    lines = table(
        f"Hub capacity (stand-in servers starting in {part['start_seconds']:g} s, JupyterHub {part['jupyterhub']})",
        ["people", "hub", "served", "failed", "ready p50", "p95", "hub CPU", "per waiting person", "probe p50",
         "p95", "max", "hub peak", "load before / after"],
        rows,
    )  # fmt: skip
    failures = [
        f"{run['hub']} at {run['people']}: " + "; ".join(f"{n} x {reason}" for reason, n in run["failures"].items())
        for run in part["runs"]
        if run["failures"]
    ]
    return [*lines, "", *(f"Failures, {line}." for line in failures), ""]


def load_lines(part: dict, chart: str | None) -> list[str]:
    rows = [
        [key.removeprefix("time_to_").replace("_", " "), *(fmt(part[key].get(k)) for k in ("p50", "p95", "max"))]
        for key in ("time_to_logged_in", "time_to_ready", "time_to_first_result", "time_to_stopped")
    ]
    lines = table(
        f"Load: {part['users']} people at once ({part['seconds']} s, deadline {part['deadline']:g} s)",
        ["time since the journey started", "p50", "p95", "max"],
        rows,
    )
    hub, proxy = part["usage"].get("hub", {}), part["usage"].get("proxy", {})
    lines += [
        "",
        f"Failures: {part['failure_count']}"
        + (" (" + "; ".join(f"{n} x {r}" for r, n in part["failures"].items()) + ")" if part["failures"] else "")
        + ".",
        f"Hub (jupyterhub process): {fmt(hub.get('cpu_percent_of_one_core'), '%')} of one core over the run, "
        f"peak RSS {fmt(hub.get('vmhwm_mb'), 'MB')}. Proxy (node): {fmt(proxy.get('cpu_percent_of_one_core'), '%')}, "
        f"peak {fmt(proxy.get('vmhwm_mb'), 'MB')}.",
    ]
    if part.get("physical_bound_s"):
        lines.append(
            f"The physical bound (people x the start part's CPU-seconds per start / cores): "
            f"{fmt(part['physical_bound_s'])}; the last server was ready after {fmt(part['time_to_ready'].get('max'))}."
        )
    lines += spawn_limit_lines(part.get("spawn_limit"))
    if chart:
        lines += ["", f"![time to ready under load]({chart})"]
    return [*lines, ""]


def started_again(line: dict) -> str:
    count = line.get("people_whose_spawn_started_again")
    if not count:
        return ""
    return (
        f" {count} people's servers were started more than once (a spawn failed after the hub took it; "
        "the App asked again)."
    )


def limit_words(line: dict) -> str:
    chart = line.get("chart_concurrent_spawn_limit", line["concurrent_spawn_limit"])
    if chart == line["concurrent_spawn_limit"]:
        return f"the chart's `concurrentSpawnLimit` {chart}"
    return f"`concurrentSpawnLimit` {line['concurrent_spawn_limit']} (`BENCH_SPAWN_LIMIT`; the chart's is {chart})"


def spawn_limit_lines(line: dict | None) -> list[str]:
    """What people beyond the chart's concurrent spawn limit saw (results without it: nothing)."""
    if not line:
        return []
    answers = ", ".join(f"{n} x {status}" for status, n in line["launch_answers"].items()) or "none"
    beyond, within = line["time_to_ready_beyond_limit"], line["time_to_ready_within_limit"]
    return [
        "",
        f"Spawn limit: the hub ran with {limit_words(line)} and the chart's "
        f"`consecutiveFailureLimit` {line['consecutive_failure_limit']}. **{line['people_beyond_limit']} people were "
        f"beyond the limit**: the hub answered the App's launch with a place in its line (the largest place "
        f"{line['largest_place']}); {line['answers_429']} answers were JupyterHub's 429 and "
        f"{line['error_pages']} people saw an error page; {line['beyond_limit_failures']} of those beyond the "
        "limit did not finish.",
        f"The hub's answers to the App's launches: {answers}.{started_again(line)}",
        "",
        *table(
            "",
            ["people", "ready", "time in line p50", "p95", "ready p50", "p95", "max"],
            [
                ["beyond the limit", beyond.get("n", 0), fmt(line["time_in_line"].get("p50")),
                 fmt(line["time_in_line"].get("p95")), fmt(beyond.get("p50")), fmt(beyond.get("p95")),
                 fmt(beyond.get("max"))],
                ["within it", within.get("n", 0), "", "", fmt(within.get("p50")), fmt(within.get("p95")),
                 fmt(within.get("max"))],
            ],
        )[2:],
        "",
        f"`launchNotebookServer` calls per person (the App's page asks every second): p50 "
        f"{line['launches_per_person'].get('p50', '-')}, p95 {line['launches_per_person'].get('p95', '-')}.",
    ]  # fmt: skip


def render(results: dict, chart: str | None = None) -> str:
    parts = results.get("parts", {})
    if results.get("meta", {}).get("baseline"):  # bench/baseline.py: each part from a run of its own
        lines = ["# Benchmark baselines", "", "Each part as measured in the run BENCHMARKS.md takes as reference.", ""]
    else:
        lines = ["# Benchmark results", "", *meta_lines(results.get("meta", {}))]
    renderers = {
        "build": build_lines,
        "release": release_lines,
        "start": start_lines,
        "user": user_lines,
        "auth": auth_lines,
        "load": lambda part: load_lines(part, chart),
        "polls": polls_lines,
        "capacity": capacity_lines,
    }
    for name, renderer in renderers.items():
        if isinstance(parts.get(name), dict) and "error" not in parts[name]:
            section = renderer(parts[name])
            if "run" in parts[name]:
                section[2:2] = meta_lines(parts[name]["run"])
            lines += section
    for name, part in parts.items():
        if isinstance(part, dict) and "error" in part:
            lines += [f"## {name}: did not finish", "", f"`{part['error']}`", ""]
    return "\n".join(lines).rstrip() + "\n"


# -- the chart -----------------------------------------------------------------------


def load_chart_svg(part: dict, width: int = 900, height: int = 480) -> str:
    """Each person's time to ready and to first result, sorted: the distribution as a quantile plot."""
    series = {
        "ready": sorted(j["ready"] for j in part["journeys"] if "ready" in j),
        "first result": sorted(j["first_result"] for j in part["journeys"] if "first_result" in j),
    }
    colours = {"ready": "#1f77b4", "first result": "#d62728"}
    left, right, top, bottom = 70, 20, 50, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = max([v for values in series.values() for v in values] + [1.0]) * 1.05
    count = max(len(v) for v in series.values()) or 1

    def x(i: int, n: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / top_value

    title = (
        f"{part['users']} people at once: seconds from the start of each journey, "
        f"people sorted by time (failures: {part['failure_count']})"
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="13"><rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="28" font-size="16">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>',
    ]
    for step in range(6):
        value = top_value * step / 5
        out.append(f'<text x="{left - 8}" y="{y(value) + 4}" text-anchor="end">{value:.0f} s</text>')
        out.append(f'<line x1="{left}" y1="{y(value)}" x2="{left + plot_w}" y2="{y(value)}" stroke="#ddd"/>')
    for q in (0, 50, 95, 100):
        out.append(f'<text x="{left + plot_w * q / 100}" y="{top + plot_h + 20}" text-anchor="middle">p{q}</text>')
    out.append(
        f'<text x="{left + plot_w / 2}" y="{height - 12}" text-anchor="middle">'
        f"people, fastest to slowest ({count})</text>"
    )
    for index, (name, values) in enumerate(series.items()):
        points = " ".join(f"{x(i, len(values)):.1f},{y(v):.1f}" for i, v in enumerate(values))
        colour = colours[name]
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, v in enumerate(values):
            out.append(f'<circle cx="{x(i, len(values)):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>')
        out.append(f'<rect x="{left + 20}" y="{top + 10 + 20 * index}" width="14" height="4" fill="{colour}"/>')
        out.append(f'<text x="{left + 40}" y="{top + 16 + 20 * index}">time to {name}</text>')
    out.append("</svg>")
    return "\n".join(out)


def svg_to_png(svg: str, svg_path: Path, png_path: Path) -> None:
    """Photograph ``svg`` with headless Chromium (through selenium) into ``png_path``."""
    from harness.browser import new_browser

    svg_path.write_text(svg)
    browser = new_browser()
    try:
        browser.set_window_size(920, 600)
        browser.get(svg_path.resolve().as_uri())
        browser.find_element("tag name", "svg").screenshot(str(png_path))
    finally:
        browser.quit()


def write(results: dict, folder: Path, stem: str) -> list[Path]:
    """``<stem>.md`` and, with a load part, ``<stem>-load.svg``/``.png``; return the paths written."""
    written = []
    chart = None
    load = results.get("parts", {}).get("load")
    if isinstance(load, dict) and load.get("journeys"):
        svg, png = folder / f"{stem}-load.svg", folder / f"{stem}-load.png"
        svg_to_png(load_chart_svg(load), svg, png)
        chart = png.name
        written += [svg, png]
    markdown = folder / f"{stem}.md"
    markdown.write_text(render(results, chart))
    return [markdown, *written]


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    path = Path(args[0] if args else Path(__file__).parent / "results" / "latest.json")
    for written in write(json.loads(path.read_text()), path.parent, path.stem):
        print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
