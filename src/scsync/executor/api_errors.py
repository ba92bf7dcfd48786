"""The API's error answers: their shapes in the document, and the handlers that send them.

Every error is `{"detail": "..."}`, a 422 adds the list of invalid fields, and
a 405 names every method the document lists for the path.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from scsync.executor.domain import BadRequest, Conflict, InvalidChange, NotFound, Refusal

# Logged under the API's name, so operators' log filters keep working.
log = logging.getLogger("scsync.executor.api")


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


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ValidationErrorBody if code == 422 else ErrorBody,
                   "description": _ERROR_WORDS[code]} for code in codes}


_ERROR_WORDS = {
    400: "Malformed JSON body, a status an update may not set, or a value the executor "
         "does not offer (an ordering key, a cadence, an object).",
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
AUTHENTICATED = errors(401, 403, 500)
# Declared on every route with parameters, or FastAPI would document its own 422
# shape rather than the one _invalid_request answers with.
WITH_PARAMS = errors(422)
WITH_BODY = errors(400, 408, 413, 422)


def install(app: FastAPI, document: dict[str, Any]) -> None:
    """Answer every error in the shapes above; `document` is the app's OpenAPI document."""
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Refusal, _refused)
    app.add_exception_handler(Exception, _internal_error)
    app.state.allow = _methods_by_path(document)


def _methods_by_path(
    document: dict[str, Any],
) -> list[tuple[re.Pattern[str], set[str], bool]]:
    """What a 405's Allow names: every method the document lists for the path.

    Starlette's own 405 names only the methods of the first route that matched
    the path, and each route here has one method.  A fixed path (`.../metadata`)
    is its own resource, so it wins over a templated one (`.../{c}`) it also matches.
    """
    return [(compile_path(path)[0], {method.upper() for method in operations}, "{" not in path)
            for path, operations in document["paths"].items()]


def method_not_allowed() -> StarletteHTTPException:
    """A 405 for a route that takes every other method of a fixed path (see api.py)."""
    return StarletteHTTPException(405, "Method Not Allowed")


_REFUSAL_STATUS: dict[type[Refusal], int] = {NotFound: 404, Conflict: 409, InvalidChange: 400,
                                             BadRequest: 400}


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
        matches = [(methods, fixed) for pattern, methods, fixed in request.app.state.allow
                   if pattern.match(path)]
        fixed_only = [methods for methods, fixed in matches if fixed]
        allowed = set().union(*(fixed_only or [methods for methods, _ in matches]))
        headers["Allow"] = ", ".join(sorted(allowed))
    body: dict[str, Any] = {"detail": exc.detail}
    if exc.status_code == 422:  # the document promises every 422 its list
        body["errors"] = []
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("internal error on %s %s: %s", request.method, request.url.path,
              type(exc).__name__, exc_info=exc)
    return JSONResponse({"detail": "Internal error; see the executor's log."}, status_code=500)

