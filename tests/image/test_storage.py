"""Workspace storage as the OpenHexa App hands it out (WORKSPACE_STORAGE_ENGINE and its settings).

Servers start as the hub starts them: the host network, /dev/fuse, every capability dropped but
SYS_ADMIN (the chart's security context), as the notebook user. s3 mounts a real S3 API (moto,
with IAM checks on) with a session the App's way; gcp and azure run stand-ins for gcsfuse and
blobfuse2, which this image may not carry, to read what each tool is given. Whatever fails, the
server serves, and the log and WORKSPACE-NOT-MOUNTED.txt in the workspace folder say why,
without a credential.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
from pathlib import Path

import pytest

from harness.net import answers_ok, free_port
from harness.wait import wait_until
from openhexa_hub import spawner_rules
from tests.image.moto_s3 import Credentials, MotoS3

WORKSPACE = "/home/jovyan/workspace"
NOTE = f"{WORKSPACE}/WORKSPACE-NOT-MOUNTED.txt"
BUCKET = "hexa-demo"
HELLO = b"uploaded through the OpenHexa App\n"
PRIVATE = r"/tmp/openhexa-storage\.[A-Za-z0-9]{6}"
HERE = Path(__file__).resolve().parent


# -- fixtures and helpers -----------------------------------------------------------


def _fuse_node(folder: Path, mode: int) -> str:
    node = folder / "fuse"
    os.mknod(node, stat.S_IFCHR | mode, os.stat("/dev/fuse").st_rdev)
    os.chmod(node, mode)  # mknod applies the umask
    return str(node)


@pytest.fixture(scope="module")
def fuse_device(tmp_path_factory):
    """The FUSE device as hosts that run notebook servers have it: open to all (0666, udev's rule).

    Docker gives a container the host's node with its mode. Where the host left /dev/fuse at
    0600 (no udev: minimal VMs, nested containers), no unprivileged FUSE mount can work, so a
    0666 node of the same device, in a folder of the test's, stands in; /dev/fuse is not touched.
    """
    if not os.path.exists("/dev/fuse"):
        pytest.skip("this host has no /dev/fuse")
    if stat.S_IMODE(os.stat("/dev/fuse").st_mode) & 0o666 == 0o666:
        return "/dev/fuse"
    if os.geteuid() != 0:
        pytest.skip("/dev/fuse is not open to all here, and only root can make a node that is")
    return _fuse_node(tmp_path_factory.mktemp("fuse"), 0o666)


@pytest.fixture(scope="module")
def s3():
    """moto's S3 API on 127.0.0.1, IAM checks on, with the workspace bucket and a file in it."""
    server = MotoS3().start([BUCKET])
    server.client().put_object(Bucket=BUCKET, Key="hello.txt", Body=HELLO)
    yield server
    server.stop()


def start_server(notebook, environment: dict, fuse_device: str | None = None, **kwargs):
    """A notebook server as the hub starts one that mounts a bucket (every capability dropped but SYS_ADMIN,
    the FUSE seccomp profile, as the chart's pods and the Docker spawner's containers); returned once its
    /api answers."""
    port = free_port()
    container = notebook.run_detached(
        command=["notebook", f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1"],
        environment=environment,
        devices=[f"{fuse_device}:/dev/fuse:rwm"] if fuse_device else [],
        cap_drop=["ALL"],
        cap_add=["SYS_ADMIN"],
        security_opt=[f"seccomp={spawner_rules.fuse_seccomp()}"],
        **kwargs,
    )
    wait_until(lambda: answers_ok(f"http://127.0.0.1:{port}/api"), "the notebook server's /api", timeout=120)
    return container


def storage_lines(container) -> list[str]:
    return [line for line in container.logs().decode().splitlines() if "openhexa: storage" in line]


def note(notebook, container) -> str:
    status, text = notebook.exec_status(container, ["cat", NOTE])
    return text if status == 0 else ""


def fuse_mounts(notebook, container) -> list[str]:
    mounts = notebook.exec(container, ["cat", "/proc/mounts"])
    return [line for line in mounts.splitlines() if " fuse" in line]


def command_lines(notebook, container) -> str:
    """Every process's command line, as anyone in the container may read them, and ps's view."""
    lines = notebook.exec(container, ["sh", "-c", "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' <$f; echo; done"])
    ps = notebook.exec(container, ["sh", "-c", "command -v ps >/dev/null && ps -eo user,pid,args || true"])
    return lines + ps


def private_folder(argument: str, before: str, after: str) -> str:
    """The private folder a storage tool was given in ``argument`` (``before`` + the folder + ``after``)."""
    assert re.fullmatch(rf"{re.escape(before)}{PRIVATE}{re.escape(after)}", argument), argument
    return argument[len(before) : -len(after)]


def assert_not_mounted_and_said(notebook, container, *words: str, secrets: tuple[str, ...] = ()):
    """No mount; one log line and the note say why, in these words, with no secret in either."""
    lines = storage_lines(container)
    assert len(lines) == 1, lines
    assert "the workspace bucket is not mounted" in lines[0]
    text = note(notebook, container)
    assert text.startswith("The workspace's files are not in this folder."), text
    assert "What to do:" in text
    for word in words:
        assert word in lines[0], (word, lines[0])
        assert word in text, (word, text)
    for secret in secrets:
        assert secret not in container.logs().decode()
        assert secret not in text
    assert not fuse_mounts(notebook, container)


def s3_settings(server: MotoS3, credentials: Credentials, bucket: str = BUCKET, endpoint: str | None = None) -> dict:
    """What the App's workspace answer carries for the s3 engine (files/backends/s3.py)."""
    settings = {
        "WORKSPACE_STORAGE_ENGINE": "s3",
        "WORKSPACE_BUCKET_NAME": bucket,
        "WORKSPACE_STORAGE_ENGINE_S3_BUCKET_NAME": bucket,
        "WORKSPACE_STORAGE_ENGINE_S3_REGION_NAME": server.region,
        "WORKSPACE_STORAGE_ENGINE_S3_ENDPOINT_URL": server.endpoint if endpoint is None else endpoint,
        "WORKSPACE_STORAGE_ENGINE_S3_ACCESS_KEY_ID": credentials.access_key_id,
        "WORKSPACE_STORAGE_ENGINE_S3_SECRET_ACCESS_KEY": credentials.secret_access_key,
    }
    if credentials.session_token:
        settings["WORKSPACE_STORAGE_ENGINE_S3_SESSION_TOKEN"] = credentials.session_token
    return settings


# -- local ---------------------------------------------------------------------------


def test_local_mounts_nothing_and_starts(notebook):
    container = start_server(notebook, {"WORKSPACE_STORAGE_ENGINE": "local"})
    assert not fuse_mounts(notebook, container)
    assert not storage_lines(container)
    assert not note(notebook, container)


# -- s3, against a real S3 API ------------------------------------------------------------


def test_s3_the_bucket_is_the_workspace_folder_and_no_credential_shows(notebook, s3, fuse_device):
    credentials = s3.workspace_credentials(BUCKET)
    assert credentials.session_token, "the App's assumed-role session comes with a token"
    container = start_server(notebook, s3_settings(s3, credentials), fuse_device)

    assert storage_lines(container) == [f"openhexa: storage engine 's3': mounted bucket '{BUCKET}' on {WORKSPACE}"]
    assert any(f" {WORKSPACE} fuse.s3fs " in line for line in fuse_mounts(notebook, container))
    hello = notebook.exec(container, ["cat", f"{WORKSPACE}/hello.txt"])
    assert hello == HELLO.decode(), hello
    notebook.exec(container, ["sh", "-c", f"echo 'written in a notebook' > {WORKSPACE}/from-the-notebook.txt"])
    body = wait_until(
        lambda: s3.client().get_object(Bucket=BUCKET, Key="from-the-notebook.txt")["Body"].read(),
        "the notebook's file in the bucket",
    )
    assert body == b"written in a notebook\n"
    assert not note(notebook, container)

    everything = container.logs().decode() + command_lines(notebook, container)
    _, private = notebook.exec_status(
        container, ["sh", "-c", "ls -ld /tmp/openhexa-storage.*; cat /tmp/openhexa-storage.*/*"]
    )
    for secret in credentials.secrets:
        assert secret not in everything
        assert secret not in private
    assert re.search(rf"^drwx------ \d+ jovyan users .* {PRIVATE}$", private, re.MULTILINE), private
    assert f"s3fs {BUCKET} {WORKSPACE} -o allow_other" in everything  # the daemon's command line, read above


def wrong_secret(s3):
    """The App's session credentials with a wrong secret: moto checks signatures as AWS does."""
    good = s3.workspace_credentials(BUCKET)
    wrong = Credentials(good.access_key_id, "not-" + good.secret_access_key, good.session_token)
    said = ("the storage refused the credentials", "WORKSPACE_STORAGE_ENGINE_S3_SECRET_ACCESS_KEY")
    return s3_settings(s3, wrong), wrong, said, "start it again from OpenHexa"


def closed_endpoint(s3):
    """Good credentials, an endpoint where nothing listens."""
    credentials = s3.workspace_credentials(BUCKET)
    closed = f"127.0.0.1:{free_port()}"
    said = (f"the storage could not be reached ({closed})", "WORKSPACE_STORAGE_ENGINE_S3_ENDPOINT_URL")
    return s3_settings(s3, credentials, endpoint=f"http://{closed}"), credentials, said, "try again in a few minutes"


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(wrong_secret, id="wrong-secret"),
        pytest.param(closed_endpoint, id="unreachable-endpoint"),
    ],
)
def test_s3_failures_are_said_in_plain_words_and_the_server_serves(notebook, s3, fuse_device, case):
    settings, credentials, said, what_to_do = case(s3)
    container = start_server(notebook, settings, fuse_device)
    assert_not_mounted_and_said(notebook, container, *said, secrets=tuple(credentials.secrets))
    assert what_to_do in note(notebook, container)


