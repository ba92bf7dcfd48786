"""The one module of scsync that speaks HTTP to an executor: Kizen's cloud or the embedded one.

Both serve the same SmartConnector API, so the controller uses this client for
either.  Credentials come from the environment (`SCSYNC_API_KEY`,
`SCSYNC_BUSINESS_ID`, `SCSYNC_USER_ID`) or, for a local executor, from the key
file `scsync executor serve` writes at `<repo>/.scsync/api-key`.

Failures are `ExecutorError`s whose class says whether a retry can help; no
`requests` exception leaves this module.  The client retries by itself what is
safe to retry: 429 and 503 always (the server did not act), other 5xx,
timeouts and dropped connections only for idempotent requests (GET, PATCH),
because a retried POST could start a flow twice.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import requests
from urllib3.exceptions import NewConnectionError

from scsync.errors import ConfigError, ScsyncError

DEFAULT_URL = "http://127.0.0.1:8765"
KEY_FILE = Path(".scsync") / "api-key"
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
METADATA, CUSTOM_OBJECTS = "/api/smart-connectors/metadata", "/api/custom-objects"
ACTIVITY = "/api/scsync/activity"
"""The embedded executor's own route (not Kizen's): many connectors' executions at once."""
#: Manifest setting -> its field on the wire, for the settings Kizen's public material
#: never shows: assumed to be the embedded executor's names until evidence says otherwise,
#: so correcting one is a one-line change (docs/controller.md: verified and assumed).
WIRE_NAMES: Mapping[str, str] = MappingProxyType({
    "max_concurrent_executions": "max_concurrent_executions",
    "additional_notification_email": "additional_notification_email",
    "additional_error_notification_email": "additional_error_notification_email",
    "execution_ended_webhook_url": "execution_ended_webhook_url",
    "create_only": "create_only",
})


def wire_name(setting: str) -> str:
    """The field that carries manifest setting `setting` in the executor's JSON."""
    return WIRE_NAMES.get(setting, setting)


class ExecutorError(ScsyncError):
    """The executor answered with an error, or could not be reached (status None)."""

    retryable: ClassVar[bool] = False

    def __init__(self, status: int | None, detail: str) -> None:
        self.status = status
        self.detail = detail
        prefix = f"HTTP {status}: " if status is not None else ""
        super().__init__(f"{prefix}{detail}")


class ClientSideError(ExecutorError):
    """4xx: the request is wrong; sending it again changes nothing."""


class BadRequest(ClientSideError):
    """400 or 422: a field is missing or invalid; `detail` names it."""


class Unauthorized(ClientSideError):
    """401: the API key is missing or wrong."""


class Forbidden(ClientSideError):
    """403: the key is valid but not for this business id."""


class NotFound(ClientSideError):
    """404: no such connector, execution or file."""


class Conflict(ClientSideError):
    """409: the request clashes with the current state (api_name taken or in use, running)."""


class PayloadTooLarge(ClientSideError):
    """413: the body is over the server's limit."""


class RateLimited(ClientSideError):
    """429: too many requests; retry after the delay the server asked for."""

    retryable = True


class ServerSideError(ExecutorError):
    """5xx: the executor failed; a later attempt may succeed."""

    retryable = True


class ExecutorUnavailable(ServerSideError):
    """No answer: the connection dropped or timed out after the request may have been sent."""


class ExecutorUnreachable(ExecutorUnavailable):
    """No connection at all (refused, DNS failure, connect timeout): nothing was sent."""


class BadResponse(ExecutorError):
    """The answer is not the JSON the API promises (a proxy page, a wrong URL)."""


