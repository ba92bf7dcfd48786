"""The HTTP API: Kizen's SmartConnector paths and fields (error shapes in api_errors.py).

Each route is a module-level function that takes the running `Executor` as a
dependency and makes one call to it (service.py), which applies the rules of
domain.py; a `Refusal` it raises becomes the error answer.  Every route is
`async def` on purpose: handlers then run on the event-loop thread, the only
thread that touches the SQLite connection (see store.py).
"""

from __future__ import annotations

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

from scsync import __version__
from scsync.executor import api_errors, dialect
from scsync.executor.api_errors import AUTHENTICATED, WITH_BODY, WITH_PARAMS, errors
from scsync.executor.auth import ApiKeyMiddleware
from scsync.executor.metrics import CONTENT_TYPE
from scsync.executor.models import (
    NUL_REFUSED,
    ConnectorCreate,
    ConnectorType,
    ConnectorUpdate,
    StartFlow,
    Status,
    has_nul,
)
from scsync.executor.records import ConnectorSettings
from scsync.executor.service import Executor
from scsync.executor.settings import ExecutorSettings
from scsync.executor.views import (
    ActivityList,
    ConnectorPage,
    ConnectorView,
    CustomObjectPage,
    ExecutionDetail,
    ExecutionPage,
    Health,
    Metadata,
    Queue,
    Readiness,
    Started,
    StatusFilter,
    activity_view,
    connector_view,
    custom_object_view,
    execution_view,
    page_of,
)
from scsync.hosting import BodyLimitMiddleware

Page = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=1000)]
ACTIVITY_IDS = 200
_UUID = "[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
"""Connectors an activity request may name (a page of the controller's overview)."""
ConnectorRef = Annotated[str, Path(description="The connector's id (a UUID) or its api_name.")]
# Checked by the service, whose 400 lists the allowed keys (a Literal would be a bare 422);
# the document lists them as an enum all the same.
ConnectorOrdering = Annotated[str | None, Query(
    max_length=64, json_schema_extra={
        "enum": dialect.ordering_keys(dialect.CONNECTOR_ORDERING)},
    description="Sort key; `-` reverses. Another gets 400 listing these.")]
ExecutionOrdering = Annotated[str | None, Query(
    max_length=64, json_schema_extra={"enum": dialect.ordering_keys(dialect.EXECUTION_ORDERING)},
    description="created (oldest first) or -created (newest first, the default); another "
                "gets 400.")]
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


