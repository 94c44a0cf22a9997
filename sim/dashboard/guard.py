"""Who may talk to a dashboard that listens on this machine only.

A web page on another site, open in the user's browser, can reach ``127.0.0.1`` two ways:
by pointing a name it controls at ``127.0.0.1`` (DNS rebinding: the requests then carry
that name in their ``Host`` header) or by opening a WebSocket to ``ws://127.0.0.1:PORT``
(browsers allow that across sites and send the page's ``Origin``; Solara checks neither).
Through Solara's kernel WebSocket such a page could read the explorer and start what-if
runs. So, listening on a loopback address, the dashboard answers only requests whose
``Host`` is a name of this machine (Starlette's ``TrustedHostMiddleware``, 400 otherwise)
and refuses any request or WebSocket handshake whose ``Origin`` is not the dashboard's
own page (:class:`SameOrigin` with :func:`origin_names`: 403; a client that sends no
``Origin``, such as ``curl``, is not a web page and passes). On another address the user chose to serve other machines
under names this process cannot know, and neither check applies (docs/guide.md, section 11).
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str, bound: str) -> bool:
    """Whether the dashboard serves this machine only: ``--host`` is ``localhost`` (any case)
    or the address it is bound to (``bound``, as ``getsockname`` gives it) is a loopback one."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(bound.split("%")[0])
    except ValueError:
        return False
    # an IPv4-mapped address (::ffff:127.0.0.1) is loopback when its IPv4 address is (Python
    # before 3.13 says it is not)
    return bool(ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped and ip.ipv4_mapped.is_loopback))


def local_names(host: str, bound: str) -> list[str]:
    """Host names a request to a loopback dashboard may carry: this machine's usual names,
    the ``--host`` given and the bound address (IPv6 also in brackets), lowercased."""
    names = {*LOCAL_NAMES, host.lower(), bound.lower(), *_compressed(bound)}
    return sorted(names | {f"[{n}]" for n in names if ":" in n})


def _compressed(address: str) -> set[str]:
    """The address as a browser writes it (``::ffff:7f00:1`` for ``::ffff:127.0.0.1``), or nothing."""
    try:
        return {ipaddress.ip_address(address.split("%")[0]).compressed}
    except ValueError:
        return set()


def origin_names(host: str, bound: str) -> list[str]:
    """Host names an ``Origin`` of the dashboard's own page may carry: the bound address
    (lowercase, compressed if IPv6), ``localhost`` when the bound address is one a browser
    resolves it to (``127.0.0.1`` or ``::1``), and ``--host`` when it is a name, not an
    address (an address literal is the bound one, spelled as the browser normalises it).

    Narrower than :func:`local_names`: another loopback address with the same port
    (``http://[::1]:PORT`` for a dashboard on ``127.0.0.1``, or ``127.0.0.2``) is another
    socket, which another program may serve; its pages are another origin.
    """
    addr = bound.split("%")[0].lower()
    try:
        addr = ipaddress.ip_address(addr).compressed
    except ValueError:
        pass
    names = {addr}
    if addr in ("127.0.0.1", "::1"):
        names.add("localhost")
    name = host.lower()
    if ":" not in name and not name.replace(".", "").isdigit():  # a name (``localhost``), not an address
        names |= {name, name.rstrip(".")}  # as given (a browser keeps a trailing dot) and without it
    return sorted(names)


class SameOrigin:
    """ASGI middleware: a request or WebSocket handshake that carries an ``Origin`` header
    is let through only if that origin is ``http(s)://NAME:PORT`` with ``NAME`` one of
    ``names`` and ``PORT`` the dashboard's; others get 403 (HTTP) or a refused handshake.

    Args:
        app: The ASGI app behind it.
        names: Allowed host names (lowercase; IPv6 without brackets or with):
            :func:`origin_names`.
        port: The port the dashboard listens on.
    """

    def __init__(self, app: Any, names: list[str], port: int) -> None:
        self.app, self.port = app, port
        self.names = {n.strip("[]") for n in names}

    def allowed(self, origin: str) -> bool:
        """Whether ``origin`` (a header value) is the dashboard's own page."""
        try:
            u = urlsplit(origin.strip())
            port = u.port or {"http": 80, "https": 443}.get(u.scheme)
        except ValueError:
            return False
        return u.scheme in ("http", "https") and (u.hostname or "") in self.names and port == self.port

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            origin = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"origin"), None)
            if origin is not None and not self.allowed(origin):
                if scope["type"] == "websocket":
                    from starlette.websockets import WebSocketClose

                    await WebSocketClose(code=1008)(scope, receive, send)  # before accept: a refused handshake (403)
                else:
                    from starlette.responses import PlainTextResponse

                    await PlainTextResponse("Cross-origin request refused", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)
