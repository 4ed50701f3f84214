"""Serve the inspector page with Voilà on a loopback port: ``softnodule inspect``.

Voilà runs ``inspector.ipynb`` (shipped beside this module) in a fresh kernel per browser tab and shows
its outputs without the code. The nodule and source reach that kernel through environment variables
(`app.ENV_ID`, `app.ENV_SOURCE`), which kernels inherit from the server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["NOTEBOOK", "InspectorServer", "free_port", "serve"]

#: The page Voilà serves.
NOTEBOOK = Path(__file__).with_name("inspector.ipynb")
#: A Jupyter data folder holding the page's Voilà template (``voila/templates/softnodule``): Voilà's lab
#: template without the stylesheets it would fetch from a CDN.
TEMPLATE_ROOT = Path(__file__).with_name("share")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


class InspectorServer:
    """A running Voilà server for the inspector; `stop` (or leaving its ``with`` block) ends it.

    Attributes
    ----------
    url : str
        The page's address (loopback).
    source, nodule_id : str
        What the page opens on.
    log : Path
        Voilà's own log (stdout and stderr), read back in error messages.
    """

    def __init__(self, process: subprocess.Popen, url: str, source: str, nodule_id: str, log: Path,
                 workdir: tempfile.TemporaryDirectory) -> None:
        self.process, self.url, self.source, self.nodule_id, self.log = process, url, source, nodule_id, log
        self._workdir = workdir

    def log_tail(self, n: int = 20) -> str:
        """The last ``n`` lines of Voilà's log."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(lines[-n:])

    def stop(self, timeout: float = 10.0) -> None:
        """End the server and the kernels it started; remove its temporary folder."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self._workdir.cleanup()

    def wait(self) -> int:
        """Block until the server ends (Ctrl-C stops it); its exit status."""
        try:
            return self.process.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            self.stop()

    def __enter__(self) -> InspectorServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(nodule_id: str | None = None, source: str | None = "auto", *, port: int | None = None,
          host: str = "127.0.0.1", timeout: float = 60.0) -> InspectorServer:
    """Start Voilà on the inspector page and return once it accepts connections.

    The source and nodule are checked here first (so a wrong id fails at once, naming valid ones),
    then handed to the page's kernel. Raises RuntimeError with Voilà's log when it does not come up
    within ``timeout`` seconds.
    """
    from .app import ENV_ID, ENV_SOURCE
    from .catalog import open_catalog

    catalog = open_catalog(source)
    nodule_id = catalog.resolve(nodule_id)
    port = port or free_port(host)
    workdir = tempfile.TemporaryDirectory(prefix="softnodule-inspect-")
    log = Path(workdir.name) / "voila.log"
    jupyter_path = os.pathsep.join(p for p in (str(TEMPLATE_ROOT), os.environ.get("JUPYTER_PATH")) if p)
    env = {**os.environ, ENV_SOURCE: catalog.name, ENV_ID: nodule_id, "JUPYTER_PATH": jupyter_path}
    cmd = [sys.executable, "-m", "voila", str(NOTEBOOK), "--no-browser", f"--port={port}", f"--Voila.ip={host}",
           "--template=softnodule", "--show_tracebacks=True"]
    with open(log, "wb") as fh:
        process = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=workdir.name,
                                   stdin=subprocess.DEVNULL)
    server = InspectorServer(process, f"http://{host}:{port}/", catalog.name, nodule_id, log, workdir)
    deadline = time.monotonic() + timeout
    while not _listening(host, port):
        if process.poll() is not None or time.monotonic() > deadline:
            why = (f"exited with status {process.returncode}" if process.poll() is not None
                   else f"did not listen on {host}:{port} within {timeout:.0f} s")
            tail = server.log_tail()
            server.stop()
            raise RuntimeError(f"the inspector's Voilà server {why}. Its log:\n{tail}")
        time.sleep(0.2)
    return server
