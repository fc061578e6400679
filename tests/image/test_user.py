"""Who runs in the image: Docker Stacks' user, no root, no passwordless sudo (tini: test_stacks_start)."""


def test_jovyan_has_uid_1000_gid_100_and_its_home(notebook_host):
    user = notebook_host.user("jovyan")
    assert user.uid == 1000
    assert user.gid == 100
    assert user.home == "/home/jovyan"
    assert notebook_host.file("/home/jovyan").user == "jovyan"


def test_the_default_user_is_not_root(notebook_image):
    assert notebook_image.attrs["Config"]["User"] in ("1000", "jovyan")


def test_no_passwordless_sudo(notebook_host):
    assert notebook_host.run("sudo -n true").rc != 0


def test_python_is_docker_stacks_python(notebook_host):
    assert notebook_host.check_output("command -v python") == "/opt/conda/bin/python"


def test_only_fusermount3_and_sudo_are_setuid_root(notebook_host):
    found = notebook_host.check_output("find / -xdev -perm -4000 -type f 2>/dev/null || true").split()
    assert sorted(found) == ["/usr/bin/fusermount3", "/usr/bin/sudo"]
