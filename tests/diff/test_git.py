"""What `scsync diff` reads from git: renames, ranges, shallow clones, odd files, bad refs."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import RunCli
from scsync.errors import GitError
from scsync.findings import Severity
from scsync.gitsource import open_repo, split_range
from scsync.review.engine import review

from .conftest import HUBSPOT, LEADS, Repo


def test_rename_without_content_edit_is_listed_with_no_setting_change(repo: Repo) -> None:
    repo.move(LEADS, "connectors/marketing/web_leads.yaml")
    repo.commit()
    result = repo.review()
    [change] = result.changes
    assert (change["change"], change["paired_by"]) == ("renamed", "rename")
    assert change["rows"] == [] and result.findings == []


def test_rename_with_content_edit_is_reviewed_as_one_connector(repo: Repo) -> None:
    repo.move(HUBSPOT, "connectors/crm/hubspot_contacts.yaml")
    repo.write("connectors/crm/hubspot_contacts.yaml",
               (repo.path / "connectors/crm/hubspot_contacts.yaml").read_text()
               .replace('"Operational"', '"Inactive"'))
    repo.commit()
    result = repo.review()
    [change] = result.changes
    assert change["paired_by"] == "rename"
    assert [(f.rule, f.path) for f in result.findings] == [
        ("SC102", "connectors/crm/hubspot_contacts.yaml")]


@pytest.fixture
def diverged(repo: Repo) -> Repo:
    """feature changes HUBSPOT; after it branched, main changed LEADS."""
    repo.checkout("feature", new=True)
    repo.hubspot(status="Inactive")
    repo.commit("feature: stop hubspot")
    repo.checkout("main")
    repo.manifest(LEADS, "web_leads", name="Website Leads", max_concurrent_executions=4,
                  create_only=True)
    repo.commit("main: rename the leads label")
    repo.checkout("feature")
    return repo


def test_three_dots_review_only_what_the_branch_adds(diverged: Repo) -> None:
    result = diverged.review("main...feature", None)
    assert [c["connector"] for c in result.changes] == ["hubspot_contacts"]
    assert result.revisions.merge_base and result.revisions.label == "main...feature"
    assert diverged.review("main...", None).changes == result.changes  # HEAD is feature


def test_two_dots_compare_the_trees_and_see_main_moving_on(diverged: Repo) -> None:
    two_args = diverged.review("main", "feature")
    assert [c["connector"] for c in two_args.changes] == ["hubspot_contacts", "web_leads"]
    leads = two_args.changes[1]
    assert [(r["field"], r["before"], r["after"]) for r in leads["rows"]] == [
        ("name", "Website Leads", "Web Leads")]
    assert diverged.review("main..feature", None).changes == two_args.changes


def _clone(source: Repo, target: Path, *flags: str) -> Path:
    subprocess.run(
        ["git", "clone", "--quiet", *flags, f"file://{source.path}", str(target)],
        check=True, capture_output=True,
    )
    return target


def test_shallow_clone_without_the_base_exits_2_with_the_fetch_command(
    diverged: Repo, tmp_path: Path, run_cli: RunCli
) -> None:
    clone = _clone(diverged, tmp_path / "ci", "--depth", "1", "--branch", "feature")
    code, out, err = run_cli("diff", "origin/main...HEAD", "--format", "markdown", cwd=clone)
    assert code == 2 and out == ""
    assert "base ref 'origin/main' is not in this shallow clone" in err
    assert "git fetch --no-tags origin main" in err and "fetch-depth: 0" in err
    assert "Traceback" not in err


def test_shallow_clone_with_both_tips_but_no_merge_base(
    diverged: Repo, tmp_path: Path, run_main: RunCli
) -> None:
    clone = _clone(diverged, tmp_path / "ci", "--depth", "1", "--no-single-branch",
                   "--branch", "feature")
    code, _, err = run_main("diff", "origin/main...HEAD", cwd=clone)
    assert code == 2
    assert "no merge base in this shallow clone" in err and "git fetch --unshallow" in err
    code, out, _ = run_main("diff", "origin/main", "HEAD", cwd=clone)
    assert code == 0 and "2 changed connectors" in out  # two trees need no history


def test_bare_branch_name_missing_suggests_fetching_it(repo: Repo, tmp_path: Path) -> None:
    clone = _clone(repo, tmp_path / "ci", "--depth", "1")
    with pytest.raises(GitError, match=r"fetch it: git fetch --no-tags origin release, then "
                                       r"compare with origin/release"):
        review("release", repo=str(clone))


def test_binary_and_non_yaml_files_are_ignored_or_reported(repo: Repo) -> None:
    repo.write("connectors/logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    repo.write("connectors/README.md", "# Connectors\n")
    repo.write("connectors/.hidden.yaml", "not: reviewed\n")
    repo.write("connectors/blob.yaml", b"\x00\x01\xfe\xff" * 16)
    os.symlink("web_leads.yaml", repo.path / "connectors/alias.yaml")
    repo.commit()
    result = repo.review()
    assert {i["path"]: i["reason"].split(":")[0] for i in result.ignored} == {
        "connectors/.hidden.yaml": "hidden",
        "connectors/README.md": "not a manifest",
        "connectors/alias.yaml": "a symbolic link",
        "connectors/logo.png": "not a manifest",
    }
    assert [(f.rule, f.path) for f in result.findings] == [("SC003", "connectors/blob.yaml")]
    [change] = result.changes
    assert (change["change"], change["connector"]) == ("added", "connectors/blob.yaml")
    assert result.report().count(Severity.ERROR) == 1


def test_invalid_head_manifest_reports_its_validation_findings(repo: Repo) -> None:
    repo.hubspot(status="operational", max_concurent_executions=2)
    repo.commit()
    result = repo.review()
    by_rule = {f.rule: f for f in result.findings}
    assert by_rule["SC023"].line == 6
    assert "did you mean 'Operational'" in (by_rule["SC023"].hint or "")
    assert by_rule["SC021"].message.startswith("unknown key 'max_concurent_executions'")
    assert not result.report().passed
    [change] = result.changes
    status = next(r for r in change["rows"] if r["field"] == "status")
    assert (status["after"], status["severity"]) == ("operational", "error")


@pytest.mark.parametrize("field", ["status", "api_name"])
@pytest.mark.parametrize("value", [["Operational"], {"a": 1}])
def test_non_scalar_status_or_api_name_is_reported_not_a_crash(
    repo: Repo, run_main: RunCli, field: str, value: object
) -> None:
    def with_value(relpath: str) -> str:
        text = (repo.path / relpath).read_text()
        return re.sub(rf"(?m)^{field}: .*$", f"{field}: {json.dumps(value)}", text)

    repo.manifest("connectors/fresh.yaml", "fresh")  # a new connector
    repo.commit("odd values", {HUBSPOT: with_value(HUBSPOT),  # changed in place
                               "connectors/fresh.yaml": with_value("connectors/fresh.yaml")})
    code, out, err = run_main("diff", "HEAD~1", "--format", "text", cwd=repo.path)
    assert (code, "Traceback" in err) == (1, False), err
    assert "error[SC02" in out  # the head's schema findings are shown
    assert run_main("diff", "HEAD~1", "--format", "text", "--allow-api-name-change",
                    "hubspot_contacts:fresh", cwd=repo.path)[0] == 1


def test_head_that_is_not_yaml_any_more(repo: Repo) -> None:
    repo.write(HUBSPOT, "api_name: [unclosed\n")
    repo.commit()
    result = repo.review()
    assert [f.rule for f in result.findings] == ["SC001"]
    assert result.changes[0]["change"] == "unreadable"


@pytest.mark.parametrize("config", [
    {},
    {"grep.column": "true"},
    {"grep.lineNumber": "false", "grep.fullName": "true"},
    {"grep.patternType": "perl"},
    {"grep.extendedRegexp": "true"},
    {"color.grep": "always", "color.ui": "always"},
    {"grep.column": "true", "grep.lineNumber": "true", "color.grep": "always"},
], ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "none")
def test_duplicate_names_against_the_unchanged_rest_of_the_head_tree(
    repo: Repo, config: dict[str, str]
) -> None:
    with repo.gitpython.config_writer() as writer:  # a user's git config must not matter
        for key, value in config.items():
            section, option = key.split(".")
            writer.set_value(section, option, value)
    repo.manifest("connectors/copy.yaml", "web_leads", name="HubSpot  contacts")
    repo.commit()
    result = repo.review()
    dup = {f.rule: f for f in result.findings if f.rule in ("SC050", "SC051")}
    assert dup["SC050"].path == "connectors/copy.yaml" and dup["SC050"].line == 3
    assert f"already used by {LEADS}:3" in dup["SC050"].message
    assert f"already used by {HUBSPOT}:4" in dup["SC051"].message


def test_the_work_tree_is_not_touched(repo: Repo) -> None:
    repo.hubspot(status="Inactive")
    repo.commit()
    dirty = (repo.path / LEADS).read_text() + "# an uncommitted edit\n"
    repo.write(LEADS, dirty)
    before = repo.gitpython.git.status("--porcelain")
    result = repo.review()
    assert repo.gitpython.git.status("--porcelain") == before
    assert (repo.path / LEADS).read_text() == dirty
    assert [c["connector"] for c in result.changes] == ["hubspot_contacts"]


def test_only_the_manifest_folder_is_reviewed(repo: Repo) -> None:
    repo.manifest("elsewhere/x.yaml", "x_connector")
    repo.hubspot(status="Inactive")
    repo.commit()
    assert [c["connector"] for c in repo.review().changes] == ["hubspot_contacts"]
    assert [c["connector"] for c in repo.review(folder="elsewhere").changes] == ["x_connector"]


@pytest.mark.parametrize("folder", ["./connectors", "connectors/", "./connectors/",
                                    "connectors/../connectors"])
def test_folder_spelled_with_dot_slash_or_trailing_slash(repo: Repo, folder: str) -> None:
    repo.hubspot(status="Inactive")
    repo.commit()
    assert [c["connector"] for c in repo.review(folder=folder).changes] == ["hubspot_contacts"]
    assert [f.rule for f in repo.review(folder=folder).findings] == ["SC102"]


@pytest.mark.parametrize("folder", [".", "./", ""])
def test_folder_dot_is_the_whole_repository(repo: Repo, folder: str) -> None:
    repo.manifest("elsewhere/x_connector.yaml", "x_connector")
    repo.hubspot(status="Inactive")
    repo.commit()
    result = repo.review(folder=folder)
    assert [c["connector"] for c in result.changes] == ["hubspot_contacts", "x_connector"]
    assert result.ignored == []


def test_folder_missing_from_both_trees_is_a_usage_error(repo: Repo, run_main: RunCli) -> None:
    repo.hubspot(status="Inactive")
    repo.commit()
    code, out, err = run_main("diff", "HEAD~1", "--folder", "./conectors", cwd=repo.path)
    assert (code, out) == (2, "")
    assert err.startswith("scsync: error: --folder ./conectors: no folder 'conectors' in "
                          "HEAD~1 or HEAD")
    code, _, err = run_main("diff", "HEAD~1", "--folder", "../connectors", cwd=repo.path)
    assert code == 2 and "outside the repository" in err
    # a folder that only one side has is reviewed: every manifest in it was added or deleted
    repo.move("connectors", "manifests")
    repo.commit()
    assert run_main("diff", "HEAD~1", "--folder", "connectors/", cwd=repo.path)[0] == 0
    code, out, _ = run_main("diff", "HEAD~2", "--folder", "./manifests", "--format", "text",
                            cwd=repo.path)
    assert "+ hubspot_contacts (added)" in out and "+ web_leads (added)" in out


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("nope", "base ref 'nope' is not in this repository: not a branch, tag or commit"),
        ("--output=x", "a revision cannot be empty or start with '-'"),
        ("HEAD~5", "base ref 'HEAD~5' is not in this repository"),
    ],
)
def test_bad_refs_are_git_errors(repo: Repo, base: str, message: str) -> None:
    with pytest.raises(GitError, match=message):
        repo.review(base, None)


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="is not inside a git repository"):
        review("HEAD~1", repo=str(tmp_path))
    with pytest.raises(GitError, match="no such folder"):
        review("HEAD~1", repo=str(tmp_path / "missing"))


def test_unrelated_histories_suggest_two_dots(repo: Repo) -> None:
    repo.gitpython.git.checkout("--quiet", "--orphan", "other")
    repo.commit("unrelated")
    with pytest.raises(GitError, match=r"share no history.*main\.\.other"):
        repo.review("main...other", None)


@pytest.mark.parametrize(
    ("base", "head", "expected"),
    [
        ("main", None, ("main", "HEAD", False)),
        ("main", "topic", ("main", "topic", False)),
        ("main..topic", None, ("main", "topic", False)),
        ("main...topic", None, ("main", "topic", True)),
        ("origin/main...", None, ("origin/main", "HEAD", True)),
        ("...topic", None, ("HEAD", "topic", True)),
    ],
)
def test_split_range(base: str, head: str | None, expected: tuple[str, str, bool]) -> None:
    assert split_range(base, head) == expected


def test_split_range_refuses_a_range_and_a_head() -> None:
    with pytest.raises(GitError, match="not both"):
        split_range("a...b", "c")


def test_gitsource_reads_a_commit_without_a_checkout(repo: Repo) -> None:
    first = repo.gitpython.head.commit.hexsha
    repo.delete(LEADS)
    repo.commit()
    with open_repo(str(repo.path / "connectors")) as git:  # a folder inside the work tree
        assert sorted(git.manifest_paths(first)) == [HUBSPOT, LEADS]
        assert list(git.manifest_paths("HEAD")) == [HUBSPOT]
        assert b"api_name: \"web_leads\"" in git.read_blob(first, LEADS)
        [change] = git.changed_paths(first, "HEAD", "connectors")
        assert (change.status, change.old_path, change.new_path) == ("D", LEADS, None)
        with pytest.raises(GitError, match="is not in this repository"):
            git.read_blob("HEAD", LEADS)
