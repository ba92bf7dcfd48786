"""Reading manifests out of git: the only module of scsync that imports gitpython.

Everything is read from the object store (trees and blobs), never from a
checkout, so the work tree is left untouched and two revisions can be read
side by side.  Costs follow the size of a change, not of the repository: the
changed paths come from git's own tree diff (with its rename detection) and
blobs are read by id through one persistent `git cat-file --batch`.

Every failure leaves as a `GitError` whose message says how to fix it (the
typical one: a shallow CI clone that lacks the base branch).
"""

from __future__ import annotations

import contextlib
import functools
import os
import posixpath
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType

# Without git on PATH, gitpython raises ImportError at import time; quiet makes
# it fail on first use instead, where the error becomes a readable GitError.
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import git

from scsync.errors import GitError, UsageError
from scsync.manifest.discover import DEFAULT_FOLDER, SUFFIXES

#: Modes of regular files; symlinks (120000) and submodules (160000) hold no manifest.
_FILE_MODES = frozenset({"100644", "100755"})
_NULL_SHA = "0" * 40
_FULL_HISTORY_HINT = "in GitHub Actions, check out with actions/checkout and fetch-depth: 0"
_BRANCH = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._/-]*")
_SHA = re.compile(r"[0-9a-f]{7,40}")
#: `git -c` options that undo the grep config a user may have (see Repository.grep)
_GREP_CONFIG = tuple(
    arg
    for setting in ("grep.column=false", "grep.lineNumber=true", "grep.fullName=true",
                    "grep.patternType=fixed", "grep.extendedRegexp=false", "color.grep=never",
                    "color.ui=never")
    for arg in ("-c", setting)
)


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a tree diff.  ``status`` is git's letter: A, D, M, R or T."""

    status: str
    old_path: str | None
    new_path: str | None
    old_blob: str | None = None
    new_blob: str | None = None
    old_mode: str | None = None
    new_mode: str | None = None
    similarity: int | None = None


@dataclass(frozen=True, slots=True)
class Range:
    """Two resolved commits to compare, and how the user named them."""

    base: str
    head: str
    base_rev: str
    head_rev: str
    merge_base: bool  # True for BASE...HEAD: base is the merge base of the two

    @property
    def label(self) -> str:
        return f"{self.base_rev}{'...' if self.merge_base else '..'}{self.head_rev}"


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """What a person recognises a commit by."""

    sha: str
    subject: str
    author: str
    time: int  # the author's date, seconds since the epoch


@dataclass(frozen=True, slots=True)
class GrepHit:
    path: str
    line: int
    text: str


@functools.lru_cache(maxsize=64)
def normalize_folder(folder: str) -> str:
    """A folder as git spells paths: no `./`, no trailing `/`; "" for the whole repository.

    git paths never start with `./`, so `--folder ./connectors` used as a prefix
    matched nothing and every manifest looked hidden (a name starting with '.').
    """
    path = posixpath.normpath(folder.strip() or ".").lstrip("/")
    if path in (".", ""):
        return ""
    if path == ".." or path.startswith("../"):
        raise UsageError(f"--folder {folder}: the folder is outside the repository "
                         "(give it relative to the repository root, e.g. connectors)")
    return path


def is_manifest_path(path: str, folder: str) -> bool:
    """The rule `scsync validate` applies on disk: YAML files, nothing hidden."""
    folder = normalize_folder(folder)
    prefix = folder + "/" if folder else ""
    if not path.startswith(prefix) or not path.endswith(SUFFIXES):
        return False
    return not any(part.startswith(".") for part in path[len(prefix):].split("/"))


def split_range(base: str, head: str | None) -> tuple[str, str, bool]:
    """`A...B` / `A..B` / `A [B]` into (base, head, merge_base), as `git diff` reads them."""
    for sep, merge_base in (("...", True), ("..", False)):
        if sep in base:
            if head is not None:
                raise GitError(f"give either the range '{base}' or two revisions, not both")
            left, right = base.split(sep, 1)
            return left or "HEAD", right or "HEAD", merge_base
    return base, head or "HEAD", False


def open_repo(path: str = ".") -> Repository:
    """The repository holding `path` (it may be a folder inside the work tree)."""
    try:
        return Repository(git.Repo(path, search_parent_directories=True))
    except git.NoSuchPathError:
        raise GitError(f"no such folder: {path}") from None
    except git.InvalidGitRepositoryError:
        raise GitError(
            f"{os.path.abspath(path)} is not inside a git repository "
            "(run scsync in a clone, or pass --repo PATH)"
        ) from None


