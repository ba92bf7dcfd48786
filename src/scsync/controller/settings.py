"""The controller's settings: one dataclass, built once from options and the environment."""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from scsync.checks.settings import API_NAME
from scsync.errors import ConfigError, UsageError
from scsync.hosting import DATA_DIR, DEFAULT_DEADLINE, deadline_from_env
from scsync.manifest.discover import DEFAULT_FOLDER
from scsync.redact import redact_url as redact_url

DriftMode = Literal["fix", "warn"]
DEFAULT_DATA_DIR = DATA_DIR
WEBHOOK_SECRET_ENV = "SCSYNC_GIT_WEBHOOK_SECRET"  # noqa: S105 - a variable name, not a secret
UI_TOKEN_ENV = "SCSYNC_UI_TOKEN"  # noqa: S105 - a variable name
UI_TOKEN_FILE_ENV = "SCSYNC_UI_TOKEN_FILE"  # noqa: S105 - a variable name
LOCK_URL_ENV = "SCSYNC_LOCK_URL"
LOCK_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True, slots=True)
class ControllerSettings:
    repo: str
    """A local path or a clone URL; the controller keeps its own bare copy in `data_dir`."""
    executor_url: str = "http://127.0.0.1:8765"
    """Base URL of the executor API (Kizen or `scsync executor serve`)."""
    executor_kind: str = "auto"
    """`auto` (detected each pass), `embedded` or `kizen`: see controller/facts.py."""
    branch: str = "main"
    """The branch whose commits are reconciled."""
    folder: str = DEFAULT_FOLDER
    """Where the manifests live inside the repository."""
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    """The controller's own files: `controller.db` (state) and `mirror.git` (the bare copy)."""
    interval: float = 60.0
    """Seconds between two passes when nothing triggers one (a webhook triggers at once)."""
    request_timeout: float = 10.0
    """Seconds one HTTP request to the executor may take."""
    backoff_initial: float = 1.0
    """Delay before retrying a failed pass; doubled on each failure in a row."""
    backoff_max: float = 300.0
    """Ceiling of that delay (an interval shorter than it wins)."""
    drift: DriftMode = "fix"
    """`fix`: a change made by hand in the executor is undone on the next pass; `warn`:
    it is only reported."""
    prune: bool = False
    """Set live connectors that no manifest manages to Inactive (nothing is ever deleted)."""
    allow_api_name_changes: frozenset[tuple[str, str]] = frozenset()
    """(old, new) api_name pairs an operator accepts breaking; see `--allow-api-name-change`."""
    listen_host: str = "127.0.0.1"
    """Address of the controller's HTTP endpoints."""
    listen_port: int = 9090
    """Port of the controller's HTTP endpoints (0: any free port)."""
    webhook_secret: str | None = field(default=None, repr=False)
    """GitHub's webhook secret; from SCSYNC_GIT_WEBHOOK_SECRET only, never an option."""
    page_size: int = 1000
    """Connectors per page when reading live state (the embedded executor allows 1,000)."""
    request_deadline: float = DEFAULT_DEADLINE
    """Seconds a client of the endpoints has to send a whole request, headers and body;
    from SCSYNC_HTTP_DEADLINE."""
    ui_token: str | None = field(default=None, repr=False)
    """The bearer token the web UI and /status ask of every client: required when the
    endpoints listen beyond loopback; from SCSYNC_UI_TOKEN or SCSYNC_UI_TOKEN_FILE only."""
    lock_url: str | None = field(default=None, repr=False)
    """PostgreSQL URL (`--lock`, else SCSYNC_LOCK_URL): the controllers of one repository,
    branch and executor elect one leader there and keep their state there; None: one
    controller alone, its state in `controller.db`.  It may hold a password: never logged."""

    @property
    def state_path(self) -> Path:
        return self.data_dir / "controller.db"

    @property
    def mirror_path(self) -> Path:
        return self.data_dir / "mirror.git"

    @property
    def retry_delay_max(self) -> float:
        return min(self.backoff_max, max(self.interval, self.backoff_initial))

    @property
    def loopback(self) -> bool:
        """Whether only this machine can reach the endpoints."""
        return is_loopback(self.listen_host)


def with_environment(settings: ControllerSettings,
                     environ: Mapping[str, str] | None = None) -> ControllerSettings:
    """`settings` with what only the environment sets: the one place that reads it.

    Both `scsync controller` and `scsync up` build their settings through here, so
    a setting added to the environment reaches both (`up` once missed the deadline).
    """
    return replace(settings, webhook_secret=secret_from_env(environ),
                   request_deadline=deadline_from_env(environ),
                   ui_token=ui_token_from_env(environ))


