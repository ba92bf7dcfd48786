"""The reconcile loop: fetch the branch, read its manifests, plan against live, apply.

Every pass is a full plan against live state, so a pass both brings a new
commit and undoes drift; what changes between passes is only which commit is
in force.  A commit whose manifests do not validate is never applied, not even
in part: the last good commit stays in force (and keeps being reconciled) and
the error is shown in /status and the log until a good commit follows.

Failures (executor down, git unreachable) end the pass, never the process; the
loop retries with a doubling delay.  One pass runs at a time, in the loop's
thread; a webhook only wakes that thread.  With `--lock`, only the leader runs
passes (`leader.py`); a standby's loop tries the lock every second instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from scsync.client import ExecutorClient, ExecutorError
from scsync.controller.apply import ApplyResult, apply_plan
from scsync.controller.desired import Desired, DesiredReader
from scsync.controller.journal import ConnectorDetail, LiveView, PassLog, PassRecord
from scsync.controller.leader import RETRY, Leadership, NotLeader
from scsync.controller.metrics import ControllerMetrics
from scsync.controller.pipeline import git_renames, plan_against_live
from scsync.controller.plan import Action, Plan, drift_findings
from scsync.controller.settings import ControllerSettings, redact_url
from scsync.controller.state import LAST_APPLIED, LAST_SEEN, State, StateError
from scsync.controller.sync import SYNC_STATES, sync_view
from scsync.errors import GitError
from scsync.findings import Severity
from scsync.gitsource import CommitInfo, Repository, fetch_branch, open_mirror

log = logging.getLogger("scsync.controller")

_LEVELS = {Severity.ERROR: logging.ERROR, Severity.WARNING: logging.WARNING,
           Severity.NOTICE: logging.INFO}


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What /status shows; replaced whole after each pass, never mutated."""

    last_seen_commit: str | None = None
    last_applied_commit: str | None = None
    last_pass_at: float | None = None
    last_success_at: float | None = None
    last_error: str | None = None
    invalid_commit: dict[str, Any] | None = None
    connectors: tuple[dict[str, Any], ...] = ()
    unmanaged: tuple[dict[str, Any], ...] = ()
    passes: int = 0
    # What the web UI shows besides (controller/journal.py):
    details: Mapping[str, ConnectorDetail] = field(default_factory=dict)
    """api_name -> the managed connector as the last pass planned it."""
    live: LiveView = field(default_factory=LiveView)
    commits: Mapping[str, CommitInfo] = field(default_factory=dict)
    """The last seen and last applied commits' subjects, authors and dates."""
    leader: Mapping[str, Any] | None = None
    """With --lock: who leads, and whether this controller does (`Leadership.view`)."""

    @property
    def ready(self) -> bool:
        return self.last_success_at is not None and self.last_error is None

    @property
    def standby(self) -> bool:
        return self.leader is not None and not self.leader["is_me"]


