"""The HTTP API: Kizen's SmartConnector paths, fields and error shapes.

Every route is `async def` on purpose: handlers then run on the event-loop
thread, the only thread that touches the SQLite connection (see store.py).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any, Literal

from fastapi import (
    APIRouter,
    Body,
    FastAPI,
    Header,
    HTTPException,
    Query,
    Request,
    Response,
    Security,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from scsync import __version__
from scsync.executor.admission import waiting_reason
from scsync.executor.auth import ApiKeyMiddleware
from scsync.executor.metrics import CONTENT_TYPE
from scsync.executor.models import (
    NOT_NULLABLE,
    STATUS_UPDATE_ERROR,
    UPDATABLE_STATUSES,
    ConnectorCreate,
    ConnectorUpdate,
    StartFlow,
    Status,
    is_single_email,
)
from scsync.executor.service import Executor
from scsync.executor.settings import ExecutorSettings
from scsync.executor.store import ApiNameTaken, Row
from scsync.hosting import BodyLimitMiddleware

log = logging.getLogger("scsync.executor.api")

ExecutionStatus = Literal["queued", "running", "success", "partial_success", "error", "cancelled"]
Page = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=1000)]
UserId = Annotated[str | None, Header(alias="X-USER-ID", max_length=254)]

# For the OpenAPI document only: ApiKeyMiddleware checks both headers before routing
# (so that no body is parsed for an unauthenticated caller), and these never refuse.
_API_KEY = APIKeyHeader(name="X-API-KEY", scheme_name="ApiKey", auto_error=False,
                        description="The executor's API key; 401 when missing or wrong.")
_BUSINESS_ID = APIKeyHeader(
    name="X-BUSINESS-ID", scheme_name="BusinessId", auto_error=False,
    description="Required when the executor has SCSYNC_BUSINESS_ID; 403 when it differs.")


class ErrorBody(BaseModel):
    """Every error answer: what went wrong, in one line."""

    detail: str


class FieldProblem(BaseModel):
    field: str
    message: str


class ValidationErrorBody(BaseModel):
    """A 422: every invalid field, named, without echoing the input."""

    detail: str
    errors: list[FieldProblem]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ValidationErrorBody if code == 422 else ErrorBody,
                   "description": _ERROR_WORDS[code]} for code in codes}


_ERROR_WORDS = {
    400: "Malformed JSON body, or a status an update may not set.",
    401: "Missing or invalid X-API-KEY.",
    403: "X-BUSINESS-ID does not match this executor.",
    404: "No such connector, execution or file.",
    409: "Conflict: api_name taken or in use, or the execution is not queued.",
    413: "Request body larger than the limit.",
    422: "Invalid field, query parameter or path parameter.",
    500: "Internal error; the executor's log has the details.",
}
# 401 and 403 come from the middleware, on every route but /healthz.
_AUTHENTICATED = _errors(401, 403, 500)
# Declared on every route with parameters, or FastAPI would document its own 422
# shape rather than the one _invalid_request answers with.
_WITH_PARAMS = _errors(422)
_WITH_BODY = _errors(400, 413, 422)


def build_app(
    settings: ExecutorSettings,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
) -> FastAPI:
    app = FastAPI(title="scsync executor", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    _routes(app, settings)
    # Added last, so it runs first: nothing (not even the size check) before the key.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(ApiKeyMiddleware, settings=settings)
    return app


def _executor(request: Request) -> Executor:
    executor: Executor = request.app.state.executor
    return executor


def _connector_or_404(executor: Executor, ref: str) -> Row:
    connector = executor.store.get_connector(ref)
    if connector is None:
        raise HTTPException(404, f"SmartConnector {ref!r} not found.")
    return connector


def _routes(app: FastAPI, settings: ExecutorSettings) -> None:
    base = settings.base_url
    api = APIRouter(dependencies=[Security(_API_KEY), Security(_BUSINESS_ID)],
                    responses=_AUTHENTICATED)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @api.get("/metrics", response_class=Response)
    async def metrics(request: Request) -> Response:
        return Response(_executor(request).metrics.render(), media_type=CONTENT_TYPE)

    @api.get("/api/smart-connectors", responses=_WITH_PARAMS)
    async def list_connectors(
        request: Request, status: Status | None = None,
        search: Annotated[str | None, Query(max_length=255)] = None,
        page: Page = 1, page_size: PageSize = 50,
    ) -> dict[str, Any]:
        total, rows = _executor(request).store.list_connectors(
            status=status, search=search, offset=(page - 1) * page_size, limit=page_size)
        return _page(request, total, page, page_size, [connector_view(r) for r in rows])

    @api.post("/api/smart-connectors", status_code=201, responses={**_WITH_BODY, **_errors(409)})
    async def create_connector(request: Request, body: ConnectorCreate) -> dict[str, Any]:
        fields = body.model_dump()
        try:
            row = _executor(request).store.create_connector(fields)
        except ApiNameTaken as exc:
            raise HTTPException(409, f"api_name {body.api_name!r} is already taken.") from exc
        return connector_view(row)

    @api.get("/api/smart-connectors/{c}", responses=_errors(404, 422))
    async def get_connector(request: Request, c: str) -> dict[str, Any]:
        return connector_view(_connector_or_404(_executor(request), c))

    @api.patch("/api/smart-connectors/{c}", responses={**_WITH_BODY, **_errors(404, 409)})
    async def patch_connector(request: Request, c: str, body: ConnectorUpdate) -> dict[str, Any]:
        executor = _executor(request)
        connector = _connector_or_404(executor, c)
        changes = {name: getattr(body, name) for name in body.model_fields_set
                   if name != "force_api_name_change"}
        for name in NOT_NULLABLE:
            if name in changes and changes[name] is None:
                raise HTTPException(422, f"body.{name}: may not be null.")
        if "status" in changes and changes["status"] not in UPDATABLE_STATUSES:
            raise HTTPException(400, STATUS_UPDATE_ERROR)
        new_name = changes.get("api_name")
        if (new_name not in (None, connector["api_name"]) and connector["used_count"] > 0
                and not body.force_api_name_change):
            raise HTTPException(409, (
                f"api_name cannot change: the connector has been used "
                f"{connector['used_count']} time(s) and callers refer to it by name; "
                'send "force_api_name_change": true to change it anyway.'))
        if body.job is not None:
            changes["job"] = body.job.model_dump()
        try:
            row = executor.store.update_connector(connector["id"], changes)
        except ApiNameTaken as exc:
            raise HTTPException(409, f"api_name {new_name!r} is already taken.") from exc
        # A higher limit or an executable status may free slots: admit now, not on a tick.
        executor.scheduler.wake()
        return connector_view(row)

    @api.post("/api/smart-connectors/{c}/start-connector-flow", status_code=201,
              responses={**_WITH_BODY, **_errors(404)})
    async def start_connector_flow(
        request: Request, c: str, user: UserId = None,
        body: Annotated[StartFlow | None, Body()] = None,
    ) -> dict[str, str]:
        executor = _executor(request)
        connector = _connector_or_404(executor, c)
        flow = body or StartFlow()
        execution_id = executor.store.enqueue(
            connector["id"], initiated_by=user or None,
            initiator_email=user if user and is_single_email(user) else None,
            is_dry_run=flow.is_dry_run, diff_check=not flow.disable_diff_check,
        )
        executor.scheduler.wake()
        return {"execution_id": execution_id}

    @api.get("/api/smart-connectors/{c}/executions", responses=_errors(404, 422))
    async def list_executions(
        request: Request, c: str, status: ExecutionStatus | None = None,
        page: Page = 1, page_size: PageSize = 50,
    ) -> dict[str, Any]:
        executor = _executor(request)
        connector = _connector_or_404(executor, c)
        total, rows = executor.store.list_executions(
            connector["id"], status=status, offset=(page - 1) * page_size, limit=page_size)
        queue = _Queue(executor, connector)
        results = [execution_view(executor, r, connector, base, queue=queue) for r in rows]
        return _page(request, total, page, page_size, results)

    @api.get("/api/smart-connectors/{c}/executions/{eid}", responses=_errors(404, 422))
    async def get_execution(request: Request, c: str, eid: uuid.UUID) -> dict[str, Any]:
        executor = _executor(request)
        connector = _connector_or_404(executor, c)
        execution = _execution_or_404(executor, connector, eid)
        return execution_view(executor, execution, connector, base, detail=True)

    @api.post("/api/smart-connectors/{c}/executions/{eid}/cancel",
              responses=_errors(404, 409, 422))
    async def cancel_execution(request: Request, c: str, eid: uuid.UUID,
                               user: UserId = None) -> dict[str, Any]:
        executor = _executor(request)
        connector = _connector_or_404(executor, c)
        execution = _execution_or_404(executor, connector, eid)
        if not executor.scheduler.cancel(execution, connector, user):
            current = _execution_or_404(executor, connector, eid)
            if current["status"] == "running":
                raise HTTPException(409, "The execution is running; only queued executions "
                                         "can be cancelled.")
            raise HTTPException(409, f"The execution already ended ({current['status']}).")
        ended = _execution_or_404(executor, connector, eid)
        return execution_view(executor, ended, connector, base, detail=True)

    @api.get("/api/files/{file_id}/download", responses=_errors(404, 422))
    async def download(request: Request, file_id: uuid.UUID) -> Response:
        row = _executor(request).store.get_file(str(file_id))
        if row is None:
            raise HTTPException(404, "File not found.")
        return Response(row["content"], media_type=row["content_type"], headers={
            "Content-Disposition": f'attachment; filename="{row["name"]}"'})

    app.include_router(api)


def _execution_or_404(executor: Executor, connector: Row, eid: uuid.UUID) -> Row:
    execution = executor.store.get_execution(str(eid), connector["id"])
    if execution is None:
        raise HTTPException(404, f"Execution {eid} not found on {connector['api_name']!r}.")
    return execution


def connector_view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "api_name": row["api_name"],
        "name": row["name"],
        "description": row["description"],
        "status": row["status"],
        "max_concurrent_executions": row["max_concurrent_executions"],
        "create_only": row["create_only"],
        "additional_notification_email": row["additional_notification_email"],
        "additional_error_notification_email": row["additional_error_notification_email"],
        "execution_ended_webhook_url": row["execution_ended_webhook_url"],
        "job": row["job"],
        "stats": {"used_count": row["used_count"]},
        "last_used_at": row["last_used_at"],
        "created": row["created"],
        "updated": row["updated"],
    }


class _Queue:
    """A connector's queue positions and running count, read once per response, if needed."""

    def __init__(self, executor: Executor, connector: Row) -> None:
        self._executor = executor
        self._connector = connector
        self._read: tuple[dict[str, int], int] | None = None

    def reason(self, execution_id: str) -> str:
        if self._read is None:
            store, cid = self._executor.store, self._connector["id"]
            self._read = store.queue_positions(cid), store.running_count(cid)
        positions, running = self._read
        return waiting_reason(self._connector, positions.get(execution_id, 0), running)


