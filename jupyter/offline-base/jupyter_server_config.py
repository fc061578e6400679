# The offline base's Jupyter Server settings, as Docker Stacks documents its own:
# every interface, no browser, the port from JUPYTER_PORT (Jupyter Server reads it),
# a self-signed certificate when GEN_CERT is set, and the umask NB_UMASK.
import os
import subprocess
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir

c = get_config()  # noqa: F821
c.ServerApp.ip = ""
c.ServerApp.open_browser = False
c.FileContentsManager.delete_to_trash = False

if "GEN_CERT" in os.environ:
    pem = Path(jupyter_data_dir()) / "notebook.pem"
    pem.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-new", "-nodes", "-newkey", "rsa:2048", "-days", "365"]
        + ["-subj", "/C=XX/ST=XX/L=XX/O=generated/CN=generated", "-keyout", str(pem), "-out", str(pem)],
        check=True,
        capture_output=True,
    )
    pem.chmod(0o600)
    c.ServerApp.certfile = str(pem)

if "NB_UMASK" in os.environ:
    os.umask(int(os.environ["NB_UMASK"], 8))
