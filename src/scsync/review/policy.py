"""The review policy: what each change of a connector means, and how much it matters.

One function per kind of setting turns a `DiffItem` into a finding whose
message states the consequence for the running connector (after Kizen's own
documentation of each setting).  Severities follow the table of issue 3:
errors break callers, warnings stop or endanger something, notices inform.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scsync import cadence, identity, rules
from scsync.diff import Diff, DiffItem, Field, Operation
from scsync.findings import FILE_START, Finding, Severity, Span
from scsync.identity import show
from scsync.manifest.model import EXECUTABLE
from scsync.review import schedule
from scsync.review.pairing import Pair, PairedBy, Side
from scsync.review.schedule import every, runs
from scsync.rules import Rule

N = Severity.NOTICE

#: A review finding makes a head-side validate finding on the same file redundant.
SUBSUMES = {r.id: s.id for r, s in ((rules.SC102, rules.SC043), (rules.SC104, rules.SC042),
                                     (rules.SC106, rules.SC041))}

Allowances = frozenset[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class _Context:
    pair: Pair
    head: dict[str, Any]
    allow: Allowances

    def finding(
        self, rule: Rule, item: DiffItem | None, message: str, *, on_base: bool = False,
        **kw: Any,
    ) -> Finding:
        side = self.pair.base if on_base else self.pair.head or self.pair.base
        assert side is not None
        span = _place(side, item.field if item else ("api_name",), self.pair.base)
        if side is not self.pair.head:
            span = FILE_START  # the file is gone: annotate the base path at 1:1
        pointer = item.pointer if item else "/api_name"
        return rule.finding(side.path, message, pointer=pointer, **kw).placed(span)


def assess(pair: Pair, items: Diff, allow: Allowances = frozenset()) -> list[Finding]:
    """Review findings for one paired connector and the diff of its settings."""
    ctx = _Context(pair, (pair.head.settings if pair.head else None) or {}, allow)
    if pair.head is None:
        return [_deleted(ctx)]
    if pair.head.settings is None:
        return []  # unreadable head: its load findings say why, there is nothing to compare
    if pair.base is None or pair.base.settings is None:
        return [_added(ctx), *_schedule_added(ctx)]
    out: list[Finding] = []
    for item in items:
        out.extend(_BY_FIELD.get(item.field[0], _other)(ctx, item))
    if _maybe_two_connectors(pair):
        # SC100 stays (the spec: a git-paired rename whose api_name changes), but
        # if git paired two different connectors the deletion and the addition
        # are what a reviewer must see, and accepting the api_name must not hide them
        out += [_deleted(ctx), _added(ctx, "")]
    return out


def _maybe_two_connectors(pair: Pair) -> bool:
    """A rename git found by similarity alone: api_name and name both differ.

    Templated manifests differ in little but these two, so git pairs unrelated
    connectors; a pair by path (an edit in place) or by name is kept as one.
    """
    if pair.paired_by is not PairedBy.RENAME or not pair.base or not pair.head:
        return False
    old, new = pair.base.settings or {}, pair.head.settings or {}
    renamed = identity.folded_name(pair.base) != identity.folded_name(pair.head)
    return renamed and old.get("api_name") != new.get("api_name")


def _place(side: Side, field: Field, base: Side | None = None) -> Span:
    """Extent of the field in `side`'s file, or of its closest existing parent.

    A setting removed at the top level has no line left; a file-level
    annotation is easy to miss in a pull request, so it goes on the line of
    the key that preceded it in `base`, else on line 1 (also when the file
    cannot be loaded).
    """
    doc = side.result.document
    if doc is None:
        return FILE_START
    for depth in range(len(field), 0, -1):
        node: Any = doc.data
        for part in field[:depth]:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return doc.span(list(field[:depth]))
    before = _preceding_key(base, field[0], doc.data) if base is not None else None
    if before is not None:
        return doc.span([before], key=True)
    return FILE_START


def _preceding_key(base: Side, key: str | int, head: Any) -> str | None:
    """The nearest key before `key` in the base document that the head still has."""
    old = base.result.document.data if base.result.document else None
    if not isinstance(old, dict) or not isinstance(head, dict) or key not in old:
        return None
    keys = list(old)
    return next((k for k in reversed(keys[: keys.index(key)]) if k in head), None)


def _executable(status: Any) -> bool:
    # a head that fails the schema may hold a list or a mapping here: hash strings only
    return isinstance(status, str) and status in EXECUTABLE


def _deleted(ctx: _Context) -> Finding:
    api = ctx.pair.base.api_name if ctx.pair.base else None
    what = f"'{api}'" if api else "this connector"
    old = ctx.pair.base.settings if ctx.pair.base else None
    seconds = schedule.of(old, (old or {}).get("connector_type"))
    on = f" and on its schedule, {every(seconds)} ({cadence.per_day_words(seconds)})" \
        if seconds else ""
    return ctx.finding(
        rules.SC101, None,
        f"the manifest of {what} is deleted: scsync stops managing it, but the connector is "
        "not deleted from Kizen; it keeps its last applied settings and keeps running on its "
        f"triggers{on}",
        on_base=True, hint=rules.SC101.help,
    )


def _added(ctx: _Context, before: str = " (its base version was not a readable manifest)"
           ) -> Finding:
    head = ctx.head
    status, limit = head.get("status"), head.get("max_concurrent_executions")
    if not _executable(status):
        does = f"is created as {show(status)} and does not run until its status is Operational"
    elif limit == 0:
        does = "is created paused (max_concurrent_executions 0): its executions queue"
    else:
        does = f"is created as {show(status)} and runs on its triggers, {show(limit)} " \
            "execution(s) at a time"
    if head.get("execution_ended_webhook_url"):
        does += f"; each execution then calls {head['execution_ended_webhook_url']}"
    before = "" if ctx.pair.base is None else before
    return ctx.finding(rules.SC111, None,
                       f"new connector '{head.get('api_name')}'{before}: once merged it {does}")


Check = Callable[[_Context, DiffItem], list[Finding]]


def _api_name(ctx: _Context, item: DiffItem) -> list[Finding]:
    old, new = item.old, item.new
    how = ctx.pair
    via = ""
    if _maybe_two_connectors(how):
        via = f" (git pairs {how.base.path if how.base else ''} with {how.path} as a rename, " \
            "but the name changes too: they may be two different connectors, one deleted " \
            "and one added)"
    elif how.paired_by is PairedBy.RENAME:
        via = f" (the file is renamed from {how.base.path if how.base else ''})"
    elif how.paired_by is PairedBy.NAME:
        via = f" ({how.base.path if how.base else ''} is deleted and {how.path} added with " \
            "the same name: the same connector)"
    allowed = identity.allows(ctx.allow, old, new)
    found = identity.api_name_change(ctx.pair.path, old, new, uses=None, allowed=allowed,
                                     via=via)
    if found is None:
        return []
    side = ctx.pair.head or ctx.pair.base
    assert side is not None
    return [found.placed(_place(side, item.field, ctx.pair.base))]


def _status(ctx: _Context, item: DiffItem) -> list[Finding]:
    was, now = _executable(item.old), _executable(item.new)
    change = f"status changes from {show(item.old)} to {show(item.new)}"
    if was and not now:
        return [ctx.finding(rules.SC102, item, f"{change}: scheduled runs and manual triggers stop "
                            "until the status returns to Operational")]
    if now and not was:
        return [ctx.finding(rules.SC103, item, f"{change}: the connector executes again and queued "
                            "executions will start")]
    still = "still executes" if now else "still does not execute"
    return [ctx.finding(rules.SC113, item, f"{change}: the connector {still}")]


def _concurrency(ctx: _Context, item: DiffItem) -> list[Finding]:
    old, new = item.old, item.new
    if not (isinstance(old, int) and isinstance(new, int)):
        return _other(ctx, item)
    change = f"max_concurrent_executions goes from {old} to {new}"
    out: list[Finding] = []
    if new == 0:
        out.append(ctx.finding(rules.SC104, item, f"{change}: the connector is paused; new "
                               "executions queue and in-flight ones finish"))
    elif old == 0:
        out.append(ctx.finding(rules.SC105, item, f"{change}: the pause ends and queued executions "
                               f"start, {new} at a time"))
    elif new < old:
        out.append(ctx.finding(rules.SC107, item, f"{change}: in-flight executions are not "
                               "cancelled; the new limit applies to executions not yet started"))
    if new > old and new > 1:
        if ctx.head.get("create_only") is not True:
            out.append(ctx.finding(rules.SC106, item, f"{change} without create_only: true: "
                                   f"executions writing the same record at once leave it in a "
                                   f"state that depends on timing", hint=rules.SC106.help))
        elif old != 0:
            out.append(ctx.finding(rules.SC113, item, f"{change}: up to {new} executions run in "
                                   "parallel (create_only: true, so they cannot conflict)"))
    return out


def _create_only(ctx: _Context, item: DiffItem) -> list[Finding]:
    limit = ctx.head.get("max_concurrent_executions")
    if item.new is not True and isinstance(limit, int) and limit > 1:
        return [ctx.finding(rules.SC106, item, f"create_only is no longer true while "
                            f"max_concurrent_executions is {limit}: executions writing the same "
                            f"record at once leave it in a state that depends on timing",
                            hint=rules.SC106.help)]
    if item.new is True:
        effect = "declares that the load steps only create records, so parallel executions " \
            "cannot conflict"
    else:
        effect = "with at most one execution at a time nothing overlaps"
    return [ctx.finding(rules.SC113, item, f"create_only changes from {show(item.old)} to "
                        f"{show(item.new)}: {effect}")]


def _webhook(ctx: _Context, item: DiffItem) -> list[Finding]:
    if item.operation is Operation.ADD:
        return [ctx.finding(rules.SC108, item, f"execution_ended_webhook_url is set to {item.new}: "
                            "it will be called with each execution's metadata", severity=N)]
    if item.operation is Operation.REMOVE:
        return [ctx.finding(rules.SC108, item, f"execution_ended_webhook_url {item.old} is "
                            "removed: downstream systems it triggers stop being called")]
    return [ctx.finding(rules.SC108, item, f"execution_ended_webhook_url moves from {item.old} to "
                        f"{item.new}: systems triggered by the old URL stop being called; the new "
                        "one must be ready to receive each execution's metadata")]


def _email(ctx: _Context, item: DiffItem) -> list[Finding]:
    about = "failed executions" if "error" in item.field[0] else "every execution"
    if item.operation is Operation.ADD:
        who = f"{item.new} starts being told"
    elif item.operation is Operation.REMOVE:
        who = f"{item.old} stops being told"
    else:
        who = f"{item.old} stops and {item.new} starts being told"
    return [ctx.finding(rules.SC109, item, f"{item.field[0]}: {who} about {about}")]


def _label(ctx: _Context, item: DiffItem) -> list[Finding]:
    if item.field[0] == "name":
        return [ctx.finding(rules.SC110, item, f"name changes from {show(item.old)} to "
                            f"{show(item.new)}: a display label, safe; nothing calls a "
                            "connector by its name")]
    done = {Operation.ADD: "added", Operation.REMOVE: "removed", Operation.CHANGE: "changed"}
    return [ctx.finding(rules.SC110, item, f"description is {done[item.operation]}: documentation "
                        "for people and AI tools, safe")]


def _job(ctx: _Context, item: DiffItem) -> list[Finding]:
    verb = {Operation.ADD: f"is set to {show(item.new)}",
            Operation.REMOVE: f"({show(item.old)}) is removed",
            Operation.CHANGE: f"changes from {show(item.old)} to {show(item.new)}"}
    return [ctx.finding(rules.SC112, item, f"{item.dotted} {verb[item.operation]}: the embedded "
                        "executor runs the new job from the next execution")]


def _fixed(ctx: _Context, item: DiffItem) -> list[Finding]:
    """connector_type and custom_object: set once, when Kizen creates the connector."""
    key = item.dotted
    if item.operation is Operation.CHANGE:
        return [ctx.finding(rules.SC114, item, f"{key} changes from {show(item.old)} to "
                            f"{show(item.new)}: Kizen cannot change it on an existing "
                            "connector, so plan refuses it (SC131)", hint=rules.SC114.help)]
    if item.operation is Operation.ADD:
        return [ctx.finding(rules.SC113, item, f"{key} {show(item.new)} is declared: plan "
                            "compares it with the live connector's and refuses a difference")]
    return [ctx.finding(rules.SC113, item, f"{key} ({show(item.old)}) is no longer declared: "
                        "the live value stays and is no longer compared")]


def _cadence(ctx: _Context, item: DiffItem) -> list[Finding]:
    """SC115-SC117 on a schedule connector; a webhook's batching window is another setting."""
    found = schedule.compare(ctx.pair.base.settings if ctx.pair.base else None, ctx.head)
    if found is None or found == (None, None):
        return _other(ctx, item)
    old, new = found
    if old is None and new is not None:
        return [ctx.finding(rules.SC115, item, f"schedule added: {every(new)} ({runs(None, new)})",
                            hint=rules.SC115.help)]
    if old is not None and new is None:
        words = cadence.per_day_words(old)
        return [ctx.finding(rules.SC116, item, f"schedule removed from the manifest: "
                            f"{every(old)} is no longer declared ({words} -> still {words}: plan "
                            "does not clear a cadence the manifest leaves out, so the live "
                            f"connector keeps running {every(old)}, unmanaged)",
                            hint=rules.SC116.help)]
    assert old is not None and new is not None
    change = f"{every(old)} -> {every(new)} ({runs(old, new)})"
    if new < old:
        return [ctx.finding(rules.SC117, item, f"schedule more frequent: {change}",
                            hint=rules.SC117.help)]
    return [ctx.finding(rules.SC113, item, f"cadence changes from {old} to {new}: schedule "
                        f"less frequent, {change}")]


def _schedule_added(ctx: _Context) -> list[Finding]:
    """SC115 beside SC111: a new connector that runs on a schedule."""
    seconds = schedule.of(ctx.head, ctx.head.get("connector_type"))
    if seconds is None:
        return []
    item = DiffItem(Operation.ADD, ("cadence",), None, seconds)
    return [ctx.finding(rules.SC115, item, f"schedule added with the new connector: "
                        f"{every(seconds)} ({runs(None, seconds)})", hint=rules.SC115.help)]


def _other(ctx: _Context, item: DiffItem) -> list[Finding]:
    return [ctx.finding(rules.SC113, item, f"{item.dotted} changes from {show(item.old)} to "
                        f"{show(item.new)}")]


_BY_FIELD: dict[str, Check] = {
    "api_name": _api_name,
    "status": _status,
    "max_concurrent_executions": _concurrency,
    "create_only": _create_only,
    "execution_ended_webhook_url": _webhook,
    "additional_notification_email": _email,
    "additional_error_notification_email": _email,
    "name": _label,
    "description": _label,
    "job": _job,
    "connector_type": _fixed,
    "custom_object": _fixed,
    "cadence": _cadence,
}
