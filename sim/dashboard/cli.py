"""``asylumsim dashboard [RESULTS_DIR ...]``: serve the explorer page on this machine.

:func:`dashboard_cmd` is a plain Typer command function (register it with
``app.command("dashboard")(dashboard_cmd)``); ``python -m sim.dashboard`` runs it alone.
"""

from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from sim.errors import AsylumsimError, ResultsError

APP = "sim.dashboard.app:Page"


def asgi_app(host: str, bound: str, port: int) -> Any:
    """Solara's server app; when it serves this machine only (:func:`sim.dashboard.guard.is_loopback`),
    behind Starlette's ``TrustedHostMiddleware`` (a ``Host`` that is not a name of this
    machine: 400) and :class:`sim.dashboard.guard.SameOrigin` (a request or WebSocket from a
    page of another site: 403). See :mod:`sim.dashboard.guard` for why.

    Args:
        host: ``--host`` as given.
        bound: The address the listening socket is bound to.
        port: Its port.
    """
    from solara.server.starlette import app

    from sim.dashboard.guard import SameOrigin, is_loopback, local_names, origin_names

    if not is_loopback(host, bound):
        return app
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    names = local_names(host, bound)
    return TrustedHostMiddleware(SameOrigin(app, origin_names(host, bound), port), allowed_hosts=names, www_redirect=False)


def _fail(exc: AsylumsimError) -> None:
    from sim.config.yaml_safe import one_line

    typer.echo(f"error: {one_line(str(exc))}", err=True)
    raise typer.Exit(1)


def _check_dirs(results_dirs: list[Path]) -> None:
    """Refuse, in one line, a folder that is neither a results folder nor holds any."""
    from sim.dashboard.results import find_results

    for d in results_dirs:
        if not d.is_dir():
            raise ResultsError(f"{d} is not a folder")
        if not find_results([d]):
            raise ResultsError(f"{d} is not an asylumsim results folder and holds none (no manifest.json)")


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free port chosen by the system)."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(128)
    except OSError as exc:
        raise ResultsError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    return sock


def dashboard_cmd(
    results_dirs: Annotated[list[Path] | None, typer.Argument(
        help="Results folders to open (or folders of them); results/ is always listed.")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (default: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: pick a free one).")] = 0,
    results_root: Annotated[Path, typer.Option("--results", help="Where what-if runs are written.")] = Path("results"),
    scenario_dir: Annotated[Path | None, typer.Option(
        "--scenario-dir", help="Where 'Save as scenario' writes (default: the working directory).")] = None,
) -> None:
    """Serve the explorer page (Results and What if) until interrupted; prints its address."""
    try:
        try:
            import solara  # noqa: F401
            import uvicorn
        except ImportError:
            raise ResultsError("the dashboard needs the 'dashboard' extra: pip install -r requirements/dashboard.lock "
                               "(or pip install 'asylumsim[dashboard]')") from None
        dirs = [Path(d) for d in results_dirs or []]
        _check_dirs(dirs)
        scenarios = Path(scenario_dir) if scenario_dir is not None else Path.cwd()
        if not scenarios.is_dir():
            raise ResultsError(f"--scenario-dir {scenarios} is not a folder")
        if Path(results_root).exists() and not Path(results_root).is_dir():  # what-if runs go into it (made if absent)
            raise ResultsError(f"--results {results_root} is not a folder")
        from sim.dashboard.app import ENV, Settings

        settings = Settings(tuple(d.resolve() for d in dirs), Path(results_root).resolve(), scenarios.resolve())
        sock = _listen(host, port)
    except AsylumsimError as exc:
        _fail(exc)
        return
    bound_address, bound = sock.getsockname()[:2]
    os.environ[ENV] = settings.to_env()
    os.environ["SOLARA_APP"] = APP
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = host, str(bound)
    shown = f"[{host}]" if ":" in host else host
    # Solara warns on every first page load over plain http that its session cookie cannot be
    # samesite=none (for pages embedded in another site's iframe); a local page is not
    # embedded, and the fallback it then takes (samesite=lax) is the right one here
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https", category=UserWarning)
    config = uvicorn.Config(asgi_app(host, bound_address, bound), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    typer.echo(f"dashboard: http://{shown}:{bound}/  (Ctrl-C to stop)")
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
