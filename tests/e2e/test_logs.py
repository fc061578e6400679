"""After the end-to-end run: no credential the App handed out appears in any container's log."""

import pytest

from harness.app import FIXTURES

SECRET_NAMES = ("PASSWORD", "TOKEN", "SECRET", "KEY", "DATABASE_URL")
STORAGE = ("access_key_id", "secret_access_key", "session_token", "access_token", "sas_token")  # fixtures' storage


def credential_values() -> set[str]:
    """Every secret of the mock App's fixtures: passwords, and the credentials' tokens, keys and passwords."""
    envs = [user.get("default_credentials", {}).get("env", {}) for user in FIXTURES["users"]]
    envs += [workspace.get("env", {}) for workspace in FIXTURES["workspaces"].values()]
    values = {value for env in envs for name, value in env.items() if any(s in name for s in SECRET_NAMES)}
    storage = {value for engine in FIXTURES["storage"].values() for name, value in engine.items() if name in STORAGE}
    return values | storage | {user["password"] for user in FIXTURES["users"]}


@pytest.mark.last
def test_no_credential_appears_in_any_container_log(stack, server_logs):
    logs = stack.logs() + server_logs.text()
    assert server_logs.logs, "no server's log was recorded: the scan would prove nothing"
    leaked = sorted(value for value in credential_values() if value in logs)
    assert not leaked, f"credentials in the logs: {leaked}"