class Repository:
    """A git repository read through its object store.  Close it (or use `with`)."""

    def __init__(self, repo: git.Repo) -> None:
        self._repo = repo

    def __enter__(self) -> Repository:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._repo.close()

    @property
    def root(self) -> str:
        return str(self._repo.working_tree_dir or self._repo.git_dir)

    def _git(self, *args: str) -> str:
        try:
            out: str = self._repo.git.execute(["git", *args])
            return out
        except git.GitCommandNotFound:
            raise GitError("git is not installed or not on PATH") from None

    def is_shallow(self) -> bool:
        try:
            return self._git("rev-parse", "--is-shallow-repository").strip() == "true"
        except git.GitCommandError:
            return False

    def resolve(self, rev: str, *, role: str = "revision") -> str:
        """The commit id `rev` names, or a GitError saying how to get it."""
        if not rev or rev.startswith("-"):
            raise GitError(f"invalid {role} {rev!r}: a revision cannot be empty or start with '-'")
        try:
            return self._git(
                "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
            ).strip()
        except git.GitCommandError as exc:
            if exc.stderr and "fatal" in str(exc.stderr):  # not "unknown": dubious ownership...
                raise GitError(f"git cannot read {self.root}: {_stderr(exc)}") from None
            raise GitError(self._missing_message(rev, role)) from None

    def _missing_message(self, rev: str, role: str) -> str:
        shallow = self.is_shallow()
        remotes = [r.name for r in self._repo.remotes]
        message = f"{role} '{rev}' is not in this {'shallow clone' if shallow else 'repository'}"
        remote, _, branch = rev.partition("/")
        if remote in remotes and _BRANCH.fullmatch(branch):
            return f"{message}; fetch it: git fetch --no-tags {remote} {branch} " \
                f"(or {_FULL_HISTORY_HINT})"
        if remotes and _BRANCH.fullmatch(rev) and not _SHA.fullmatch(rev):
            first = "origin" if "origin" in remotes else remotes[0]
            return f"{message}; if it is a branch of {first}, fetch it: git fetch --no-tags " \
                f"{first} {rev}, then compare with {first}/{rev} (or {_FULL_HISTORY_HINT})"
        if shallow:
            return f"{message}; fetch the history: git fetch --unshallow (or {_FULL_HISTORY_HINT})"
        return f"{message}: not a branch, tag or commit here (list them with git branch -a)"

    def resolve_range(self, base: str, head: str | None = None) -> Range:
        base_rev, head_rev, merge_base = split_range(base, head)
        base_sha = self.resolve(base_rev, role="base ref")
        head_sha = self.resolve(head_rev, role="head ref")
        if merge_base:
            base_sha = self.merge_base(base_sha, head_sha, base_rev, head_rev)
        return Range(base_sha, head_sha, base_rev, head_rev, merge_base)

    def merge_base(self, base: str, head: str, base_rev: str, head_rev: str) -> str:
        try:
            return self._git("merge-base", base, head).strip()
        except git.GitCommandError:
            if self.is_shallow():
                raise GitError(
                    f"'{base_rev}' and '{head_rev}' have no merge base in this shallow clone; "
                    f"fetch the history: git fetch --unshallow (or {_FULL_HISTORY_HINT})"
                ) from None
            raise GitError(
                f"'{base_rev}' and '{head_rev}' share no history; compare the two trees "
                f"directly with two dots: {base_rev}..{head_rev}"
            ) from None

    def changed_paths(self, base: str, head: str, folder: str = "") -> list[Change]:
        """What changed from `base` to `head` under `folder`, renames paired by git."""
        args = ["diff-tree", "-r", "-z", "-M", "--no-commit-id", "--no-abbrev", "--raw",
                base, head]
        if folder := normalize_folder(folder):
            args += ["--", folder + "/"]
        try:
            out = self._git(*args)
        except git.GitCommandError as exc:
            raise GitError(f"git cannot compare {base[:12]} and {head[:12]}: "
                           f"{_stderr(exc)}") from None
        return list(_parse_raw(out))

    def commit_info(self, commit: str) -> CommitInfo:
        """The subject, author and date of `commit` (a full id)."""
        try:
            out = self._git("show", "-s", "--no-show-signature", "--format=%H%x00%an%x00%at%x00%s",
                            commit, "--")
        except git.GitCommandError as exc:
            raise GitError(f"git cannot read commit {commit[:12]}: {_stderr(exc)}") from None
        sha, author, when, subject = [*out.strip("\n").split("\0", 3), "", "", ""][:4]
        return CommitInfo(sha, subject, author, int(when) if when.isdigit() else 0)

    def read_object(self, name: str) -> bytes:
        """A blob's bytes by id or `commit:path`; one persistent cat-file serves them all."""
        try:
            data: bytes = self._repo.git.get_object_data(name)[3]
        except ValueError:
            raise GitError(f"'{name}' is not in this repository (a partial or shallow clone "
                           f"may lack it: git fetch --unshallow)") from None
        except git.GitCommandNotFound:
            raise GitError("git is not installed or not on PATH") from None
        return data

    def is_folder(self, commit: str, folder: str) -> bool:
        """Whether `folder` (normalised; "" is the root) is a folder in the tree of `commit`."""
        try:
            kind = self._git("cat-file", "-t", f"{commit}:{normalize_folder(folder)}")
        except git.GitCommandError:
            return False
        return kind.strip() == "tree"

    def read_blob(self, commit: str, path: str) -> bytes:
        return self.read_object(f"{commit}:{path}")

    def manifest_paths(self, commit: str, folder: str = DEFAULT_FOLDER) -> dict[str, str]:
        """Every manifest under `folder` at `commit`: path -> blob id."""
        folder = normalize_folder(folder)
        try:
            out = self._git("ls-tree", "-r", "-z", "--full-tree", commit, "--", folder or ".")
        except git.GitCommandError as exc:
            # A commit missing from the mirror, or objects damaged on disk: say which.
            raise GitError(f"git cannot list the manifests of commit {commit[:12]} in "
                           f"{self.root}: {_stderr(exc)} (fetch the commit again, or check "
                           "the repository with git fsck)") from None
        found: dict[str, str] = {}
        for entry in filter(None, out.split("\0")):
            meta, path = entry.split("\t", 1)
            mode, _kind, sha = meta.split(" ")
            if mode in _FILE_MODES and is_manifest_path(path, folder):
                found[path] = sha
        return found

    def grep(
        self, commit: str, strings: Iterable[str], folder: str = "", *, ignore_case: bool = False
    ) -> list[GrepHit]:
        """Lines holding any of `strings` in the tree of `commit`, searched by git in C.

        Fixed strings, not regular expressions: git's fixed-string search keeps its
        speed with many strings and with ignore_case, where its regex engine does not.
        The output format is pinned on the command line: a user's grep.column,
        grep.fullName, grep.patternType or color config would otherwise change
        the records and the duplicate check would silently find nothing.
        """
        args = [*_GREP_CONFIG, "grep", "-n", "--no-column", "-z", "-I", "-F", "--no-color",
                "--full-name"]
        if ignore_case:
            args.append("-i")
        for string in strings:
            args += ["-e", string]
        args += [commit, "--"]
        if folder := normalize_folder(folder):
            args.append(folder + "/")
        try:
            out = self._git(*args)
        except git.GitCommandError as exc:
            if exc.status == 1:  # git grep's "no match"
                return []
            raise GitError(f"git grep failed: {_stderr(exc)}") from None
        hits = []
        prefix = commit + ":"
        for record in out.split("\n"):
            parts = record.split("\0", 2)
            # path NUL line NUL text; anything else is not a hit of this format
            if len(parts) == 3 and parts[0].startswith(prefix) and parts[1].isdigit():
                hits.append(GrepHit(parts[0].removeprefix(prefix), int(parts[1]), parts[2]))
        return hits