def test_a_fuse_device_closed_to_the_notebook_user_is_said(notebook, s3, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root can make a device node")
    closed = _fuse_node(tmp_path, 0o600)
    credentials = s3.workspace_credentials(BUCKET)
    container = start_server(notebook, s3_settings(s3, credentials), closed)
    assert_not_mounted_and_said(notebook, container, "/dev/fuse", "0666", secrets=tuple(credentials.secrets))


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9 -o allow_root", "http://127.0.0.1:9,allow_root"])
def test_an_endpoint_carrying_options_is_refused(notebook, s3, fuse_device, endpoint):
    credentials = Credentials("AKIAEXAMPLEKEY000001", "example-secret", "example-token")
    container = start_server(notebook, s3_settings(s3, credentials, endpoint=endpoint), fuse_device)
    assert_not_mounted_and_said(
        notebook, container, "WORKSPACE_STORAGE_ENGINE_S3_ENDPOINT_URL", secrets=tuple(credentials.secrets)
    )
    assert "allow_root" not in command_lines(notebook, container)


@pytest.mark.parametrize(
    ("engine", "settings", "said"),
    [
        ("s3", {}, ["WORKSPACE_STORAGE_ENGINE_S3_ACCESS_KEY_ID", "WORKSPACE_STORAGE_ENGINE_S3_SECRET_ACCESS_KEY"]),
        ("gcp", {}, ["WORKSPACE_STORAGE_ENGINE_GCP_ACCESS_TOKEN"]),
        ("azure", {"WORKSPACE_STORAGE_ENGINE_AZURE_ACCOUNT_NAME": "hexa"}, ["_AZURE_STORAGE_SAS_TOKEN"]),
        (
            "s3",
            {
                "WORKSPACE_STORAGE_ENGINE_S3_ACCESS_KEY_ID": "AKIAEXAMPLE",
                "WORKSPACE_STORAGE_ENGINE_S3_SECRET_ACCESS_KEY": "example-secret-value",
            },
            [r"no FUSE device \(/dev/fuse\)"],
        ),
        ("gcp", {"WORKSPACE_STORAGE_ENGINE_GCP_ACCESS_TOKEN": "ya29.example"}, ["gcsfuse|no FUSE device"]),
        ("ftp", {}, ["an engine this image does not know", "WORKSPACE_STORAGE_ENGINE"]),
    ],
    ids=["s3-no-credentials", "gcp-no-token", "azure-no-sas", "s3-no-fuse-device", "gcp-no-tool-or-device", "ftp"],
)
def test_an_engine_that_cannot_mount_says_why_and_serves(notebook, engine, settings, said):
    environment = {"WORKSPACE_STORAGE_ENGINE": engine, "WORKSPACE_BUCKET_NAME": BUCKET, **settings}
    container = start_server(notebook, environment)  # no /dev/fuse
    lines = storage_lines(container)
    assert len(lines) == 1 and "the workspace bucket is not mounted" in lines[0], lines
    for words in said:
        assert re.search(words, lines[0]), (words, lines[0])
        assert re.search(words, note(notebook, container)), (words, note(notebook, container))
    for value in settings.values():
        if value not in ("hexa",):
            assert value not in lines[0]


# -- gcp and azure, through stand-ins --------------------------------------------------------


@pytest.fixture
def stand_ins(tmp_path, notebook_image):
    """gcsfuse and blobfuse2 stand-ins first on PATH; ``run`` starts a server with them and returns its records."""
    tools, records = tmp_path / "stand-in", tmp_path / "records"
    tools.mkdir()
    records.mkdir()
    for name in ("gcsfuse", "blobfuse2"):
        shutil.copy(HERE / "storage_stand_in.py", tools / name)
        (tools / name).chmod(0o755)
    for folder in (tmp_path, tools):
        folder.chmod(0o755)
    records.chmod(0o777)
    image_path = next(e for e in notebook_image.attrs["Config"]["Env"] if e.startswith("PATH=")).split("=", 1)[1]

    class StandIns:
        path = f"/opt/stand-in:{image_path}"

        def behave(self, **behaviour):
            (tools / "behaviour.json").write_text(json.dumps(behaviour))

        def start(self, notebook, environment, fuse_device):
            container = start_server(
                notebook,
                {"PATH": self.path, **environment},
                fuse_device,
                volumes={
                    str(tools): {"bind": "/opt/stand-in", "mode": "ro"},
                    str(records): {"bind": "/opt/stand-in-records", "mode": "rw"},
                },
            )
            return container

        def record(self, tool) -> dict:
            return json.loads((records / f"{tool}.json").read_text())

    stand_ins = StandIns()
    stand_ins.behave()
    return stand_ins


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_gcp_gcsfuse_gets_the_token_through_a_private_socket_only(notebook, stand_ins, fuse_device):
    token = "ya29.a0-example-short-lived-token"
    container = stand_ins.start(
        notebook,
        {
            "WORKSPACE_STORAGE_ENGINE": "gcp",
            "WORKSPACE_BUCKET_NAME": "hexa-gcs-bucket",
            "WORKSPACE_STORAGE_ENGINE_GCP_BUCKET_NAME": "hexa-gcs-bucket",
            "WORKSPACE_STORAGE_ENGINE_GCP_ACCESS_TOKEN": token,
        },
        fuse_device,
    )
    record = stand_ins.record("gcsfuse")
    argv = record["argv"]
    private = private_folder(argv[5], "unix://", "/token.sock")
    assert argv == [
        "gcsfuse", "--implicit-dirs", "-o", "allow_other", "--token-url", f"unix://{private}/token.sock",
        "--log-file", f"{private}/gcsfuse.log", "--log-severity", "WARNING", "hexa-gcs-bucket", WORKSPACE,
    ]  # fmt: skip
    assert record["uid"] == 1000
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in record["env_names"]
    assert "OPENHEXA_GCS_ACCESS_TOKEN" not in record["env_names"]  # the token server's alone
    assert record["token_url"] == {
        "status": 200,
        "fields": ["access_token", "token_type"],
        "other": {"token_type": "Bearer"},  # no expiry: gcsfuse keeps it, the server can stop
        "token_sha256": sha256(token),
        "socket_mode": "0o700",
        "folder_mode": "0o700",
        "folder_uid": 1000,
    }
    assert not [line for line in record["command_lines"] if token in line]
    assert any("storage-token-server.py" in line for line in record["command_lines"])

    assert_not_mounted_and_said(
        notebook,
        container,
        "gcsfuse finished without an error, yet the folder is not a working mount",
        secrets=(token,),
    )
    assert "storage-token-server" not in command_lines(notebook, container)  # stopped once the mount was checked
    assert token not in command_lines(notebook, container)


def test_azure_blobfuse2_gets_the_sas_in_its_environment_only(notebook, stand_ins, fuse_device):
    sas = "sv=2025-01-05&se=2026-12-01T12%3A00%3A00Z&sr=c&sp=racwdl&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"
    stand_ins.behave(
        blobfuse2={"exit": 1, "say": "Error: failed to mount: 403 AuthenticationFailed, SAS {secret} was refused"}
    )
    container = stand_ins.start(
        notebook,
        {
            "WORKSPACE_STORAGE_ENGINE": "azure",
            "WORKSPACE_BUCKET_NAME": "hexa-container",
            "WORKSPACE_STORAGE_ENGINE_AZURE_ACCOUNT_NAME": "hexastorage",
            "WORKSPACE_STORAGE_ENGINE_AZURE_STORAGE_SAS_TOKEN": sas,
            "AZURE_STORAGE_ACCESS_KEY": "a-stray-account-key",  # must not reach blobfuse2
        },
        fuse_device,
    )
    record = stand_ins.record("blobfuse2")
    argv = record["argv"]
    private = private_folder(argv[3], "--tmp-path=", "/cache")
    assert argv == [
        "blobfuse2", "mount", WORKSPACE, f"--tmp-path={private}/cache",
        "--log-type=base", f"--log-file-path={private}/blobfuse2.log",
        "-o", "allow_other", "-o", "attr_timeout=240", "-o", "entry_timeout=240", "-o", "negative_timeout=120",
    ]  # fmt: skip
    assert record["cwd"] == private and "config.yaml" not in record["cwd_files"]
    assert record["env"]["AZURE_STORAGE_ACCOUNT"] == "hexastorage"
    assert record["env"]["AZURE_STORAGE_ACCOUNT_CONTAINER"] == "hexa-container"
    assert record["env"]["AZURE_STORAGE_AUTH_TYPE"] == "sas"
    assert record["env_sha256"] == {"AZURE_STORAGE_SAS_TOKEN": sha256(sas)}
    assert [n for n in record["env_names"] if n.startswith("AZURE_STORAGE_")] == [
        "AZURE_STORAGE_ACCOUNT",
        "AZURE_STORAGE_ACCOUNT_CONTAINER",
        "AZURE_STORAGE_AUTH_TYPE",
        "AZURE_STORAGE_SAS_TOKEN",
    ]
    assert not [line for line in record["command_lines"] if "sig=" in line or sas in line]

    assert_not_mounted_and_said(
        notebook,
        container,
        "the storage refused the credentials",
        "WORKSPACE_STORAGE_ENGINE_AZURE_STORAGE_SAS_TOKEN",
        secrets=(sas, "c2VjcmV0LXNpZ25hdHVyZQ"),
    )
    assert "[hidden]" in storage_lines(container)[0]


CLONE_NEWUSER = 0x10000000
RAW_SYSCALL = (
    "import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); "
    "result = libc.syscall(int(sys.argv[1]), int(sys.argv[2]), 0, 0, 0); print(result, ctypes.get_errno())"
)


def test_a_server_that_mounts_a_bucket_makes_no_user_namespace(notebook, fuse_device):
    """SYS_ADMIN, which FUSE needs, would let the notebook user create user namespaces (and, inside, mount
    tmpfs and overlayfs, open netfilter sockets: the usual container escapes' start). The FUSE seccomp
    profile (hub/openhexa_hub/seccomp/fuse.json) denies them; FUSE mounts still work (the tests above)."""
    container = start_server(notebook, {}, fuse_device)
    for command in (["unshare", "--user", "true"], ["unshare", "--user", "--map-root-user", "true"]):
        status, output = notebook.exec_status(container, command, user="1000")
        assert status != 0 and "Operation not permitted" in output, (command, output)
    unshare, clone3 = ("272", str(CLONE_NEWUSER)), ("435", "0")  # x86_64's unshare(2), clone3(2)
    for (number, flags), errno in ((unshare, "1"), (clone3, "38")):  # EPERM; ENOSYS, glibc then uses clone(2)
        output = notebook.exec(container, ["python", "-c", RAW_SYSCALL, number, flags], user="1000")
        assert output.split() == ["-1", errno], (number, output)