class Reconciler:
    def __init__(self, settings: ControllerSettings, state: State, client: ExecutorClient,
                 metrics: ControllerMetrics, leadership: Leadership | None = None) -> None:
        self.settings = settings
        self.state = state
        self.client = client
        self.metrics = metrics
        self.leadership = leadership or Leadership.alone(metrics.leader)
        self.reader = DesiredReader(settings.folder)
        self._repo: Repository | None = None
        self._good: Desired | None = None
        self._invalid: dict[str, Any] | None = None
        # What --executor-kind auto found, once: one executor URL is one kind, so the
        # passes every few seconds need not ask /openapi.json and /healthz again.
        self._kind = settings.executor_kind
        self._lock = threading.Lock()
        self._snapshot = Snapshot(state.get(LAST_SEEN), state.get(LAST_APPLIED),
                                  leader=self.leadership.view())
        self.passes = PassLog()
        self._numbered = 0
        """The last pass number of earlier runs: this run's passes number on from it."""
        self._carry_on()
        self._outcome = PassRecord(0, 0.0, 0.0, ok=False)  # what the pass did, for `passes`
        self._unread: str | None = None  # why a standby could not read the state, if so
        self._fetched = -float("inf")  # when a standby last fetched (time.monotonic())
        self._unfetched: str | None = None  # why a standby's last fetch failed, if so

    @property
    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def _publish(self, **changes: Any) -> None:
        with self._lock:
            values = {f: getattr(self._snapshot, f) for f in Snapshot.__slots__}
            values.update(changes)
            self._snapshot = Snapshot(**values)

    def close(self) -> None:
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    def _carry_on(self) -> None:
        """Number this run's passes on from those kept (by an earlier run, or the leader
        this controller takes over from)."""
        kept = self.state.recent_passes()
        self.passes = PassLog(kept=kept)
        self._numbered = (kept[0].number if kept else 0) - self.snapshot.passes

    def lead(self) -> bool:
        """Whether this controller may reconcile now: always without --lock; with it,
        once it holds the lock (taken here when free).  A standby meanwhile shows who
        leads and the commits the leader recorded."""
        shown: dict[str, Any] = {}
        try:
            if self.leadership.campaign():
                self._good = None  # the leader before may have applied more: read afresh
                self._carry_on()
            if not self.leadership.leading:
                shown = {"last_seen_commit": self.state.get(LAST_SEEN),
                         "last_applied_commit": self.state.get(LAST_APPLIED)}
                self._keep_mirror()
            self._unread = None
        except StateError as exc:  # the first pass reports it, or the next try
            if str(exc) != self._unread:  # once an outage, not every second
                log.warning("the state cannot be read: %s", exc)
            self._unread = str(exc)
        self._publish(leader=self.leadership.view(), **shown)
        return self.leadership.leading

    def _keep_mirror(self) -> None:
        """A standby fetches the branch every `--interval` too, so that its first pass
        after a takeover fetches only what came since, not the whole history."""
        now = time.monotonic()
        if now - self._fetched < self.settings.interval:
            return
        self._fetched = now
        try:
            fetch_branch(self._mirror(), self.settings.branch)
            self._unfetched = None
        except GitError as exc:  # the leader reports the repository; a standby only logs
            if str(exc) != self._unfetched:
                log.warning("standby: %s", exc)
            self._unfetched = str(exc)

    def run_pass(self) -> bool:
        """One pass; True when it succeeded.  Never raises."""
        started = time.monotonic()
        passes = self.snapshot.passes + 1
        self._outcome = PassRecord(self._numbered + passes, time.time(), 0.0, ok=False)
        try:
            self._pass()
        except NotLeader:  # no longer ours to record either: the new leader keeps passes
            self._publish(leader=self.leadership.view())
            return False
        except (ExecutorError, GitError, StateError) as exc:
            kind = "git" if isinstance(exc, GitError) else \
                "state" if isinstance(exc, StateError) else "executor"
            return self._failed(kind, f"{kind}: {exc}", started, passes)
        except Exception as exc:  # a bug must not stop the controller: log it, retry later
            log.exception("internal error in the reconcile pass")
            return self._failed("internal", f"internal error: {type(exc).__name__}: {exc}",
                                started, passes)
        now = time.time()
        self.metrics.passes.labels("ok").inc()
        self.metrics.duration.observe(time.monotonic() - started)
        self.metrics.last_success.set(now)
        self._publish(last_pass_at=now, last_success_at=now, last_error=None, passes=passes)
        self._record(started, None)
        return True

    def _failed(self, kind: str, message: str, started: float, passes: int) -> bool:
        log.error("pass failed: %s", message)
        self.metrics.passes.labels("failed").inc()
        self.metrics.errors.labels(kind).inc()
        self.metrics.duration.observe(time.monotonic() - started)
        self._publish(last_pass_at=time.time(), last_error=message, passes=passes)
        self._record(started, message)
        return False

    def _record(self, started: float, error: str | None) -> None:
        record = replace(self._outcome, duration=time.monotonic() - started,
                         ok=error is None, error=error)
        self.passes.add(record)
        try:
            self.state.add_pass(record)
        except StateError as exc:  # the list of passes is for people: never stop for it
            log.warning("pass %d not kept in the state database: %s", record.number, exc)

    def _mirror(self) -> Repository:
        if self._repo is None:
            self._repo = open_mirror(self.settings.repo, str(self.settings.mirror_path))
        return self._repo

    def _pass(self) -> None:
        repo = self._mirror()
        head = fetch_branch(repo, self.settings.branch)
        if head != self.snapshot.last_seen_commit or self._good is None:
            self._read(repo, head)
        good = self._good
        if good is None:
            return  # no valid commit yet: nothing is in force
        self._outcome = replace(self._outcome, commit=good.source)
        applied_before = self.state.get(LAST_APPLIED)
        records = self.state.records()
        plan = plan_against_live(
            good, self.client, records,
            renames=git_renames(repo, applied_before, good.source, self.settings.folder),
            allow=self.settings.allow_api_name_changes, prune=self.settings.prune,
            page_size=self.settings.page_size, kind=self._kind)
        if plan.executor_kind is not None:
            self._kind = plan.executor_kind
        drift = drift_findings(plan, records)
        warn = self.settings.drift == "warn"
        leave = frozenset(f.path for f in drift) if warn else frozenset()
        for finding in drift:
            log.warning("%s%s", finding.message, " (--drift warn: left as it is)" if warn
                        else "; correcting")
        if warn and applied_before == good.source:
            for item in plan.unmanaged:  # set back by hand after a prune: drift too
                item.prune = False
        self._log_findings(plan)
        if plan.has_changes and applied_before != good.source:
            # A new commit's changes show as such while they are written (a retried
            # failure of the same commit stays an Error rather than flicker).
            self._statuses(plan, ApplyResult(), leave, applying=True)
        self.leadership.confirm()  # --lock: before each apply, and each connector's writes
        result = apply_plan(plan, self.client, self.state, commit=good.source, log=log.info,
                            leave=leave, log_failure=log.error, records=records,
                            guard=self.leadership.confirm)
        self.metrics.applied.inc(result.writes)
        if result.failed:
            self.metrics.errors.labels("apply").inc(len(result.failed))
        if result.aborted:
            self._statuses(plan, result, leave)
            self._tally(plan, result)
            raise ExecutorError(None, result.aborted)
        if applied_before != good.source:
            self.leadership.confirm()
            self.state.put(LAST_APPLIED, good.source)
            log.info("commit %s applied: %s; %s", good.source[:12], plan.summary(),
                     result.summary())
        self._statuses(plan, result, leave)
        self._tally(plan, result)

    def _tally(self, plan: Plan, result: ApplyResult) -> None:
        self._outcome = replace(
            self._outcome,
            applied=tuple(o.api_name for o in result.outcomes if o.ok and o.action != "adopt"),
            refused=tuple(c.api_name for c in plan.connectors if c.action is Action.REFUSED),
            failed=tuple(c.api_name for c in plan.connectors if c.action is Action.ERROR)
            + tuple(o.api_name for o in result.failed))

    def _log_findings(self, plan: Plan) -> None:
        """What plan and apply show a user, the controller's log shows its operator."""
        for entry in sorted(plan.connectors, key=lambda c: c.path):
            for finding in entry.findings:
                log.log(_LEVELS[finding.severity], "%s: %s: %s", entry.path, finding.rule,
                        finding.message)
        for action, kind in ((Action.REFUSED, "refused"), (Action.ERROR, "plan")):
            count = plan.count(action)
            if count:
                self.metrics.errors.labels(kind).inc(count)

    def _read(self, repo: Repository, head: str) -> None:
        desired = self.reader.at_commit(repo, head)
        self.state.put(LAST_SEEN, head)
        if desired.valid:
            self._good, self._invalid = desired, None
            self._publish(last_seen_commit=head, invalid_commit=None,
                          commits=self._commits(repo, head, head))
            return
        errors = [f"{f.location()}: {f.rule}: {f.message}" for f in desired.errors]
        self._invalid = {"commit": head, "errors": errors}
        self.metrics.errors.labels("invalid_commit").inc()
        log.error("commit %s does not validate; nothing of it is applied and the last good "
                  "commit stays in force:\n  %s", head[:12], "\n  ".join(errors))
        if self._good is None:
            self._good = self._last_good(repo)
        self._publish(last_seen_commit=head, invalid_commit=self._invalid,
                      commits=self._commits(repo, head, self._good.source if self._good else None))

    @staticmethod
    def _commits(repo: Repository, *shas: str | None) -> dict[str, CommitInfo]:
        out = {}
        for sha in dict.fromkeys(s for s in shas if s):
            try:
                out[sha] = repo.commit_info(sha)
            except GitError:
                continue  # only shown: a commit git cannot describe is shown by its id
        return out

    def _last_good(self, repo: Repository) -> Desired | None:
        """After a restart on a broken head: the commit last applied stays in force."""
        commit = self.state.get(LAST_APPLIED)
        if not commit:
            return None
        try:
            desired = self.reader.at_commit(repo, commit)
        except GitError:
            return None
        return desired if desired.valid else None

    def _statuses(self, plan: Plan, result: ApplyResult,
                  left: frozenset[str] = frozenset(), *, applying: bool = False) -> None:
        view = sync_view(plan, result, left, applying=applying)
        for sync in SYNC_STATES:
            self.metrics.connectors.labels(sync).set(
                sum(1 for r in view.rows if r["sync"] == sync))
        self._publish(connectors=view.rows, unmanaged=view.unmanaged, details=view.details,
                      live=view.live, last_applied_commit=self.state.get(LAST_APPLIED))


