"""Traitlets whose default comes from an environment variable.

The value is read when the configurable is created, not when this module is
imported, so a test or a deployment that sets the variable late still wins.
Configuration (``c.OpenHexaAuthenticator.x = ...``) overrides the variable.
"""

from __future__ import annotations

import math
import os
from collections import Counter

from traitlets import Bool, Float, Integer, List, Undefined, Unicode


class _FromEnv:
    def __init__(self, env: str, fallback, **kwargs):
        super().__init__(**kwargs)
        self.env = env
        self.fallback = fallback
        self.default_value = Undefined
        self.metadata["env"] = env

    def make_dynamic_default(self):
        raw = os.environ.get(self.env, "").strip()
        if not raw:
            return self.fallback
        try:
            return self.parse_env(raw)
        except ValueError:
            raise ValueError(f"{self.env}={raw!r} is not {self.info()}") from None

    def parse_env(self, raw: str):
        return self.from_string(raw)


class EnvUnicode(_FromEnv, Unicode):
    """A string setting; default from ``env``, else ``fallback``."""

    def __init__(self, env: str, fallback: str = "", **kwargs):
        super().__init__(env, fallback, **kwargs)


class EnvFloat(_FromEnv, Float):
    """A number setting; default from ``env``, else ``fallback``."""

    def __init__(self, env: str, fallback: float, **kwargs):
        super().__init__(env, fallback, **kwargs)


class EnvInt(_FromEnv, Integer):
    """A whole-number setting; default from ``env``, else ``fallback``."""

    def __init__(self, env: str, fallback: int, **kwargs):
        super().__init__(env, fallback, **kwargs)


class EnvBool(_FromEnv, Bool):
    """A yes/no setting; default from ``env`` (1/0, true/false, yes/no), else ``fallback``."""

    def __init__(self, env: str, fallback: bool, **kwargs):
        super().__init__(env, fallback, **kwargs)

    def parse_env(self, raw: str):
        value = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}.get(raw.lower())
        if value is None:
            raise ValueError(raw)
        return value


class EnvList(_FromEnv, List):
    """A list of strings; default from ``env`` split on commas, else empty."""

    def __init__(self, env: str, **kwargs):
        super().__init__(env, [], trait=Unicode(), **kwargs)

    def make_dynamic_default(self):
        return list(super().make_dynamic_default())

    def parse_env(self, raw: str):
        return [item.strip() for item in raw.split(",") if item.strip()]


def looks_random(token: str, bits: float = 128.0) -> bool:
    """Whether ``token`` looks like a random secret of at least ``bits`` bits: its length times the
    entropy of its characters (``"a" * 64`` has none; ``openssl rand -hex 32`` about 240)."""
    if not token:
        return False
    counts = Counter(token)
    per_char = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    return len(token) * per_char >= bits
