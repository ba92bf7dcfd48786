"""The one rule catalogue: complete on import, closed, families as data, read by every user.

`validate --ignore` and SARIF run in a fresh process (the real CLI): before the
catalogue, review and plan rules existed only once their module had been
imported, and a fresh `scsync validate` had never imported them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import RunCli, manifest_text
from scsync import rules
from scsync.rules import RULES, Family, Rule

# Boundaries of the published id ranges (docs/rules.md's sections).
FAMILY_OF = [
    ("SC001", Family.YAML), ("SC019", Family.YAML), ("SC020", Family.SCHEMA),
    ("SC039", Family.SCHEMA), ("SC040", Family.SETTINGS), ("SC049", Family.SETTINGS),
    ("SC050", Family.MANIFEST_SET), ("SC059", Family.MANIFEST_SET), ("SC060", None),
    ("SC099", None), ("SC100", Family.REVIEW), ("SC119", Family.REVIEW),
    ("SC120", Family.PLAN), ("SC199", Family.PLAN), ("SC200", None),
]


@pytest.mark.parametrize(("rule_id", "family"), FAMILY_OF)
def test_family_of_an_id(rule_id: str, family: Family | None) -> None:
    assert Family.of(rule_id) is family


@pytest.mark.parametrize("family", list(Family), ids=[f.tag for f in Family])
def test_every_family_has_rules_and_they_carry_its_tag_first(family: Family) -> None:
    members = rules.by_family(family)
    assert members, family
    assert all(r.all_tags[0] == family.tag for r in members)
    assert all(family.first <= r.id <= family.last for r in members)


def test_families_partition_the_catalogue_in_id_order() -> None:
    ids = [r.id for f in Family for r in rules.by_family(f)]
    assert ids == list(RULES) == sorted(RULES)


def test_a_rule_outside_every_range_has_no_family() -> None:
    stray = Rule("SC070", "stray", rules.SC040.severity, "Stray.", "None.")
    with pytest.raises(ValueError, match="SC070 lies in no family's range"):
        _ = stray.family


def test_the_catalogue_is_closed() -> None:
    with pytest.raises(TypeError):
        RULES["SC999"] = rules.SC001  # type: ignore[index]
    new = Rule("SC198", "something-new", rules.SC122.severity, "New.", "New.")
    with pytest.raises(ValueError, match="SC198 is not in the catalogue"):
        rules.register(new)
    assert "SC198" not in RULES
    # a copy of a declared rule is that rule: nothing is added, nothing replaced
    assert rules.register(Rule(**{k: getattr(rules.SC122, k) for k in (
        "id", "name", "severity", "summary", "help", "details", "tags", "precision")})
    ) is rules.SC122


@pytest.mark.parametrize("rule_id", ["SC042", "SC101", "SC113", "SC122", "SC125", "SC130"])
def test_validate_ignores_a_warning_or_notice_rule_of_any_family(
        tmp_path: Path, run_cli: RunCli, rule_id: str) -> None:
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / "paused.yaml").write_text(
        manifest_text("paused", max_concurrent_executions=0), "utf-8")
    code, out, err = run_cli("validate", "--ignore", rule_id.lower(), "--format", "json",
                             "connectors")
    assert (code, err) == (0, ""), err
    found = [f["rule"] for f in json.loads(out)["findings"]]
    assert rule_id not in found
    if rule_id != "SC042":
        assert "SC042" in found  # ignoring another family's rule leaves validate's own


@pytest.mark.parametrize("rule_id", ["SC100", "SC127", "SC128", "SC001"])
def test_validate_refuses_to_ignore_an_error_rule_of_any_family(
        tmp_path: Path, run_cli: RunCli, rule_id: str) -> None:
    code, out, err = run_cli("validate", "--ignore", rule_id, ".")
    assert (code, out) == (2, "")
    assert f"--ignore {rule_id}: {RULES[rule_id].name} is an error and cannot be ignored" in err


def test_sarif_and_the_rules_command_read_the_same_catalogue(
        tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "ok.yaml").write_text(manifest_text("ok"), "utf-8")
    code, out, err = run_cli("validate", "--format", "sarif", "ok.yaml")
    assert code == 0, err
    driver = json.loads(out)["runs"][0]["tool"]["driver"]
    code, listed, err = run_cli("rules", "--format", "json")
    assert code == 0, err
    assert [r["id"] for r in driver["rules"]] == [r["id"] for r in json.loads(listed)]
    assert {"SC100", "SC122", "SC130"} <= {r["id"] for r in driver["rules"]}