def execution_view(executor: Executor, row: Row, connector: Row, base_url: str,
                   *, detail: bool = False, queue: _Queue | None = None) -> dict[str, Any]:
    reason = row["reason"]
    if row["status"] == "queued":
        reason = (queue or _Queue(executor, connector)).reason(row["id"])
    file_id = row["report_file_id"]
    view: dict[str, Any] = {
        "id": row["id"],
        "connector_id": row["connector_id"],
        "api_name": connector["api_name"],
        "status": row["status"],
        "reason": reason,
        "initiated_by": row["initiated_by"],
        "is_dry_run": row["is_dry_run"],
        "diff_check": row["diff_check"],
        "created": row["created"],
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "exit_code": row["exit_code"],
        "record_counts": row["record_counts"],
        "attempt": row["attempt"],
        "report_file_id": file_id,
        "report_url": f"{base_url}/api/files/{file_id}/download" if file_id else None,
    }
    if detail:
        view["notifications"] = [
            {k: n[k] for k in ("kind", "target", "state", "attempts", "last_error", "history")}
            for n in executor.store.notifications_of(row["id"])
        ]
    return view


def _page(request: Request, total: int, page: int, size: int,
          results: list[dict[str, Any]]) -> dict[str, Any]:
    def link(number: int) -> str:
        return str(request.url.include_query_params(page=number, page_size=size))

    return {
        "count": total,
        "next": link(page + 1) if page * size < total else None,
        "previous": link(page - 1) if page > 1 else None,
        "results": results,
    }


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse({"detail": "Malformed JSON body."}, status_code=400)
    # Name each field and say what is wrong; never echo the input (it may be a secret).
    problems = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
                for e in errors]
    detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return JSONResponse({"detail": detail, "errors": problems}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 204 or exc.status_code < 200:
        return Response(status_code=exc.status_code)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("internal error on %s %s: %s", request.method, request.url.path,
              type(exc).__name__, exc_info=exc)
    return JSONResponse({"detail": "Internal error; see the executor's log."}, status_code=500)

