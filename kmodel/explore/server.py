"""The explorer's HTTP layer: the standard library's threading server on 127.0.0.1,
the page from `static/`, and `/api/...` routed to `kmodel.explore.api`.

Nothing here knows the model; a request's answer is JSON (an error is
``{"error": "..."}`` with status 400 or 404), a diagram, or a trace to download.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from kmodel.explore import api
from kmodel.explore.session import Session

HOST = "127.0.0.1"  # the explorer serves this machine only
STATIC = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
DOWNLOAD_TYPES = {"svg": "image/svg+xml", "png": "image/png", "json": "application/json"}


class ExplorerServer(ThreadingHTTPServer):
    """A server for one session; each request in a thread of its own."""

    daemon_threads = True  # Ctrl-C never waits for a request in progress

    def __init__(self, session: Session, port: int) -> None:
        self.session = session
        super().__init__((HOST, port), Handler)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"


class Handler(BaseHTTPRequestHandler):
    server: ExplorerServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        route = parts.path
        try:
            if route == "/":
                self._static("index.html")
            elif route.startswith("/static/") and route[len("/static/") :] in STATIC:
                self._static(route[len("/static/") :])
            elif route in JSON_ROUTES:
                self._json(HTTPStatus.OK, JSON_ROUTES[route](self.server.session, query))
            elif route in ("/api/diagram", "/api/export"):
                self._trace(query, download=route == "/api/export")
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"nothing at {route}"})
        except api.NotFound as error:
            self._json(HTTPStatus.NOT_FOUND, {"error": str(error)})
        except api.BadRequest as error:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(error)})
        except Exception as error:  # a bug: the page says so, the console has the details
            traceback.print_exc(file=sys.stderr)
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {error}"})

    def _trace(self, query: dict[str, str], download: bool) -> None:
        fmt = query.get("format", "svg")
        output, name = api.diagram(
            self.server.session,
            query.get("path", ""),
            fmt,
            query.get("loop", ""),
            query.get("contract", ""),
        )
        body = output if isinstance(output, bytes) else output.encode("utf-8")
        kind = DOWNLOAD_TYPES.get(fmt, "text/plain; charset=utf-8")
        headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"}
        self._send(HTTPStatus.OK, kind, body, headers if download else {})

    def _static(self, name: str) -> None:
        body = resources.files("kmodel.explore").joinpath("static", name).read_bytes()
        self._send(HTTPStatus.OK, STATIC[name], body)

    def _json(self, status: HTTPStatus, data: Any) -> None:
        self._send(status, "application/json", json.dumps(data).encode("utf-8"))

    def _send(
        self, status: HTTPStatus, kind: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the console shows the URL and errors, not every request."""


JSON_ROUTES: dict[str, Callable[[Session, dict[str, str]], Any]] = {
    "/api/spec": lambda session, query: api.spec(session),
    "/api/run": lambda session, query: api.run(
        session, query.get("path", ""), query.get("loop", ""), query.get("contract", "")
    ),
    "/api/counterexample": lambda session, query: api.counterexample(
        session, query.get("contract", "")
    ),
    "/api/reach": lambda session, query: api.where_next(session, query.get("path", "")),
    "/api/hint": lambda session, query: api.hint(
        session, query.get("path", ""), query.get("level", "1")
    ),
}
