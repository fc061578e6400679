"""Docker Stacks' start-up, on the base and on the OpenHexa image (Docker Stacks' own groups:
user options, hooks, start scripts, healthcheck). Two servers per image carry most checks:
one started as root with every user option set, one started as the default user."""

from __future__ import annotations

import re

import pytest
import requests
import urllib3

from harness.containers import wait_healthy
from harness.net import free_port
from harness.wait import wait_until

HOOKS = {
    # name in before-notebook.d: (content, mode)
    "70-test-sourced.sh": 'echo "test hook sourced as $(id -un)"\nexport OPENHEXA_TEST_HOOK=sourced\n',
    "71-test-fails.sh": 'echo "test hook that fails"\nfalse\n',
    "72-test-executable": '#!/bin/bash\necho "test executable hook run as $(id -un)"\nexit 3\n',
    "73-test-not-executable": "#!/bin/bash\necho 'never run'\n",
}
UNREACHABLE_PROXY = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def hooks(tmp_path_factory):
    """Bind mounts of test hooks into before-notebook.d, beside the image's own."""
    folder = tmp_path_factory.mktemp("hooks")
    folder.chmod(0o755)
    volumes = {}
    for name, content in HOOKS.items():
        path = folder / name
        path.write_text(content)
        path.chmod(0o755 if name == "72-test-executable" else 0o644)
        volumes[str(path)] = {"bind": f"/usr/local/bin/before-notebook.d/{name}", "mode": "ro"}
    return volumes


def answers(url: str, **kwargs):
    try:
        response = requests.get(url, timeout=3, **kwargs)
    except requests.RequestException:
        return None
    return response if response.status_code == 200 else None


def server_process(tracked, container, pattern: str) -> str:
    """The pid of the first process whose command line matches ``pattern`` (read from /proc: no procps needed)."""
    pid = tracked.exec(
        container, ["bash", "-c", f"grep -al '{pattern}' /proc/[0-9]*/cmdline | head -n 1 | cut -d/ -f3"]
    )
    assert pid.strip(), f"no process matches {pattern}"
    return pid.strip()


@pytest.fixture(scope="module")
def as_root(stack_module, hooks):
    """Started as root with every user option: the server runs as kitten (1010:110), with sudo."""
    port = free_port()
    container = stack_module.run_detached(
        user="root",
        command=["start-notebook.py", "--ServerApp.ip=127.0.0.1"],
        volumes=hooks,
        environment={
            "NB_USER": "kitten",
            "NB_UID": "1010",
            "NB_GID": "110",
            "NB_GROUP": "kittens",
            "CHOWN_HOME": "yes",
            "GRANT_SUDO": "yes",
            "NB_UMASK": "002",
            "JUPYTER_PORT": str(port),
            "DOCKER_STACKS_JUPYTER_CMD": "server",
            "NOTEBOOK_ARGS": "--IdentityProvider.token=''",
            "HTTP_PROXY": UNREACHABLE_PROXY,
            "HTTPS_PROXY": UNREACHABLE_PROXY,
            "JUPYTER_ENV_VARS_TO_UNSET": "OPENHEXA_TEST_SECRET,OPENHEXA_TEST_UNUSED",
            "OPENHEXA_TEST_SECRET": "not for the server",
        },
    )
    wait_until(lambda: answers(f"http://127.0.0.1:{port}/api"), "the server started as root to answer", timeout=90)
    return container, port


@pytest.fixture(scope="module")
def as_user(stack_module, hooks):
    """Started as the default user with the default command: RESTARTABLE, GEN_CERT, a runtime folder of its own."""
    port = free_port()
    container = stack_module.run_detached(
        volumes=hooks,
        environment={
            "JUPYTER_PORT": str(port),
            "NOTEBOOK_ARGS": "--ServerApp.ip=127.0.0.1",
            "RESTARTABLE": "yes",
            "GEN_CERT": "yes",
            "JUPYTER_RUNTIME_DIR": "/tmp/test-runtime",
        },
    )
    with urllib3.warnings.catch_warnings():
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        wait_until(
            lambda: answers(f"https://127.0.0.1:{port}/login", verify=False),
            "the default command's server to answer over HTTPS",
            timeout=90,
        )
    return container, port


def logs(container) -> str:
    return container.logs().decode(errors="replace")


# -- user options (Docker Stacks: test_user_options) ---------------------------------------


def test_root_start_renames_jovyan_and_sets_its_ids_home_and_sudo(stack_module, as_root):
    container, _ = as_root
    ids = stack_module.exec(container, ["id"], user="kitten")
    assert ids.strip() == "uid=1010(kitten) gid=110(kittens) groups=110(kittens),100(users)"
    owner = stack_module.exec(container, ["stat", "-c", "%U %G", "/home/kitten"])
    assert owner.strip() == "kitten kittens"
    root = stack_module.exec(container, ["sudo", "-n", "id", "-u"], user="kitten")
    assert root.strip() == "0"
    # sudo finds Python's commands first, whatever /usr/bin holds.
    python = stack_module.exec(container, ["sudo", "-n", "which", "python"], user="kitten")
    assert python.strip() == "/opt/conda/bin/python"


