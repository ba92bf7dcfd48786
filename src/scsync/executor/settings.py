"""Every knob of the executor in one dataclass, built once from options and environment.

Secrets (the API key, the webhook signing secret) come from the environment or
from files, never from the command line, because `ps` shows every argument.
"""

from __future__ import annotations

import base64
import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from scsync.errors import ConfigError
from scsync.executor.database import is_postgres_url
from scsync.executor.dialect import CADENCE_MAX, DEFAULT_OBJECTS, CustomObject
from scsync.hosting import DATA_DIR, prepare_data_dir
from scsync.redact import redact_url as redact

DELIVERY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
"""Retry delays after an immediate first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h."""

STATE_DIR = DATA_DIR
KEY_FILE = Path(STATE_DIR) / "api-key"
"""Where `serve` keeps a generated key, relative to the repo; `scsync.client` looks there too."""


@dataclass(frozen=True)
class Secret:
    """A string that never shows itself in a repr, a log line or an f-string."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class ExecutorSettings:
    db_path: Path
    """The SQLite file holding connectors, executions and the outbox (WAL mode); with
    `db_url`, where the run files are kept beside (its folder)."""

    repo: Path
    """The repository jobs run in; a job's working_dir is resolved inside it."""

    api_key: Secret
    """The only credential: every /api request must carry it in X-API-KEY."""

    business_id: str | None = None
    """When set, X-BUSINESS-ID must equal it (403 otherwise); when unset any value passes."""

    host: str = "127.0.0.1"
    """Listen address; loopback by default so a laptop does not expose its jobs."""

    port: int = 8765
    """Listen port."""

    public_url: str = ""
    """Base URL put in report links (webhooks, emails); defaults to http://host:port."""

    smtp_host: str | None = None
    """Mail server for notification emails; without one, email rows are recorded as skipped."""

    smtp_port: int = 25
    """Mail server port."""

    mail_from: str = "scsync-executor@localhost"
    """Envelope and header sender of notification emails (SCSYNC_MAIL_FROM)."""

    webhook_secret: Secret | None = None
    """Standard Webhooks secret `whsec_<base64>` (SCSYNC_WEBHOOK_SECRET); unset: unsigned."""

    allow_webhook_hosts: frozenset[str] = frozenset()
    """Host names exempt from the SSRF guard, for local development receivers."""

    max_body_bytes: int = 1 << 20
    """Requests with a larger body get 413 before any parsing."""

    output_cap_bytes: int = 256 << 10
    """Job output (stdout and stderr merged) kept per execution; the rest is dropped."""

    kill_grace_seconds: float = 5.0
    """Between SIGTERM and SIGKILL when a job times out or the executor stops."""

    delivery_schedule: tuple[float, ...] = DELIVERY_SCHEDULE
    """Seconds to wait before each retry of a notification; the first attempt is immediate.

    The default is Standard Webhooks' (Svix's): 8 attempts over about 27 hours, so
    an endpoint or mail server down for most of a day loses nothing.  When the
    schedule is used up the row is `failed`.  SCSYNC_DELIVERY_SCHEDULE (seconds,
    comma-separated) replaces it, for tests.
    """

    delivery_retry_after_max: float = 36000.0
    """Ceiling on a delay asked for by Retry-After, which replaces the scheduled one."""

    delivery_timeout: float = 10.0
    """Connect and read timeout for one webhook or SMTP attempt."""

    delivery_concurrency: int = 4
    """Notifications sent at once; each blocks a worker thread while it runs."""

    page_size_max: int = 1000
    """Upper bound of the page_size query parameter."""

    cadence_choices: tuple[int, ...] = ()
    """The cadences (seconds) /metadata offers and create and update enforce, as Kizen
    does; empty (the default): any whole number of seconds the manifest allows."""

    custom_objects: tuple[CustomObject, ...] = DEFAULT_OBJECTS
    """The objects a connector may load into (GET /api/custom-objects)."""

    db_url: Secret | None = None
    """PostgreSQL instead of the SQLite file: `--db postgresql://...` or SCSYNC_DB_URL."""

    max_jobs: int | None = None
    """Jobs this process runs at once, over all connectors (`--max-jobs`); None: no cap.
    With replicas, a replica at its cap leaves queued executions to the others."""

    lease_seconds: float = 15.0
    """On PostgreSQL: how long a replica may go without renewing its lease before another
    ends its running executions as lost (`--lease`)."""

    poll_seconds: float = 1.0
    """The fallback pass over every connector's queue (`--poll`): what starts queued
    executions should a wake-up be missed (a lost NOTIFY, a LISTEN being reconnected)."""

    @property
    def database(self) -> str:
        """The database, as it may be shown (a URL's password hidden)."""
        return redact(self.db_url.value) if self.db_url else str(self.db_path)

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def runs_dir(self) -> Path:
        """Per-execution scratch files (result files), next to the database."""
        return self.db_path.parent / "runs"