def _stderr(exc: git.GitCommandError) -> str:
    text = exc.stderr if isinstance(exc.stderr, str) else str(exc.stderr)
    text = re.sub(r"^\s*stderr: ", "", text.strip()).strip("'\" \n")
    return text or f"exit status {exc.status}"


def _parse_raw(out: str) -> Iterable[Change]:
    """`diff-tree --raw -z`: `:oldmode newmode old new STATUS\\0path\\0[path\\0]`."""
    fields = out.split("\0")
    i = 0
    while i < len(fields) - 1:
        meta = fields[i].lstrip(":").split(" ")
        if len(meta) != 5:
            i += 1
            continue
        old_mode, new_mode, old_sha, new_sha, status = meta
        letter, score = status[0], status[1:]
        if letter in "RC":
            old_path, new_path = fields[i + 1], fields[i + 2]
            i += 3
        else:
            old_path = new_path = fields[i + 1]
            i += 2
        yield Change(
            status=letter,
            old_path=None if letter == "A" else old_path,
            new_path=None if letter == "D" else new_path,
            old_blob=None if old_sha == _NULL_SHA else old_sha,
            new_blob=None if new_sha == _NULL_SHA else new_sha,
            old_mode=None if letter == "A" else old_mode,
            new_mode=None if letter == "D" else new_mode,
            similarity=int(score) if score else None,
        )


