"""A loopback server answering as Kizen's SmartConnector API does, for the controller tests.

Kizen's cloud cannot be reached from the tests, so this serves the shapes
builder-cli's client and its live-verified notes show: DRF pages with `next`
links, `/api/smart-connectors/metadata` with `cadence_choices` as
`[[seconds as string, label], ...]`, `/api/custom-objects` (`name` the api_name,
`id` a UUID), `custom_object` held as the object's id, a create refused without
`custom_object` and `connector_type` and landing in `setup` whatever it asks,
errors as `{"detail": ...}`, and no scsync marker (no /healthz, no OpenAPI
document).  It keeps every write so a test can assert what scsync sent.
"""

from __future__ import annotations

import json
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Lock, Thread
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

CONTACTS_ID = "6f1c2b7e-5d4a-4e8b-9c3f-0a1b2c3d4e5f"
DEALS_ID = "1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5"
OBJECTS = [{"id": CONTACTS_ID, "name": "client_client", "entity_name": "Contact"},
           {"id": DEALS_ID, "name": "deals", "entity_name": "Deal"}]
CHOICES = [["300", "5 minutes"], ["3600", "1 hour"], ["86400", "1 day"]]
BASE = "/api/smart-connectors"


class FakeKizen:
    def __init__(self, connectors: list[dict[str, Any]] | None = None,
                 choices: list[list[str]] | None = None,
                 healthz: dict[str, Any] | None = None, serve_objects: bool = True) -> None:
        self.connectors: dict[str, dict[str, Any]] = {}
        self.healthz = healthz  # set: answers /healthz so (an executor without OpenAPI)
        self.writes: list[tuple[str, str, dict[str, Any]]] = []
        self.executions: dict[str, list[dict[str, Any]]] = {}
        """A connector's executions by its id, newest first (none unless a test adds them)."""
        self.requests: list[tuple[str, str]] = []
        self.choices = CHOICES if choices is None else choices
        self.serve_objects = serve_objects  # False: no /api/custom-objects (404)
        self._lock = Lock()
        for data in connectors or []:
            self.add(**data)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, **fields: Any) -> dict[str, Any]:
        """A connector authored in Kizen's UI (an id, its script and flow)."""
        record = {"id": str(uuid.uuid4()), "description": "", "status": "operational",
                  "max_concurrent_executions": 1, "create_only": False,
                  "live_script": {"id": str(uuid.uuid4()), "user_script": "select 1"},
                  "last_draft_script": None, "flow": {"id": str(uuid.uuid4())},
                  "stats": {"used_count": 0}, **fields}
        self.connectors[record["id"]] = record
        return record

    def by_api(self, api_name: str) -> dict[str, Any]:
        return next(c for c in self.connectors.values() if c["api_name"] == api_name)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def __enter__(self) -> FakeKizen:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the API ---------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, list[str]],
               body: dict[str, Any]) -> tuple[int, Any]:
        if method == "GET" and path == "/healthz" and self.healthz is not None:
            return 200, self.healthz
        if method == "GET" and path == f"{BASE}/metadata":
            return 200, {"cadence_choices": self.choices, "sql_versions": [["1", "v1"]],
                         "connector_types": [["spreadsheet", "Spreadsheet"]]}
        if method == "GET" and path == "/api/custom-objects" and self.serve_objects:
            # As Kizen's: built-in objects (contacts) only with custom_only=false.
            everything = query.get("custom_only") == ["false"]
            return 200, _page([o for o in OBJECTS if everything or o["name"] != "client_client"],
                              query)
        if method == "GET" and path == BASE:
            return 200, _page(sorted(self.connectors.values(), key=lambda c: c["api_name"]),
                              query)
        if method == "POST" and path == BASE:
            return self._create(body)
        parts = path[len(BASE) + 1:].split("/") if path.startswith(BASE + "/") else []
        found = self._find(unquote(parts[0])) if parts else None
        if found is None:
            return 404, {"detail": "Not found."}
        if len(parts) == 1 and method == "GET":
            return 200, found
        if len(parts) == 1 and method == "PATCH":
            self.writes.append(("PATCH", found["id"], body))
            fixed = [k for k in ("connector_type", "custom_object")
                     if k in body and body[k] != found.get(k)]
            if fixed:
                return 400, {"detail": f"{fixed[0]} cannot be changed"}
            found.update(body)
            return 200, found
        if parts[1:] == ["executions"] and method == "GET":
            status = query.get("status", [None])[0]
            return 200, _page([e for e in self.executions.get(found["id"], [])
                               if status is None or e["status"] == status], query)
        return 404, {"detail": "Not found."}

    def _find(self, ref: str) -> dict[str, Any] | None:
        return self.connectors.get(ref) or next(
            (c for c in self.connectors.values() if c["api_name"] == ref), None)

    def _create(self, body: dict[str, Any]) -> tuple[int, Any]:
        self.writes.append(("POST", BASE, body))
        missing = [k for k in ("name", "custom_object", "connector_type") if not body.get(k)]
        if missing:
            return 400, {"detail": f"{missing[0]}: This field is required."}
        if body["custom_object"] not in {o["id"] for o in OBJECTS}:
            return 400, {"detail": "custom_object: not a valid object id"}
        fields = {k: v for k, v in body.items() if k != "job"}  # Kizen runs SQL, not a job
        record = self.add(**{**fields, "status": "setup", "live_script": None, "flow": None})
        return 201, record

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                with fake._lock:
                    fake.requests.append((self.command, parts.path))
                    status, answer = fake.answer(self.command, parts.path,
                                                 parse_qs(parts.query), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _page(rows: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    """DRF's page, two rows at a time whatever page_size asks: paging is exercised."""
    page, size = int(query.get("page", ["1"])[0]), 2
    more = page * size < len(rows)
    return {"count": len(rows), "results": rows[(page - 1) * size:page * size],
            "next": f"http://kizen.invalid/next?page={page + 1}" if more else None,
            "previous": None}
