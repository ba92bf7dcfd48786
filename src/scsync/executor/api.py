"""The HTTP API: Kizen's SmartConnector paths, fields and error shapes.

Every route is `async def` on purpose: handlers then run on the event-loop
thread, the only thread that touches the SQLite connection (see store.py).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any, cast

from fastapi import (
    APIRouter,
    Body,
    Depends,
    FastAPI,
    Header,
    Path,
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
from starlette.routing import compile_path

from scsync import __version__
from scsync.executor.auth import ApiKeyMiddleware
from scsync.executor.domain import Conflict, InvalidChange, NotFound, Refusal
from scsync.executor.metrics import CONTENT_TYPE
from scsync.executor.models import ConnectorCreate, ConnectorUpdate, StartFlow, Status
from scsync.executor.records import ConnectorSettings
from scsync.executor.service import Executor
from scsync.executor.settings import ExecutorSettings
from scsync.executor.views import (
    ConnectorPage,
    ConnectorView,
    ExecutionDetail,
    ExecutionPage,
    ExecutionStatus,
    Health,
    Queue,
    Started,
    connector_view,
    execution_view,
    page_of,
)
from scsync.hosting import BodyLimitMiddleware

log = logging.getLogger("scsync.executor.api")

Page = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=1000)]
ConnectorRef = Annotated[str, Path(description="The connector's id (a UUID) or its api_name.")]
UserId = Annotated[str | None, Header(
    alias="X-USER-ID", max_length=254,
    description="The user who acts (optional); an email address also gets the notification.")]

# For the OpenAPI document only: ApiKeyMiddleware checks the headers before routing
# (so that no body is parsed for an unauthenticated caller), and these never refuse.
_API_KEY = APIKeyHeader(name="X-API-KEY", scheme_name="ApiKey", auto_error=False,
                        description="The executor's API key; 401 when missing or wrong.")
_BUSINESS_ID = APIKeyHeader(
    name="X-BUSINESS-ID", scheme_name="BusinessId", auto_error=False,
    description="This executor's business id (SCSYNC_BUSINESS_ID); 403 when missing or "
                "different.")


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
    408: "The request was not sent whole within SCSYNC_HTTP_DEADLINE (30 s by default).",
    409: "Conflict: api_name taken or in use, or the execution is not queued.",
    413: "Request body larger than the limit (1 MiB by default).",
    422: "Invalid field, query parameter or path parameter.",
    500: "Internal error; the executor's log has the details.",
}
# 401 and 403 come from the middleware, on every route but /healthz.
_AUTHENTICATED = _errors(401, 403, 500)
# Declared on every route with parameters, or FastAPI would document its own 422
# shape rather than the one _invalid_request answers with.
_WITH_PARAMS = _errors(422)
_WITH_BODY = _errors(400, 408, 413, 422)


def build_app(
    settings: ExecutorSettings,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
) -> FastAPI:
    app = FastAPI(title="scsync executor", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Refusal, _refused)
    app.add_exception_handler(Exception, _internal_error)
    app.include_router(open_routes)
    # The business id is a requirement (and in the document) only when one is configured.
    checks = [Depends(_one_value_each), Security(_API_KEY)]
    if settings.business_id:
        checks.append(Security(_BUSINESS_ID))
    app.include_router(routes, dependencies=checks, responses=_AUTHENTICATED)
    app.openapi_schema = _document(app)
    app.state.allow = _methods_by_path(app.openapi_schema)
    # Added last, so it runs first: nothing (not even the size check) before the key.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(ApiKeyMiddleware, settings=settings)
    return app


def _document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, its `security` saying what ApiKeyMiddleware enforces.

    FastAPI lists each security dependency as an alternative (either header would
    do). The middleware requires all of them: the key, and the business id when
    one is configured (only then is it a dependency), so each operation gets one
    requirement that names them all.
    """
    document = app.openapi()
    for operations in document["paths"].values():
        for operation in operations.values():
            if requirements := operation.get("security"):
                operation["security"] = [{name: [] for need in requirements for name in need}]
    return document


def _methods_by_path(document: dict[str, Any]) -> list[tuple[re.Pattern[str], set[str]]]:
    """What a 405's Allow names: every method the document lists for the path.

    Starlette's own 405 names only the methods of the first route that matched
    the path, and each route here has one method.
    """
    return [(compile_path(path)[0], {method.upper() for method in operations})
            for path, operations in document["paths"].items()]


async def _one_value_each(request: Request) -> None:
    """No query parameter here takes a list: a repeated one is refused, where FastAPI
    would quietly keep the last of its values."""
    counts = Counter(key for key, _ in request.query_params.multi_items())
    if repeated := sorted(key for key, count in counts.items() if count > 1):
        raise RequestValidationError([
            {"type": "repeated", "loc": ("query", key), "msg": "may be given only once"}
            for key in repeated])


def _executor(request: Request) -> Executor:
    executor: Executor = request.app.state.executor
    return executor


Service = Annotated[Executor, Depends(_executor)]

open_routes = APIRouter()
routes = APIRouter()
"""Every route but /healthz; build_app adds the checks (they depend on the settings)."""