def test_the_server_runs_as_the_notebook_user_with_its_umask_and_the_hooks_environment(stack_module, as_root):
    container, _ = as_root
    pid = server_process(stack_module, container, "jupyter-[s]erver")
    details = stack_module.exec(container, ["grep", "-E", "^(Uid|Umask):", f"/proc/{pid}/status"])
    assert re.search(r"Umask:\s+0002", details), details
    assert re.search(r"Uid:\s+1010\s", details), details
    environment = stack_module.exec(container, ["cat", f"/proc/{pid}/environ"], user="kitten")
    variables = environment.split("\0")
    assert "OPENHEXA_TEST_HOOK=sourced" in variables  # a sourced hook's export reaches the command
    assert "HOME=/home/kitten" in variables
    assert not [v for v in variables if v.startswith("OPENHEXA_TEST_SECRET=")]  # JUPYTER_ENV_VARS_TO_UNSET


def test_an_unknown_uid_with_gid_0_gets_a_passwd_entry(stack):
    status, output = stack.run_and_wait(user="1010:0", command=["id"], timeout=60)
    assert "uid=1010(jovyan) gid=0(root)" in output


def test_user_options_without_root_only_warn(stack):
    status, output = stack.run_and_wait(environment={"GRANT_SUDO": "yes", "NB_UID": "1234"}, command=["id", "-u"])
    assert "WARNING[" in output and "container must be started as root to grant sudo permissions!" in output
    assert 'container must be started as root to change the desired user\'s id with NB_UID="1234"!' in output
    # The command's own output: its stdout line (the log lines go to stderr, in any order beside it).
    assert [line.strip() for line in output.splitlines() if line.strip().isdigit()] == ["1000"], output


def test_root_triplet_runs_as_root_with_home_root_and_no_sudo(stack):
    status, output = stack.run_and_wait(
        user="root",
        environment={"NB_USER": "root", "NB_UID": "0", "NB_GID": "0"},
        command=["bash", "-c", 'echo "HOME=$HOME"; getent passwd root; env | grep -c ^SUDO_ || true'],
    )
    assert "HOME=/home/root" in output
    assert "root:x:0:0:root:/home/root:/bin/bash" in output
    assert output.strip().splitlines()[-1].strip() == "0"


# -- hooks and logging (Docker Stacks: test_run_hooks, test_logging) ----------------------


@pytest.mark.arm64
def test_hooks_run_once_as_root_and_a_failing_hook_does_not_stop_the_start(as_root):
    container, _ = as_root
    text = logs(container)
    assert text.count("test hook sourced as root") == 1, text
    assert text.count("test executable hook run as root") == 1
    assert "/usr/local/bin/before-notebook.d/71-test-fails.sh has failed, continuing execution" in text
    assert "/usr/local/bin/before-notebook.d/72-test-executable has failed, continuing execution" in text
    assert "Ignoring non-executable: /usr/local/bin/before-notebook.d/73-test-not-executable" in text
    assert "never run" not in text
    assert "Running as kitten:" in text


@pytest.mark.arm64
def test_the_default_command_runs_every_hook_once_as_the_user(as_user):
    container, _ = as_user
    text = logs(container)
    assert text.count("Running hooks in: /usr/local/bin/start-notebook.d") == 1, text
    assert text.count("Running hooks in: /usr/local/bin/before-notebook.d as uid: 1000") == 1, text
    assert text.count("test hook sourced as jovyan") == 1
    hooks = re.findall(r"Sourcing shell script: (\S+)", text)
    assert len(hooks) == len(set(hooks)), hooks  # the image's own hooks (OpenHexa's: 40, 50, 60) once each too


def test_start_sh_in_the_command_configures_once_and_warns(stack):
    status, output = stack.run_and_wait(
        user="root", environment={"GRANT_SUDO": "yes"}, command=["start.sh", "sudo", "-n", "id", "-u"]
    )
    warnings = [line for line in output.splitlines() if line.startswith("WARNING[")]
    assert len(warnings) == 1 and "start.sh is the default ENTRYPOINT, do not include it in CMD" in warnings[0]
    assert output.count("Running hooks in: /usr/local/bin/before-notebook.d") == 1
    assert output.strip().splitlines()[-1].strip() == "0"


def test_run_hooks_sources_shell_scripts_and_runs_executables(stack, tmp_path):
    folder = tmp_path / "hooks"
    folder.mkdir()
    (folder / "a.sh").write_text("HOOK_VALUE=from-a\n")  # a shell variable: not exported
    (folder / "b.sh").write_text('echo "b sees $HOOK_VALUE"\nfalse\n')
    (folder / "c").write_text('#!/bin/bash\necho "c sees ${HOOK_VALUE:-nothing}"\n')
    (folder / "c").chmod(0o755)
    tmp_path.chmod(0o755)
    folder.chmod(0o755)
    hooks = "source /usr/local/bin/run-hooks.sh"
    script = f"set -e; {hooks} /hooks; echo after: $HOOK_VALUE; {hooks}"
    status, output = stack.run_and_wait(
        command=["bash", "-c", script], volumes={str(folder): {"bind": "/hooks", "mode": "ro"}}, expect_exit=1
    )
    assert "b sees from-a" in output
    assert "c sees nothing" in output  # an executable runs in its own process: no unexported variables
    assert "/hooks/b.sh has failed, continuing execution" in output
    assert "after: from-a" in output  # errexit is back on after the hooks, and their exports stay
    assert "Should pass exactly one directory" in output