def secret_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    return env.get(WEBHOOK_SECRET_ENV) or None


def ui_token_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """SCSYNC_UI_TOKEN, else the content of the file SCSYNC_UI_TOKEN_FILE names, else None."""
    env = os.environ if environ is None else environ
    if token := env.get(UI_TOKEN_ENV, "").strip():
        return token
    if token_file := env.get(UI_TOKEN_FILE_ENV):
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{UI_TOKEN_FILE_ENV} cannot be read: {exc.strerror}") from exc
        if not token:
            raise ConfigError(f"{UI_TOKEN_FILE_ENV} is empty")
        return token
    return None


def is_loopback(host: str) -> bool:
    """A loopback address (127.0.0.0/8, ::1) or `localhost`; a name is taken as reachable."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_ui_token(settings: ControllerSettings) -> None:
    """Beyond loopback, the status and the UI are never open to anyone who reaches the port."""
    if not settings.loopback and not settings.ui_token:
        raise ConfigError(
            f"--listen {settings.listen_host}: the web UI and /status would be open to "
            f"anyone who reaches it; set {UI_TOKEN_ENV} (or {UI_TOKEN_FILE_ENV}, a file "
            "holding it), which every client then sends as 'Authorization: Bearer TOKEN', "
            "or listen on a loopback address such as 127.0.0.1")


def check_port(port: int, option: str, *, any_port: bool = False) -> int:
    """A TCP port; 0 ("any free port") only where the chosen port is reported back."""
    low = 0 if any_port else 1
    if not low <= port <= 65535:
        raise UsageError(f"{option} {port}: a port is a number from {low} to 65535")
    return port


def check_interval(seconds: float, option: str = "--interval") -> float:
    # 0 or a negative number would make the loop spin; NaN compares false to everything.
    if not (seconds > 0 and math.isfinite(seconds)):
        raise UsageError(f"{option} must be a positive number of seconds")
    return seconds


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise UsageError(f"--listen {value!r}: expected HOST:PORT, e.g. 127.0.0.1:9090")
    return host.strip("[]") or "127.0.0.1", check_port(int(port), "--listen", any_port=True)


def parse_allow(values: list[str] | None) -> frozenset[tuple[str, str]]:
    pairs = set()
    for value in values or []:
        old, sep, new = value.partition(":")
        # Both sides must be api_names: a typo would otherwise allow nothing, silently.
        if not sep or not API_NAME.fullmatch(old) or not API_NAME.fullmatch(new):
            raise UsageError(f"--allow-api-name-change {value!r}: expected OLD:NEW, two "
                             "api_names (a lowercase letter, then lowercase letters, digits "
                             "or _), e.g. orders:orders_v2")
        pairs.add((old, new))
    return frozenset(pairs)


def lock_url_from(option: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """`--lock URL`, else SCSYNC_LOCK_URL (where a password stays out of argv), else None."""
    env = os.environ if environ is None else environ
    url = option if option is not None else env.get(LOCK_URL_ENV) or None
    if url is None:
        return None
    source = "--lock" if option is not None else LOCK_URL_ENV
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in LOCK_SCHEMES:
        shown = f"{scheme}:// is not PostgreSQL" if scheme.isalnum() else "not a URL"
        raise UsageError(f"{source}: {shown}: expected "
                         "postgresql://USER@HOST:PORT/DATABASE (the password, if any, in "
                         f"{LOCK_URL_ENV} or ~/.pgpass rather than on the command line)")
    return url


def settings_from_args(args: Any,
                       environ: Mapping[str, str] | None = None) -> ControllerSettings:
    """From `scsync controller` options plus the environment (webhook secret, deadline)."""
    check_interval(args.interval)
    host, port = parse_listen(args.listen)
    repo = str(args.repo)
    if "://" not in repo and not repo.startswith("git@") and os.path.isdir(repo):
        repo = os.path.abspath(repo)  # the mirror's remote must not depend on the cwd
    return with_environment(ControllerSettings(
        repo=repo, executor_url=args.executor,
        executor_kind=getattr(args, "executor_kind", "auto"), branch=args.branch,
        folder=args.folder,
        data_dir=Path(args.data_dir), interval=args.interval, drift=args.drift,
        prune=args.prune, allow_api_name_changes=parse_allow(args.allow_api_name_change),
        listen_host=host, listen_port=port,
        lock_url=lock_url_from(getattr(args, "lock", None), environ),
    ), environ)