def is_regular_file(mode: str | None) -> bool:
    return mode in _FILE_MODES


# -- The controller's mirror (issue 5) ------------------------------------------
# A bare copy of the watched repository under the controller's data folder; only
# the one branch is fetched, into a ref of its own, so the copy never needs a
# work tree and a force-push upstream is followed, not refused.

_MIRROR_REF = "refs/scsync/head"
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_FETCH_TIMEOUT = 120.0


def open_mirror(url: str, path: str) -> Repository:
    """The bare mirror at `path` of the repository at `url`, created on first use."""
    try:
        if os.path.isfile(os.path.join(path, "HEAD")):
            repo = git.Repo(path)
            if repo.remotes.origin.url != url:
                repo.remotes.origin.set_url(url)
        else:
            repo = git.Repo.init(path, bare=True, mkdir=True)
            repo.create_remote("origin", url)
    except (git.GitCommandError, git.InvalidGitRepositoryError, OSError) as exc:
        raise GitError(f"cannot prepare the mirror in {path}: "
                       f"{_USERINFO.sub('***@', str(exc))}") from None
    return Repository(repo)


def fetch_branch(repository: Repository, branch: str) -> str:
    """Fetch `branch` from origin into the mirror; the commit id it points at."""
    if not _BRANCH.fullmatch(branch):
        raise GitError(f"invalid branch name {branch!r}")
    try:
        repository._repo.git.execute(
            ["git", "fetch", "--quiet", "--no-tags", "--force", "--no-write-fetch-head",
             "origin", f"+refs/heads/{branch}:{_MIRROR_REF}"],
            kill_after_timeout=_FETCH_TIMEOUT, env={"GIT_TERMINAL_PROMPT": "0"})
    except git.GitCommandError as exc:
        # git may echo the URL, and a URL may carry a token: never show its userinfo.
        raise GitError(f"cannot fetch branch '{branch}': "
                       f"{_USERINFO.sub('***@', _stderr(exc))}") from None
    except git.GitCommandNotFound:
        raise GitError("git is not installed or not on PATH") from None
    return repository.resolve(_MIRROR_REF, role="fetched branch")


def current_branch(repository: Repository) -> str | None:
    """The branch checked out in a work tree (None when HEAD is detached or unborn)."""
    try:
        name = repository._git("symbolic-ref", "--quiet", "--short", "HEAD").strip()
    except git.GitCommandError:
        return None
    try:
        repository._git("rev-parse", "--verify", "--quiet", f"refs/heads/{name}")
    except git.GitCommandError:
        return None  # no commit yet
    return name or None


# -- Renames in a work tree (issue 5: plan and apply of the work tree) -----------
# `changed_paths` compares two commits; a plan of the work tree needs the same
# rename pairing between a commit and files not committed yet, or a `git mv`
# with a new api_name reads as a create.


def work_tree_changes(repository: Repository, base: str, folder: str = "") -> list[Change]:
    """What changed from commit `base` to the work tree under `folder`, renames paired by git.

    Untracked files count: a plain `mv` is a rename as much as a `git mv`.  git
    compares them through a throwaway copy of the index, so the user's index
    and staging are never touched (the blobs it hashes are unreachable objects
    that `git gc` removes).
    """
    repo = repository._repo
    if repo.bare or not repo.working_tree_dir:
        return []
    pathspec = normalize_folder(folder) or "."
    with tempfile.TemporaryDirectory(prefix="scsync-index-") as tmp:
        index = os.path.join(tmp, "index")
        with contextlib.suppress(OSError):  # no index yet: git starts an empty one
            shutil.copyfile(os.path.join(repo.git_dir, "index"), index)
        env = {"GIT_INDEX_FILE": index}
        try:
            repo.git.execute(["git", "add", "--all", "--", pathspec], env=env)
            out: str = repo.git.execute(
                ["git", "diff-index", "--cached", "-z", "-M", "--no-abbrev", "--raw", base,
                 "--", pathspec], env=env)
        except git.GitCommandError as exc:
            raise GitError(f"git cannot compare {base[:12]} with the work tree: "
                           f"{_stderr(exc)}") from None
        except git.GitCommandNotFound:
            raise GitError("git is not installed or not on PATH") from None
    return list(_parse_raw(out))