@dataclass
class Loop:
    """Passes in one thread: every `interval`, at once on `trigger()`, backing off on failure."""

    reconciler: Reconciler
    settings: ControllerSettings
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def trigger(self) -> None:
        self._wake.set()

    def start(self) -> None:
        log.info("reconciling %s (branch %s, folder %s/) onto %s every %gs",
                 redact_url(self.settings.repo), self.settings.branch, self.settings.folder,
                 self.reconciler.client.base_url, self.settings.interval)
        self._thread = threading.Thread(target=self._run, name="scsync-reconcile", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.clear()
            if not self.reconciler.lead():  # a standby: try the lock again soon
                failures = 0
                self._wake.wait(RETRY)
                continue
            ok = self.reconciler.run_pass()
            if not self.reconciler.leadership.leading:
                continue  # the lock was lost mid-pass: stand by at once
            failures = 0 if ok else failures + 1
            delay = self.settings.interval if ok else min(
                self.settings.backoff_initial * 2 ** (failures - 1),
                self.settings.retry_delay_max)
            if not ok:
                log.info("next attempt in %.1fs", delay)
            self._pause(delay)

    def _pause(self, delay: float) -> None:
        """Wait `delay` or for a trigger; with --lock, confirming the lock every second,
        so that a leader whose session ended says so at once rather than at its next pass."""
        leadership = self.reconciler.leadership
        if not leadership.locked:
            self._wake.wait(delay)
            return
        end = time.monotonic() + delay
        while (left := end - time.monotonic()) > 0 and not self._wake.wait(min(left, RETRY)):
            if not leadership.still_held():
                return  # the loop's next turn publishes the standby
