"""Grype's configuration for the release's vulnerability gate, from security/allowlist.yaml.

    python scripts/grype_config.py [ALLOWLIST] [OUTPUT]   (default: security/allowlist.yaml .grype.yaml)

Writes grype's ignore rules for each allow-list entry that has not expired, and says which expired
(they count again). Refuses an entry without a vulnerability id, a reason, or an expiry date.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"vulnerability", "package", "reason", "expires"}


class BadEntry(ValueError):
    """An allow-list entry that does not say what, why and until when."""


def check(entry: dict, index: int) -> dt.date:
    """The entry's expiry date; BadEntry when it lacks what it must say."""
    if not isinstance(entry, dict) or set(entry) - KEYS:
        raise BadEntry(f"entry {index}: only {', '.join(sorted(KEYS))} are allowed")
    for key in ("vulnerability", "reason"):
        if not str(entry.get(key) or "").strip():
            raise BadEntry(f"entry {index}: no {key}")
    expires = entry.get("expires")
    if not isinstance(expires, dt.date):
        raise BadEntry(f"entry {index} ({entry['vulnerability']}): expires must be a date (YYYY-MM-DD)")
    return expires


def ignore_rules(allowlist: dict, today: dt.date) -> tuple[list[dict], list[str]]:
    """Grype's ignore rules for the entries in force, and the ids of those that expired."""
    rules, expired = [], []
    for index, entry in enumerate(allowlist.get("entries") or []):
        if check(entry, index) < today:
            expired.append(entry["vulnerability"])
            continue
        rule = {"vulnerability": entry["vulnerability"]}
        if entry.get("package"):
            rule["package"] = {"name": entry["package"]}
        rules.append(rule)
    return rules, expired


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else ROOT / "security" / "allowlist.yaml"
    target = Path(argv[1]) if len(argv) > 1 else ROOT / ".grype.yaml"
    try:
        rules, expired = ignore_rules(yaml.safe_load(source.read_text()) or {}, dt.date.today())
    except BadEntry as error:
        print(f"{source}: {error}", file=sys.stderr)
        return 1
    for vulnerability in expired:
        print(f"{source}: the entry for {vulnerability} has expired; the gate counts it again")
    target.write_text(yaml.safe_dump({"ignore": rules}, sort_keys=False))
    print(f"wrote {target}: {len(rules)} allowed vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
