"""Waits: a poll with a deadline, and a message saying what it waited for.

WAIT_SCALE (a number, 1 by default) multiplies every deadline: `make test-arm64` sets it where the
images run under QEMU, whose programs start several times slower.
"""

from __future__ import annotations

import os
import time

SCALE = float(os.environ.get("WAIT_SCALE") or 1)


class WaitTimeout(AssertionError):
    """A wait ran out of time; the message says what it waited for."""


def wait_until(predicate, what: str, timeout: float = 30.0, interval: float = 0.2):
    """Poll ``predicate`` until it returns something truthy; return that.

    Fails with ``what`` in the message once ``timeout`` seconds have passed.
    Exceptions from ``predicate`` count as "not yet" and the last one is shown.
    """
    timeout *= SCALE
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            result = predicate()
            if result:
                return result
        except WaitTimeout:
            raise  # the predicate knows it can never succeed
        except Exception as error:  # noqa: BLE001 - "not yet", reported on timeout
            last_error = error
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)