def load_settings(
    *,
    db_path: Path | str | None,
    repo: Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    smtp_host: str | None = None,
    smtp_port: int = 25,
    allow_webhook_hosts: tuple[str, ...] = (),
    cadence_choices: tuple[int, ...] = (),
    custom_objects: tuple[CustomObject, ...] = (),
    lease_seconds: float = 15.0,
    poll_seconds: float = 1.0,
    max_jobs: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> ExecutorSettings:
    """Settings from command-line options plus the environment; generates the key if needed."""
    env = os.environ if environ is None else environ
    repo = repo.resolve()
    if not repo.is_dir():
        raise ConfigError(f"--repo {repo} is not a directory")
    webhook_secret = env.get("SCSYNC_WEBHOOK_SECRET") or None
    if webhook_secret is not None and not _valid_whsec(webhook_secret):
        raise ConfigError("SCSYNC_WEBHOOK_SECRET must look like 'whsec_<base64>'")
    path, url = _database(db_path, env)
    if not 1 <= lease_seconds <= 3600:
        raise ConfigError(f"--lease {lease_seconds:g}: give seconds from 1 to 3600")
    if not 0.1 <= poll_seconds <= 3600:
        raise ConfigError(f"--poll {poll_seconds:g}: give seconds from 0.1 to 3600")
    if max_jobs is not None and max_jobs < 1:
        raise ConfigError(f"--max-jobs {max_jobs}: give at least 1 (or leave it out: no cap)")
    return ExecutorSettings(
        db_path=path,
        db_url=url,
        lease_seconds=lease_seconds,
        poll_seconds=poll_seconds,
        max_jobs=max_jobs,
        repo=repo,
        api_key=Secret(_api_key(env, repo)),
        business_id=env.get("SCSYNC_BUSINESS_ID") or None,
        host=host,
        port=port,
        public_url=env.get("SCSYNC_PUBLIC_URL", "").rstrip("/"),
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        mail_from=env.get("SCSYNC_MAIL_FROM") or "scsync-executor@localhost",
        webhook_secret=Secret(webhook_secret) if webhook_secret else None,
        allow_webhook_hosts=frozenset(h.lower() for h in allow_webhook_hosts),
        delivery_schedule=_schedule(env.get("SCSYNC_DELIVERY_SCHEDULE")),
        cadence_choices=_cadences(cadence_choices),
        custom_objects=_objects(custom_objects),
    )


DEFAULT_DB = Path(".scsync") / "executor.db"


def _database(db: Path | str | None, env: Mapping[str, str]) -> tuple[Path, Secret | None]:
    """`--db` (a SQLite file or a PostgreSQL URL), else SCSYNC_DB_URL, else the default file."""
    if db is None:
        url = env.get("SCSYNC_DB_URL", "").strip()
        if url and not is_postgres_url(url):
            raise ConfigError(f"SCSYNC_DB_URL {redact(url)!r} is not a postgresql:// URL "
                              "(unset it to use the SQLite file --db names)")
        return DEFAULT_DB.resolve(), Secret(url) if url else None
    text = str(db)
    if is_postgres_url(text):
        return DEFAULT_DB.resolve(), Secret(text)
    if "://" in text:
        raise ConfigError(f"--db {redact(text)}: give a SQLite file or a postgresql:// URL")
    return Path(text).resolve(), None


def _cadences(choices: tuple[int, ...]) -> tuple[int, ...]:
    if bad := [c for c in choices if not 1 <= c <= CADENCE_MAX]:
        raise ConfigError(f"--cadence-choices: {bad[0]} is not a whole number of seconds "
                          f"from 1 to {CADENCE_MAX}")
    return tuple(sorted(set(choices)))


def _objects(extra: tuple[CustomObject, ...]) -> tuple[CustomObject, ...]:
    """The built-in objects, then the configured ones; an api_name only once."""
    objects = {o.name: o for o in DEFAULT_OBJECTS}
    for obj in extra:
        if obj.name in objects:
            raise ConfigError(f"--custom-object {obj.name}: already an object of the executor")
        objects[obj.name] = obj
    return tuple(objects.values())


def _schedule(value: str | None) -> tuple[float, ...]:
    """SCSYNC_DELIVERY_SCHEDULE: retry delays in seconds, like `0.1,0.2,0.4`."""
    if not value or not value.strip():
        return DELIVERY_SCHEDULE
    try:
        delays = tuple(float(part) for part in value.split(","))
    except ValueError:
        delays = ()
    if not delays or not all(0 <= delay < math.inf for delay in delays):
        raise ConfigError("SCSYNC_DELIVERY_SCHEDULE must be comma-separated seconds, "
                          "like 5,300,1800")
    return delays


def _api_key(env: Mapping[str, str], repo: Path) -> str:
    """SCSYNC_API_KEY, else SCSYNC_API_KEY_FILE, else `<repo>/.scsync/api-key`, generated once."""
    if key := env.get("SCSYNC_API_KEY", "").strip():
        return key
    if key_file := env.get("SCSYNC_API_KEY_FILE"):
        try:
            key = Path(key_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"SCSYNC_API_KEY_FILE cannot be read: {exc.strerror}") from exc
        if not key:
            raise ConfigError("SCSYNC_API_KEY_FILE is empty")
        return key
    path = repo / KEY_FILE
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    prepare_data_dir(path.parent)
    key = secrets.token_urlsafe(32)
    # Mode 0600 at creation, so the key is never readable by others, not even briefly;
    # chmod again in case an empty file with looser permissions was already there.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    path.chmod(0o600)
    return key


def _valid_whsec(secret: str) -> bool:
    if not secret.startswith("whsec_"):
        return False
    try:
        return len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) >= 16
    except ValueError:
        return False