_BY_STATUS: dict[int, type[ExecutorError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
    413: PayloadTooLarge, 422: BadRequest, 429: RateLimited,
}


def error_for(status: int, detail: str) -> ExecutorError:
    cls = _BY_STATUS.get(status) or (ServerSideError if status >= 500 else ClientSideError)
    return cls(status, detail)


@dataclass(frozen=True)
class Credentials:
    api_key: str = field(repr=False)
    business_id: str | None = None
    user_id: str | None = None

    def __repr__(self) -> str:
        return f"Credentials(api_key='***', business_id={self.business_id!r})"

    @classmethod
    def from_env(cls, repo: Path | None = None,
                 environ: Mapping[str, str] | None = None) -> Credentials:
        """From SCSYNC_* variables; the key falls back to the local executor's key file."""
        env = os.environ if environ is None else environ
        key = env.get("SCSYNC_API_KEY", "").strip()
        if not key:
            path = (repo or Path.cwd()) / KEY_FILE
            try:
                key = path.read_text(encoding="utf-8").strip()
            except OSError:
                key = ""
            if not key:
                # The environment's fault, not the executor's: nothing was sent yet.
                raise ConfigError(f"no API key: set SCSYNC_API_KEY, or start 'scsync "
                                  f"executor serve' in {path.parent.parent} (it writes {path})")
        return cls(key, env.get("SCSYNC_BUSINESS_ID") or None, env.get("SCSYNC_USER_ID") or None)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Tries per request, the first included."""
    backoff: float = 0.5
    """First delay in seconds, doubled per retry, with jitter."""
    max_delay: float = 30.0
    """Ceiling on one delay, Retry-After included."""


class BadExecutorUrl(ScsyncError):
    """The executor URL is not an http(s) URL with a host."""


def check_url(url: str) -> str:
    """`url` if it can reach an executor; checked once here, not by each command."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # a port that is not a number, or over 65535
        port_ok = False
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise BadExecutorUrl(f"executor URL {url!r} is not valid: expected "
                             "http(s)://HOST[:PORT], e.g. http://127.0.0.1:8765")
    return url


class ExecutorClient:
    def __init__(self, base_url: str, credentials: Credentials, *, timeout: float = 10.0,
                 retry: RetryPolicy | None = None) -> None:
        self.base_url = check_url(base_url).rstrip("/")
        self._credentials = credentials
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._session = requests.Session()
        headers = {"X-API-KEY": credentials.api_key, "Accept": "application/json"}
        if credentials.business_id:
            headers["X-BUSINESS-ID"] = credentials.business_id
        if credentials.user_id:
            headers["X-USER-ID"] = credentials.user_id
        self._session.headers.update(headers)

    @classmethod
    def from_env(cls, base_url: str | None = None, *, repo: Path | None = None,
                 **options: Any) -> ExecutorClient:
        url = base_url or os.environ.get("SCSYNC_EXECUTOR_URL") or DEFAULT_URL
        return cls(url, Credentials.from_env(repo), **options)

    def __repr__(self) -> str:
        return f"ExecutorClient({self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ExecutorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the API ------------------------------------------------------------

    def healthz(self) -> dict[str, Any]:
        return self._json("GET", "/healthz")

    def list_connectors(self, *, status: str | None = None, search: str | None = None,
                        page_size: int = 100) -> Iterator[dict[str, Any]]:
        yield from self._pages("/api/smart-connectors",
                               {"status": status, "search": search}, page_size)

    def service_title(self) -> str | None:
        """The `info.title` of the executor's OpenAPI document; None when it serves none."""
        try:
            info = self._json("GET", "/openapi.json").get("info")
        except (ClientSideError, BadResponse):
            return None
        return info.get("title") if isinstance(info, dict) \
            and isinstance(info.get("title"), str) else None

    def metadata(self) -> dict[str, Any] | None:
        """Kizen's catalogue (`cadence_choices`, ...); None when there is none (404)."""
        try:
            return self._json("GET", METADATA)
        except NotFound:
            return None

    def list_custom_objects(self, *, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every page of objects (`id` a UUID, `name` the api_name); NotFound if none.

        `custom_only=false`: Kizen leaves built-in objects such as `client_client`
        (contacts) out of this list unless asked, as its own client's notes say.
        """
        yield from self._pages(CUSTOM_OBJECTS, {"custom_only": "false"}, page_size)

    def get_connector(self, ref: str) -> dict[str, Any]:
        return self._json("GET", f"/api/smart-connectors/{_seg(ref)}")

    def create_connector(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/api/smart-connectors", body=dict(fields))

    def patch_connector(self, ref: str, changes: Mapping[str, Any], *,
                        force_api_name_change: bool = False) -> dict[str, Any]:
        body = dict(changes)
        if force_api_name_change:
            body["force_api_name_change"] = True
        return self._json("PATCH", f"/api/smart-connectors/{_seg(ref)}", body=body)

    def start_flow(self, ref: str, *, is_dry_run: bool = False,
                   disable_diff_check: bool = False) -> str:
        """Queue an execution; returns its id. Never refused for status or limit."""
        answer = self._json("POST", f"/api/smart-connectors/{_seg(ref)}/start-connector-flow",
                            body={"is_dry_run": is_dry_run,
                                  "disable_diff_check": disable_diff_check})
        execution_id: str = answer["execution_id"]
        return execution_id

    def list_executions(self, ref: str, *, status: str | None = None,
                        page_size: int = 100) -> Iterator[dict[str, Any]]:
        yield from self._pages(f"/api/smart-connectors/{_seg(ref)}/executions",
                               {"status": status}, page_size)

    def execution_page(self, ref: str, *, status: str | None = None,
                       page_size: int = 1) -> tuple[int, list[dict[str, Any]]]:
        """How many executions there are (of `status`), and the newest `page_size` of them:
        one request."""
        params: dict[str, Any] = {"page": 1, "page_size": page_size}
        if status is not None:
            params["status"] = status
        path = f"/api/smart-connectors/{_seg(ref)}/executions"
        answer = self._json("GET", path, params=params)
        results, count = answer.get("results"), answer.get("count")
        if not isinstance(results, list) or not isinstance(count, int):
            raise BadResponse(200, f"GET {path}: the answer has no 'count' and 'results'")
        return count, results

    def activity(self, connector_ids: Sequence[str]) -> list[dict[str, Any]] | None:
        """Running and queued counts and the newest execution of each connector, one
        request (at most 200 ids); None from an executor without the route (Kizen)."""
        try:
            answer = self._json("GET", ACTIVITY,
                                params={"connector_ids": ",".join(connector_ids)})
        except NotFound:
            return None
        results = answer.get("results")
        if not isinstance(results, list):
            raise BadResponse(200, f"GET {ACTIVITY}: the answer has no 'results' list")
        return results

    def get_execution(self, ref: str, execution_id: str) -> dict[str, Any]:
        return self._json("GET",
                          f"/api/smart-connectors/{_seg(ref)}/executions/{_seg(execution_id)}")

    def cancel_execution(self, ref: str, execution_id: str) -> dict[str, Any]:
        path = f"/api/smart-connectors/{_seg(ref)}/executions/{_seg(execution_id)}/cancel"
        return self._json("POST", path)

    def download_report(self, file_id: str) -> bytes:
        return self.download_file(file_id)[0]

    def download_file(self, file_id: str) -> tuple[bytes, str]:
        """A file's bytes and the media type the executor gave it."""
        response = self._request("GET", f"/api/files/{_seg(file_id)}/download")
        media = response.headers.get("Content-Type", "application/octet-stream")
        return response.content, media.split(";")[0].strip().lower()

    # -- transport ----------------------------------------------------------

    def _pages(self, path: str, filters: Mapping[str, str | None],
               page_size: int) -> Iterator[dict[str, Any]]:
        # Page numbers, not the server's `next` links: following an absolute URL
        # from a response could send the key to another host.
        params = {k: v for k, v in filters.items() if v is not None}
        page = 1
        while True:
            answer = self._json("GET", path, params={**params, "page": page,
                                                     "page_size": page_size})
            results = answer.get("results")
            if not isinstance(results, list):
                raise BadResponse(200, f"GET {path}: the answer has no 'results' list")
            yield from results
            if not answer.get("next") or not results:
                return
            page += 1

    def _json(self, method: str, path: str, *, body: dict[str, Any] | None = None,
              params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response = self._request(method, path, body=body, params=params)
        try:
            data = response.json()
        except ValueError:
            raise BadResponse(response.status_code,
                              f"{method} {path}: the answer is not JSON") from None
        if not isinstance(data, dict):
            raise BadResponse(response.status_code,
                              f"{method} {path}: the answer is not a JSON object")
        return data

    def _request(self, method: str, path: str, *, body: dict[str, Any] | None = None,
                 params: Mapping[str, Any] | None = None) -> requests.Response:
        url = self.base_url + path
        policy = self._retry
        for attempt in range(1, policy.attempts + 1):
            error, delay = self._attempt(method, url, path, body, params)
            if isinstance(error, requests.Response):
                return error
            last = attempt == policy.attempts
            if last or not error.retryable or not _safe_to_retry(method, error):
                raise error
            backoff = policy.backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)  # noqa: S311
            time.sleep(min(policy.max_delay, delay if delay is not None else backoff))
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, method: str, url: str, path: str, body: dict[str, Any] | None,
                 params: Mapping[str, Any] | None,
                 ) -> tuple[requests.Response | ExecutorError, float | None]:
        try:
            response = self._session.request(method, url, json=body, params=params,
                                             timeout=self._timeout, allow_redirects=False)
        except requests.ConnectTimeout:
            return ExecutorUnreachable(None, f"{method} {path}: cannot connect to "
                                             f"{self.base_url} (timeout)"), None
        except requests.Timeout:
            return ExecutorUnavailable(None, f"{method} {path}: no answer within "
                                             f"{self._timeout:g}s from {self.base_url}"), None
        except requests.ConnectionError as exc:
            if _never_connected(exc):
                return ExecutorUnreachable(None, f"{method} {path}: cannot connect to "
                                                 f"{self.base_url}"), None
            return ExecutorUnavailable(None, f"{method} {path}: the connection to "
                                             f"{self.base_url} dropped"), None
        except requests.RequestException as exc:
            return ExecutorError(None, f"{method} {path}: {type(exc).__name__}"), None
        if response.status_code < 300:
            return response, None
        detail = _detail(response)
        error = error_for(response.status_code, f"{method} {path}: {detail}")
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        response.close()
        return error, retry_after


def _safe_to_retry(method: str, error: ExecutorError) -> bool:
    if method in _IDEMPOTENT:
        return True
    # A POST may already have acted unless the server says it did not (429, 503)
    # or we never reached it (connection refused before sending).
    if error.status in (429, 503):
        return True
    return isinstance(error, ExecutorUnreachable)


def _never_connected(exc: requests.ConnectionError) -> bool:
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(reason, NewConnectionError)


def _detail(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.reason or "error"
    if isinstance(data, dict) and "detail" in data:
        return str(data["detail"])[:2000]
    return response.reason or "error"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _seg(value: str) -> str:
    """One path segment, so an api_name or id can never reach another route."""
    return quote(str(value), safe="")