def test_the_log_helper_levels_colours_and_quiet_mode(stack):
    script = (
        "source /usr/local/bin/_docker_stacks_log.sh; _log_error boom; _log_warn careful; _log plain;"
        " NO_COLOR=1 _log_error pale; JUPYTER_DOCKER_STACKS_QUIET=1 _log_info hidden;"
        " JUPYTER_DOCKER_STACKS_QUIET=1 _log_warn shown; _log_fatal bye; echo unreachable"
    )
    status, output = stack.run_and_wait(tty=True, command=["bash", "-c", script], expect_exit=1)
    stamp = r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] "
    assert re.search("\x1b\\[0;31mERROR" + stamp + "boom\x1b\\[0m", output), repr(output)
    assert re.search("\x1b\\[0;33mWARNING" + stamp + "careful", output)
    assert re.search("^INFO" + stamp + "plain", output, re.M)
    assert re.search("^ERROR" + stamp + "pale", output, re.M)
    assert not re.search(stamp + "hidden", output)  # the command line itself shows in start.sh's log
    assert re.search("WARNING" + stamp + "shown", output)
    assert re.search("\x1b\\[0;1;31mFATAL" + stamp + "bye", output)
    assert not re.search("^unreachable", output, re.M)


# -- start scripts and commands (Docker Stacks: test_start_container, test_container_options) --


def test_a_root_start_notebook_py_runs_the_jupyter_cmd_on_jupyter_port(as_root):
    container, port = as_root
    text = logs(container)
    assert "Executing: jupyter server --IdentityProvider.token= --ServerApp.ip=127.0.0.1" in text
    assert answers(f"http://127.0.0.1:{port}/api").json()["version"]


def test_a_plain_command_runs_after_start_sh(stack):
    status, output = stack.run_and_wait(command=["bash", "-c", "echo plain command ran"])
    assert "Entered start.sh with args: bash -c echo plain command ran" in output
    assert output.strip().splitlines()[-1] == "plain command ran"


def test_start_singleuser_py_runs_jupyterhub_singleuser(stack):
    status, output = stack.run_and_wait(command=["start-singleuser.py", "--help"], expect_exit=None)
    assert "Executing: jupyterhub-singleuser --help" in output


@pytest.mark.arm64
def test_tini_is_pid_1(stack):
    container = stack.run_detached(command=["sleep", "60"])
    comm = stack.exec(container, ["cat", "/proc/1/comm"])
    assert comm.strip() == "tini"


# -- healthcheck (Docker Stacks: test_healthcheck) --------------------------------------------


def health_command(stack) -> list[str]:
    check = stack.client.images.get(stack.image).attrs["Config"]["Healthcheck"]
    assert check["Test"][0] == "CMD", check
    return check


def test_the_healthcheck_checks_as_upstream_does_or_every_30s_in_openhexa(stack, which_image):
    check = health_command(stack)
    # The base checks every 3 s as upstream; the OpenHexa image every 30 s (a hundred idle servers).
    assert check["Interval"] == (3 if which_image == "base" else 30) * 10**9


@pytest.mark.arm64
def test_the_healthcheck_passes_through_a_proxy_setting_as_root_and_user(stack_module, as_root, as_user):
    command = health_command(stack_module)["Test"][1:]
    # As Docker runs it: as the container's user. As root, it reads NB_USER's home; as jovyan,
    # JUPYTER_RUNTIME_DIR, and asks GEN_CERT's HTTPS server. HTTP(S)_PROXY is set in the first.
    for container, _ in (as_root, as_user):
        stack_module.exec(container, command)


@pytest.mark.arm64
def test_docker_sees_the_default_commands_server_healthy(as_user):
    """The image's own HEALTHCHECK, as Docker runs it: the first check comes one interval after the start."""
    container, _ = as_user
    wait_healthy(container, "the default command's server", timeout=120)


def test_the_healthcheck_fails_without_a_server(stack):
    command = health_command(stack)["Test"][1:]
    container = stack.run_detached(command=["sleep", "60"])
    status, output = stack.exec_status(container, command)
    assert status != 0 and "no Jupyter server runtime file" in output


# Last: it stops the default command's server (it comes back).
def test_the_default_command_is_restartable_jupyter_lab_over_https(stack_module, as_user):
    container, port = as_user
    assert "Executing: run-one-constantly jupyter lab --ServerApp.ip=127.0.0.1" in logs(container)
    # RESTARTABLE: the server comes back when it exits.
    first = server_process(stack_module, container, "jupyter-la[b]")
    stack_module.exec(container, ["kill", first])
    wait_until(
        lambda: server_process(stack_module, container, "jupyter-la[b]") != first, "the server to restart", timeout=60
    )