@open_routes.get("/healthz", response_model=Health)
async def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@routes.get("/metrics", response_class=Response, responses={200: {
    "description": "Prometheus text format.",
    "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def metrics(executor: Service) -> Response:
    return Response(executor.metrics.render(), media_type=CONTENT_TYPE)


@routes.get("/api/smart-connectors", response_model=ConnectorPage, responses=_WITH_PARAMS)
async def list_connectors(
    request: Request, executor: Service, status: Status | None = None,
    search: Annotated[str | None, Query(max_length=255)] = None,
    page: Page = 1, page_size: PageSize = 50,
) -> dict[str, Any]:
    total, rows = executor.store.list_connectors(
        status=status, search=search, offset=(page - 1) * page_size, limit=page_size)
    return page_of(request, total, page, page_size, [connector_view(r) for r in rows])


@routes.post("/api/smart-connectors", status_code=201, response_model=ConnectorView,
             responses={**_WITH_BODY, **_errors(409)})
async def create_connector(executor: Service, body: ConnectorCreate) -> dict[str, Any]:
    return connector_view(executor.create_connector(_settings_of(body.model_dump())))


@routes.get("/api/smart-connectors/{c}", response_model=ConnectorView,
            responses=_errors(404, 422))
async def get_connector(executor: Service, c: ConnectorRef) -> dict[str, Any]:
    return connector_view(executor.connector(c))


@routes.patch("/api/smart-connectors/{c}", response_model=ConnectorView,
              responses={**_WITH_BODY, **_errors(404, 409)})
async def patch_connector(executor: Service, c: ConnectorRef,
                          body: ConnectorUpdate) -> dict[str, Any]:
    return connector_view(executor.update_connector(
        c, _settings_of(body.changes()), force_api_name_change=body.force_api_name_change))


@routes.post("/api/smart-connectors/{c}/start-connector-flow", status_code=201,
             response_model=Started, responses={**_WITH_BODY, **_errors(404)})
async def start_connector_flow(
    executor: Service, c: ConnectorRef, user: UserId = None,
    body: Annotated[StartFlow | None, Body()] = None,
) -> dict[str, str]:
    flow = body or StartFlow()
    return {"execution_id": executor.trigger(c, user=user, is_dry_run=flow.is_dry_run,
                                             diff_check=not flow.disable_diff_check)}


@routes.get("/api/smart-connectors/{c}/executions", response_model=ExecutionPage,
            responses=_errors(404, 422))
async def list_executions(
    request: Request, executor: Service, c: ConnectorRef,
    status: ExecutionStatus | None = None, page: Page = 1, page_size: PageSize = 50,
) -> dict[str, Any]:
    connector = executor.connector(c)
    total, rows = executor.store.list_executions(
        connector.id, status=status, offset=(page - 1) * page_size, limit=page_size)
    queue = Queue(executor, connector)
    results = [execution_view(executor, r, connector, queue=queue) for r in rows]
    return page_of(request, total, page, page_size, results)


@routes.get("/api/smart-connectors/{c}/executions/{eid}", response_model=ExecutionDetail,
            responses=_errors(404, 422))
async def get_execution(executor: Service, c: ConnectorRef, eid: uuid.UUID) -> dict[str, Any]:
    connector = executor.connector(c)
    return execution_view(executor, executor.execution(connector, str(eid)), connector,
                          detail=True)


@routes.post("/api/smart-connectors/{c}/executions/{eid}/cancel",
             response_model=ExecutionDetail, responses=_errors(404, 409, 422))
async def cancel_execution(executor: Service, c: ConnectorRef, eid: uuid.UUID,
                           user: UserId = None) -> dict[str, Any]:
    connector, ended = executor.cancel(c, str(eid), user)
    return execution_view(executor, ended, connector, detail=True)


@routes.get("/api/files/{file_id}/download", response_class=Response, responses={
    200: {"description": "The execution's report.",
          "content": {"application/json": {"schema": {"type": "object"}}}},
    **_errors(404, 422)})
async def download(executor: Service, file_id: uuid.UUID) -> Response:
    file = executor.report_file(str(file_id))
    return Response(file.content, media_type=file.content_type, headers={
        "Content-Disposition": f'attachment; filename="{file.name}"'})


def _settings_of(fields: dict[str, Any]) -> ConnectorSettings:
    """The request models (models.py) have the fields of ConnectorSettings, checked there."""
    return cast(ConnectorSettings, fields)


_REFUSAL_STATUS: dict[type[Refusal], int] = {NotFound: 404, Conflict: 409, InvalidChange: 400}


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    """A rule of domain.py refused: its HTTP status, its message as the detail."""
    assert isinstance(exc, Refusal)
    return JSONResponse({"detail": str(exc)}, status_code=_REFUSAL_STATUS[type(exc)])


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
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        path = request.scope["path"]
        allowed = set().union(*(methods for pattern, methods in request.app.state.allow
                                if pattern.match(path)))
        headers["Allow"] = ", ".join(sorted(allowed))
    body: dict[str, Any] = {"detail": exc.detail}
    if exc.status_code == 422:  # the document promises every 422 its list
        body["errors"] = []
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("internal error on %s %s: %s", request.method, request.url.path,
              type(exc).__name__, exc_info=exc)
    return JSONResponse({"detail": "Internal error; see the executor's log."}, status_code=500)

