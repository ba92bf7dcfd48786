"""Which connector a manifest is, and what an api_name change means: review and plan alike.

In-process and parametrised: `scsync.identity` directly, then through review
(`review.pairing.pair`, `review.policy.assess`) and the plan (`make_plan`) on
real manifests checked by the real `FileChecker`, so a copy of the logic that
drifted in either caller would fail here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from conftest import manifest_text
from scsync import identity
from scsync.checks.pipeline import FileChecker
from scsync.checks.schema import load_schema
from scsync.controller.desired import Desired
from scsync.controller.live import LiveConnector
from scsync.controller.plan import Action, make_plan
from scsync.controller.state import Record
from scsync.diff import diff
from scsync.findings import Severity
from scsync.gitsource import Change
from scsync.identity import Link, PairedBy
from scsync.manifest.model import Connector
from scsync.review import pairing, policy

E, W, N = Severity.ERROR, Severity.WARNING, Severity.NOTICE


@dataclass(frozen=True)
class Item:
    api_name: str | None
    name: str | None


# -- the routine itself ------------------------------------------------------------

# new items, old items, links (new, old, by), expected {new: (old, by)}
PAIRING_CASES: dict[str, tuple[dict[str, Item], dict[str, Item], list[Link],
                               dict[str, tuple[str, PairedBy]]]] = {
    "a link wins over an api_name elsewhere": (
        {"a": Item("x", "A")}, {"1": Item("y", "B"), "2": Item("x", "C")},
        [Link("a", "1", PairedBy.PATH)], {"a": ("1", PairedBy.PATH)}),
    "the rename link when the path's connector is taken": (
        {"a": Item("x", "A"), "b": Item("y", "B")}, {"1": Item("x", "A"), "2": Item("y", "B")},
        [Link("a", "1", PairedBy.PATH), Link("b", "1", PairedBy.PATH),
         Link("b", "2", PairedBy.RENAME)],
        {"a": ("1", PairedBy.PATH), "b": ("2", PairedBy.RENAME)}),
    "a link to a key neither side has is passed over": (
        {"a": Item("x", "A")}, {"1": Item("x", "A")},
        [Link("a", "gone", PairedBy.PATH), Link("nobody", "1", PairedBy.PATH)],
        {"a": ("1", PairedBy.API_NAME)}),
    "api_name, one to one": (
        {"a": Item("x", "A"), "b": Item("y", "B")}, {"1": Item("y", "Q"), "2": Item("x", "P")},
        [], {"a": ("2", PairedBy.API_NAME), "b": ("1", PairedBy.API_NAME)}),
    "api_name twice on the old side: no guess": (
        {"a": Item("x", "A")}, {"1": Item("x", "P"), "2": Item("x", "Q")}, [], {}),
    "name, folded (case, runs of spaces)": (
        {"a": Item("x_v2", "Orders  Sync")}, {"1": Item("x", "orders sync")}, [],
        {"a": ("1", PairedBy.NAME)}),
    "name twice on the new side: no guess": (
        {"a": Item("x1", "Orders"), "b": Item("x2", "Orders")}, {"1": Item("x", "Orders")},
        [], {}),
    "name twice on the old side: no guess": (
        {"a": Item("x1", "Orders")}, {"1": Item("x", "Orders"), "2": Item("y", "Orders")},
        [], {}),
    "never by name onto a connector whose api_name a manifest declares": (
        {"a": Item("new", "Orders"), "b": Item("old", "Other")}, {"1": Item("old", "Orders")},
        [Link("b", "9", PairedBy.PATH)], {"b": ("1", PairedBy.API_NAME)}),
    "an unreadable side (no api_name, no name) pairs only by link": (
        {"a": Item(None, None)}, {"1": Item(None, None)}, [], {}),
}


@pytest.mark.parametrize("case", PAIRING_CASES, ids=list(PAIRING_CASES))
def test_pairing(case: str) -> None:
    new, old, links, expected = PAIRING_CASES[case]
    found = identity.pair(new, old, links)
    assert found.matched == expected
    assert found.new_left == [k for k in new if k not in expected]
    assert found.old_left == [k for k in old if k not in {o for o, _ in expected.values()}]


# -- the same routine through review and through the plan -----------------------

CHECKER = FileChecker(load_schema())


def side(path: str, api: str, **fields: Any) -> pairing.Side:
    result = CHECKER.check_bytes(manifest_text(api, **fields).encode(), path, keep=True)
    assert result.document is not None
    assert not [f for f in result.findings if f.severity is not N], result.findings
    return pairing.Side(path, result, dict(result.document.data))


def live(cid: str, api: str, name: str, used: int = 0) -> LiveConnector:
    return LiveConnector.from_api({
        "id": cid, "api_name": api, "name": name, "status": "operational",
        "max_concurrent_executions": 1, "create_only": False, "stats": {"used_count": used}})


# One story told to both: a base (or live) connector `orders` named "Orders"; the head
# (or desired) manifest at `path` with api_name `api` and name `name`.
# kind: "path" the same path, "rename" git's rename (review) / the old path's record (plan),
# "none" nothing git or state knows.  Review and plan must pair it the same way.
STORIES = [
    ("path", "c/orders.yaml", "orders", "Orders", PairedBy.PATH),
    ("path", "c/orders.yaml", "orders_v2", "Orders", PairedBy.PATH),
    ("rename", "c/moved.yaml", "orders_v2", "Renamed too", PairedBy.RENAME),
    ("none", "c/far/orders.yaml", "orders", "New label", PairedBy.API_NAME),
    ("none", "c/far/v2.yaml", "orders_v2", "ORDERS", PairedBy.NAME),
    ("none", "c/far/other.yaml", "other", "Other", PairedBy.NOTHING),
]


@pytest.mark.parametrize(("kind", "path", "api", "name", "by"), STORIES,
                         ids=[f"{s[0]}-{s[2]}-{s[3]}" for s in STORIES])
def test_review_and_plan_pair_alike(kind: str, path: str, api: str, name: str,
                                    by: PairedBy) -> None:
    base_path = "c/orders.yaml"
    head = side(path, api, name=name)
    base = side(base_path, "orders", name="Orders")
    if kind == "none" and path != base_path:
        changes = [Change("D", base_path, None), Change("A", None, path)]
    else:
        changes = [Change("M" if path == base_path else "R", base_path, path, similarity=90)]
    pairs = pairing.pair(changes, {base_path: base}, {path: head})
    reviewed = {(p.base.path if p.base else None, p.head.path if p.head else None): p.paired_by
                for p in pairs}

    connector = Connector.from_data(dict(head.settings or {}), path)
    records = {} if kind == "none" else {base_path: Record(base_path, "id-1", "orders", None)}
    renames = {path: base_path} if kind == "rename" else {}
    plan = make_plan(Desired("w", {path: connector}, []), [live("id-1", "orders", "Orders")],
                     records, in_use=lambda _c: False, renames=renames)
    planned = plan.connectors[0]

    if by is PairedBy.NOTHING:
        assert reviewed == {(base_path, None): by, (None, path): by}
        assert (planned.action, planned.paired_by, planned.connector_id) == (
            Action.CREATE, by, None)
        assert planned.matched_by == "none"  # plan JSON's spelling, as the schema has it
    else:
        assert reviewed == {(base_path, path): by}
        assert (planned.paired_by, planned.connector_id) == (by, "id-1")
        assert planned.matched_by == {PairedBy.PATH: "state"}.get(by, by.value)


def test_plan_no_longer_guesses_between_two_manifests_of_one_name() -> None:
    """Two manifests named like one unmanaged live connector: neither is its rename."""
    desired = {p: Connector.from_data(dict(side(p, api, name="Orders").settings or {}), p)
               for p, api in (("c/a.yaml", "orders_a"), ("c/b.yaml", "orders_b"))}
    plan = make_plan(Desired("w", desired, []), [live("id-1", "orders", "Orders", used=3)],
                     {}, in_use=lambda _c: True)
    assert [(c.action, c.paired_by) for c in plan.connectors] == [
        (Action.CREATE, PairedBy.NOTHING)] * 2
    assert [u.api_name for u in plan.unmanaged] == ["orders"]


# -- the one api_name decision --------------------------------------------------------

# uses (None: not known, as in review), allowed -> rule, severity, words in the message
DECISIONS = [
    (None, False, "SC100", E, "BREAKING: api_name changes from 'orders' to 'orders_v2'"),
    (None, True, "SC100", N, "BREAKING, accepted with --allow-api-name-change orders:orders_v2"),
    (4, False, "SC100", E, "on a connector used 4 time(s): every integration"),
    (4, True, "SC100", N, "accepted with --allow-api-name-change orders:orders_v2: api_name"),
    (0, False, "SC120", W, "api_name 'orders' -> 'orders_v2': the connector was never used"),
    (0, True, "SC120", W, "never used, so the change is applied"),
]


@pytest.mark.parametrize(("uses", "allowed", "rule", "severity", "words"), DECISIONS)
def test_api_name_decision(uses: int | None, allowed: bool, rule: str, severity: Severity,
                           words: str) -> None:
    found = identity.api_name_change("c/o.yaml", "orders", "orders_v2", uses=uses,
                                     allowed=allowed)
    assert found is not None
    assert (found.rule, found.severity, found.path, found.pointer) == (
        rule, severity, "c/o.yaml", "/api_name")
    assert words in found.message
    refused = severity is E
    assert (found.hint is not None) is refused  # only a refusal says what to do instead
    if refused:
        assert "--allow-api-name-change orders:orders_v2" in (found.hint or "")


@pytest.mark.parametrize(("old", "new", "offered"), [
    ("orders", "orders_v2", True), (None, "orders", False), ("orders", ["orders"], False),
    ("Orders", "orders", False),
])
def test_api_name_decision_offers_the_flag_only_for_two_api_names(
        old: Any, new: Any, offered: bool) -> None:
    found = identity.api_name_change("c/o.yaml", old, new, uses=None, allowed=False)
    assert found is not None and found.severity is E
    assert ("--allow-api-name-change" in (found.hint or "")) is offered


def test_no_change_no_finding() -> None:
    assert identity.api_name_change("c/o.yaml", "orders", "orders", uses=9, allowed=False) is None


@pytest.mark.parametrize(("allow", "old", "new", "expected"), [
    ({("a_b", "c_d")}, "a_b", "c_d", True), ({("a_b", "c_d")}, "c_d", "a_b", False),
    ({("a_b", "c_d")}, "a_b", ["c_d"], False), (set(), "a_b", "c_d", False),
])
def test_allows_exactly_the_pair(allow: set[tuple[str, str]], old: Any, new: Any,
                                 expected: bool) -> None:
    assert identity.allows(allow, old, new) is expected


@pytest.mark.parametrize("allowed", [False, True], ids=["refused", "accepted"])
def test_review_and_plan_report_the_same_rule_and_severity(allowed: bool) -> None:
    allow = frozenset({("orders", "orders_v2")}) if allowed else frozenset()
    base = side("c/orders.yaml", "orders", name="Orders")
    head = side("c/orders.yaml", "orders_v2", name="Orders")
    pair = pairing.Pair(base, head, PairedBy.PATH)
    reviewed = [f for f in policy.assess(pair, diff(base.settings, head.settings), allow)
                if f.pointer == "/api_name"]

    connector = Connector.from_data(dict(head.settings or {}), "c/orders.yaml")
    plan = make_plan(Desired("w", {"c/orders.yaml": connector}, []),
                     [live("id-1", "orders", "Orders", used=2)],
                     {"c/orders.yaml": Record("c/orders.yaml", "id-1", "orders", None)},
                     in_use=lambda _c: True, allow=allow)
    entry = plan.connectors[0]
    planned = [f for f in entry.findings if f.pointer == "/api_name"]

    expected = ("SC100", N if allowed else E)
    assert [(f.rule, f.severity) for f in reviewed] == [expected]
    assert [(f.rule, f.severity) for f in planned] == [expected]
    assert entry.action is (Action.UPDATE if allowed else Action.REFUSED)
    assert entry.force_api_name_change is allowed
    assert "used 2 time(s)" in planned[0].message  # what only the plan knows
    assert reviewed[0].line == 3  # review places it on the api_name line
