"""`make bench`: what a release costs, how fast notebooks start, how many people one hub holds.

Each part measures and writes figures; none of them fails on a target. ``python -m bench --help``
lists the parts and settings; ``bench/report.py`` renders a results file as Markdown.
"""
