"""The one diff model (scsync.diff) and the pairing of base and head connectors, on their own."""

from __future__ import annotations

from typing import Any

import pytest

from scsync.checks.pipeline import FileResult
from scsync.diff import DiffItem, Operation, comparable, diff, diff_connectors
from scsync.gitsource import Change
from scsync.manifest.model import Connector
from scsync.review.pairing import PairedBy, Side, pair

ADD, CHANGE, REMOVE = Operation.ADD, Operation.CHANGE, Operation.REMOVE


def test_defaults_applied_make_missing_equal_explicit() -> None:
    implicit = Connector.from_data({"api_name": "a_b", "name": "A", "status": "Operational"})
    explicit = Connector.from_data({"api_name": "a_b", "name": "A", "status": "Operational",
                                    "max_concurrent_executions": 1, "create_only": False})
    assert diff_connectors(implicit, explicit) == ()


def test_items_are_leaves_in_the_old_order_then_new_keys() -> None:
    old = {"api_name": "a", "description": "x", "job": {"command": ["a"], "env": {"A": "1"}}}
    new = {"api_name": "a", "job": {"command": ["b"], "env": {"A": "1", "B": "2"}}, "name": "N"}
    assert diff(old, new) == (
        DiffItem(REMOVE, ("description",), "x", None),
        DiffItem(CHANGE, ("job", "command"), ["a"], ["b"]),
        DiffItem(ADD, ("job", "env", "B"), None, "2"),
        DiffItem(ADD, ("name",), None, "N"),
    )
    assert diff(old, new)[2].pointer == "/job/env/B"
    assert diff(old, new)[2].dotted == "job.env.B"


def test_none_is_unset_and_a_whole_side_may_be_missing() -> None:
    assert diff({"a": None}, {}) == ()
    assert diff(None, {"a": 1, "b": None}) == (DiffItem(ADD, ("a",), None, 1),)
    assert diff({"job": {"timeout_seconds": 5}}, None) == (
        DiffItem(REMOVE, ("job", "timeout_seconds"), 5, None),)


@pytest.mark.parametrize(("old", "new"), [(1, True), (0, False), (1, 1.0), ("1", 1), ([1], [True])])
def test_equality_tells_types_apart(old: Any, new: Any) -> None:
    assert diff({"x": old}, {"x": new}) == (DiffItem(CHANGE, ("x",), old, new),)


def test_comparable_keeps_an_invalid_document_as_written() -> None:
    settings = comparable({"apiVersion": "scsync/v1", "api_name": "a_b", "status": 3,
                           "typo_key": 1}, schema_valid=False)
    assert settings["status"] == 3 and settings["typo_key"] == 1
    assert settings["max_concurrent_executions"] == 1 and "apiVersion" not in settings
    valid = comparable({"api_name": "a_b", "name": "A", "status": "Setup"}, schema_valid=True)
    assert set(settings) - {"typo_key"} == set(valid)


def side(path: str, **settings: Any) -> Side:
    return Side(path, FileResult(path, [], None), dict(settings))


def test_pairing_order_git_first_then_api_name_then_unique_name() -> None:
    base = {p: side(p, api_name=a, name=n) for p, a, n in [
        ("c/kept.yaml", "kept", "Kept"), ("c/old.yaml", "old", "Old"),
        ("c/moved.yaml", "moved", "M1"), ("c/named.yaml", "named_a", "Same Name"),
        ("c/twin1.yaml", "t1", "Twin"), ("c/twin2.yaml", "t2", "Twin"),
        ("c/gone.yaml", "gone", "Gone")]}
    head = {p: side(p, api_name=a, name=n) for p, a, n in [
        ("c/kept.yaml", "kept", "Kept"), ("c/new.yaml", "new", "Old"),
        ("c/far/moved.yaml", "moved", "M2"), ("c/renamed.yaml", "named_b", "same  NAME"),
        ("c/twin3.yaml", "t3", "Twin"), ("c/fresh.yaml", "fresh", "Fresh")]}
    changes = [Change("M", "c/kept.yaml", "c/kept.yaml"),
               Change("R", "c/old.yaml", "c/new.yaml", similarity=90)]
    changes += [Change("D", p, None) for p in base if p not in ("c/kept.yaml", "c/old.yaml")]
    changes += [Change("A", None, p) for p in head if p not in ("c/kept.yaml", "c/new.yaml")]
    found = {(p.base.path if p.base else None, p.head.path if p.head else None): p.paired_by
             for p in pair(changes, base, head)}
    assert found == {
        ("c/kept.yaml", "c/kept.yaml"): PairedBy.PATH,
        ("c/old.yaml", "c/new.yaml"): PairedBy.RENAME,
        ("c/moved.yaml", "c/far/moved.yaml"): PairedBy.API_NAME,
        ("c/named.yaml", "c/renamed.yaml"): PairedBy.NAME,
        # two deleted "Twin"s and one added: no guess
        ("c/twin1.yaml", None): PairedBy.NOTHING,
        ("c/twin2.yaml", None): PairedBy.NOTHING,
        (None, "c/twin3.yaml"): PairedBy.NOTHING,
        ("c/gone.yaml", None): PairedBy.NOTHING,
        (None, "c/fresh.yaml"): PairedBy.NOTHING,
    }
    assert [p.path for p in pair(changes, base, head)] == sorted(
        p.path for p in pair(changes, base, head))