def build_app(
    settings: ExecutorSettings,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
) -> FastAPI:
    app = FastAPI(title="scsync executor", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.include_router(open_routes)
    # The business id is a requirement (and in the document) only when one is configured.
    checks = [Depends(_one_value_each), Security(_API_KEY)]
    if settings.business_id:
        checks.append(Security(_BUSINESS_ID))
    app.include_router(routes, dependencies=checks, responses=AUTHENTICATED)
    app.openapi_schema = _document(app)
    _offered(app.openapi_schema, settings)
    _no_nul(app.openapi_schema)
    api_errors.install(app, app.openapi_schema)
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


NO_NUL = {"not": {"pattern": "\u0000"}}
"""What a string the executor takes may not hold: a NUL character (models.has_nul)."""


def _no_nul(document: dict[str, Any]) -> None:
    """Every string a request may send (bodies, query and path parameters) says that it
    may not hold a NUL character, as the executor enforces it."""
    def mark(schema: Any) -> None:
        if not isinstance(schema, dict):
            return
        if schema.get("type") == "string" and "enum" not in schema and "const" not in schema:
            schema.update(NO_NUL)
        for key in ("anyOf", "oneOf", "allOf"):
            for branch in schema.get(key, []):
                mark(branch)
        for child in (schema.get("items"), schema.get("additionalProperties")):
            mark(child)
        for child in (schema.get("properties") or {}).values():
            mark(child)

    for name in ("ConnectorCreate", "ConnectorUpdate", "Job", "StartFlow"):
        mark(document["components"]["schemas"].get(name))
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in ("query", "path"):
                    mark(parameter.get("schema"))


def _offered(document: dict[str, Any], settings: ExecutorSettings) -> None:
    """The document lists the values this executor offers, as the service enforces them:
    its objects' ids for custom_object, and its cadence choices when it has any."""
    offered: dict[str, list[Any]] = {"custom_object": [o.id for o in settings.custom_objects]}
    if settings.cadence_choices:
        offered["cadence"] = list(settings.cadence_choices)
    schemas = document["components"]["schemas"]
    for model in ("ConnectorCreate", "ConnectorUpdate"):
        for name, values in offered.items():
            field = schemas[model]["properties"][name]
            for branch in field.get("anyOf", [field]):
                if branch.get("type") != "null":
                    branch["enum"] = values


async def _one_value_each(request: Request) -> None:
    """No query parameter here takes a list: a repeated one is refused, where FastAPI
    would quietly keep the last of its values.  A NUL character in a query or path
    parameter is refused too, as in a body (models.py)."""
    counts = Counter(key for key, _ in request.query_params.multi_items())
    if repeated := sorted(key for key, count in counts.items() if count > 1):
        raise RequestValidationError([
            {"type": "repeated", "loc": ("query", key), "msg": "may be given only once"}
            for key in repeated])
    given = [*(("query", k, v) for k, v in request.query_params.multi_items()),
             *(("path", k, v) for k, v in request.path_params.items())]
    if nul := [(where, key) for where, key, value in given if has_nul(value)]:
        raise RequestValidationError([
            {"type": "value_error", "loc": loc, "msg": NUL_REFUSED} for loc in nul])


async def _executor(request: Request) -> Executor:
    """The running executor. `async`, as the routes are: FastAPI would run a plain
    function in a worker thread, a thread hop per request (it doubled a trigger's cost)."""
    executor: Executor = request.app.state.executor
    return executor


Service = Annotated[Executor, Depends(_executor)]

open_routes = APIRouter()
routes = APIRouter()
"""Every route but /healthz; build_app adds the checks (they depend on the settings)."""


@open_routes.get("/healthz", response_model=Health)
async def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@open_routes.get("/readyz", response_model=Readiness, responses={
    503: {"model": Readiness, "description": "Not ready: the database does not answer, or "
          "this replica does not hold its lease."}})
async def readyz(executor: Service) -> JSONResponse:
    """Ready to serve: the database answers and, on PostgreSQL, this replica holds its
    lease (for a load balancer's readiness probe)."""
    reason = executor.not_ready()
    replica = executor.replica.id if executor.replica else None
    return JSONResponse({"status": "not ready" if reason else "ready", "reason": reason,
                         "replica": replica}, status_code=503 if reason else 200)


@routes.get("/metrics", response_class=Response, responses={200: {
    "description": "Prometheus text format.",
    "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def metrics(executor: Service) -> Response:
    return Response(executor.metrics.render(), media_type=CONTENT_TYPE)


@routes.get("/api/smart-connectors", response_model=ConnectorPage,
            responses={**WITH_PARAMS, **errors(400)})
async def list_connectors(
    request: Request, executor: Service, status: Status | None = None,
    search: Annotated[str | None, Query(max_length=255)] = None,
    connector_type: ConnectorType | None = None,
    custom_object: Annotated[str | None, Query(max_length=64)] = None,
    active: Annotated[bool | None, Query(
        description="true: operational and need_attention; false: the others.")] = None,
    ordering: ConnectorOrdering = None, page: Page = 1, page_size: PageSize = 50,
) -> dict[str, Any]:
    total, rows = executor.connectors(
        status=status, search=search, offset=(page - 1) * page_size, limit=page_size,
        ordering=ordering, connector_type=connector_type, custom_object=custom_object,
        active=active)
    return page_of(request, total, page, page_size, [connector_view(r) for r in rows])


# Before /{c}: "metadata" would otherwise be looked up as a connector (and is reserved).
@routes.get("/api/smart-connectors/metadata", response_model=Metadata)
async def metadata(executor: Service) -> dict[str, object]:
    return executor.metadata()


@routes.api_route("/api/smart-connectors/metadata", include_in_schema=False,
                  methods=["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def metadata_other_methods() -> None:
    """/metadata is read-only: the other methods are a 405, not a connector named so."""
    raise api_errors.method_not_allowed()


@routes.get("/api/scsync/activity", response_model=ActivityList, responses=WITH_PARAMS)
async def activity(
    executor: Service,
    connector_ids: Annotated[str, Query(
        max_length=ACTIVITY_IDS * 37 - 1, pattern=f"^({_UUID}(,{_UUID})*)?$", description=(
            f"Up to {ACTIVITY_IDS} connector ids (UUIDs with their hyphens), separated by "
            "commas; unknown ones are left out."))] = "",
) -> dict[str, Any]:
    """scsync's own, not Kizen's: running and queued counts and the newest execution of
    many connectors in one answer (the controller's overview)."""
    ids = connector_ids.split(",") if connector_ids else []
    return {"results": [activity_view(executor, a) for a in executor.activity(ids)]}


@routes.get("/api/custom-objects", response_model=CustomObjectPage, responses=WITH_PARAMS)
async def list_custom_objects(
    request: Request, executor: Service,
    custom_only: Annotated[bool, Query(
        description="As on Kizen: built-in objects (client_client) only with false.")] = True,
    page: Page = 1, page_size: PageSize = 50,
) -> dict[str, Any]:
    objects = executor.custom_objects(custom_only=custom_only)
    start = (page - 1) * page_size
    return page_of(request, len(objects), page, page_size,
                   [custom_object_view(o) for o in objects[start:start + page_size]])


@routes.post("/api/smart-connectors", status_code=201, response_model=ConnectorView,
             responses={**WITH_BODY, **errors(409)})
async def create_connector(executor: Service, body: ConnectorCreate) -> dict[str, Any]:
    return connector_view(executor.create_connector(_settings_of(body.model_dump())))


@routes.get("/api/smart-connectors/{c}", response_model=ConnectorView,
            responses=errors(404, 422))
async def get_connector(executor: Service, c: ConnectorRef) -> dict[str, Any]:
    return connector_view(executor.connector(c))


@routes.patch("/api/smart-connectors/{c}", response_model=ConnectorView,
              responses={**WITH_BODY, **errors(404, 409)})
async def patch_connector(executor: Service, c: ConnectorRef,
                          body: ConnectorUpdate) -> dict[str, Any]:
    return connector_view(executor.update_connector(
        c, _settings_of(body.changes()), force_api_name_change=body.force_api_name_change))


@routes.post("/api/smart-connectors/{c}/start-connector-flow", status_code=201,
             response_model=Started, responses={**WITH_BODY, **errors(404)})
async def start_connector_flow(
    executor: Service, c: ConnectorRef, user: UserId = None,
    body: Annotated[StartFlow | None, Body()] = None,
) -> dict[str, str]:
    flow = body or StartFlow()
    return {"execution_id": executor.trigger(c, user=user, is_dry_run=flow.is_dry_run,
                                             diff_check=not flow.disable_diff_check)}


@routes.get("/api/smart-connectors/{c}/executions", response_model=ExecutionPage,
            responses=errors(400, 404, 422))
async def list_executions(
    request: Request, executor: Service, c: ConnectorRef,
    status: Annotated[StatusFilter | None, Query(
        description="An execution status; Kizen's `failed` is taken for `error`.")] = None,
    include_dry_run: bool = True, ordering: ExecutionOrdering = None,
    page: Page = 1, page_size: PageSize = 50,
) -> dict[str, Any]:
    connector = executor.connector(c)
    total, rows = executor.executions(
        connector, status=status, offset=(page - 1) * page_size, limit=page_size,
        ordering=ordering, include_dry_run=include_dry_run)
    queue, base = Queue(executor, connector), executor.settings.base_url
    results = [execution_view(executor, r, connector, base, queue=queue) for r in rows]
    return page_of(request, total, page, page_size, results)


@routes.get("/api/smart-connectors/{c}/executions/{eid}", response_model=ExecutionDetail,
            responses=errors(404, 422))
async def get_execution(executor: Service, c: ConnectorRef, eid: uuid.UUID) -> dict[str, Any]:
    connector = executor.connector(c)
    return execution_view(executor, executor.execution(connector, str(eid)), connector,
                          executor.settings.base_url, detail=True)


@routes.post("/api/smart-connectors/{c}/executions/{eid}/cancel",
             response_model=ExecutionDetail, responses=errors(404, 409, 422))
async def cancel_execution(executor: Service, c: ConnectorRef, eid: uuid.UUID,
                           user: UserId = None) -> dict[str, Any]:
    connector, ended = executor.cancel(c, str(eid), user)
    return execution_view(executor, ended, connector, executor.settings.base_url,
                          detail=True)


@routes.get("/api/files/{file_id}/download", response_class=Response, responses={
    200: {"description": "The execution's report.",
          "content": {"application/json": {"schema": {"type": "object"}}}},
    **errors(404, 422)})
async def download(executor: Service, file_id: uuid.UUID) -> Response:
    file = executor.report_file(str(file_id))
    return Response(file.content, media_type=file.content_type, headers={
        "Content-Disposition": f'attachment; filename="{file.name}"'})


def _settings_of(fields: dict[str, Any]) -> ConnectorSettings:
    """The request models (models.py) have the fields of ConnectorSettings, checked there."""
    return cast(ConnectorSettings, fields)
