"""Benchmark `scsync diff`: its cost must follow the size of the change, not of the repo.

    python bench/bench_diff.py [--runs 7] [--keep]

Builds two repositories under bench/.work/ (git-ignored): 10,000 and 1,000
connectors, each with a second commit that changes the same 10 manifests
(an api_name change in place, a rename with an api_name change, a status that
stops runs, a pause, parallel writes, a webhook, emails, a name, a deletion, an
addition).  Repositories are packed (`git gc`) as a clone from a server would
be.  Times `scsync diff HEAD~1 HEAD` end to end in a subprocess, several runs
each, and prints the medians and their ratio.  Goals: under 1 s at 10,000
connectors, and at most 1.5x the 1,000-connector time.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

WORK = Path(__file__).resolve().parent / ".work"
GOAL_SECONDS = 1.0
GOAL_RATIO = 1.5
STATUSES = ["Operational", "Operational", "Operational", "Operational - Needs Attention",
            "Inactive", "Setup"]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


def manifest(api_name: str, override: dict[str, object] | None = None) -> str:
    # Seeded by the name, so an edit below changes only the field it overrides.
    rng = random.Random(api_name)
    limit = rng.choice([0, 1, 1, 1, 2, 4])
    values: dict[str, object] = {
        "api_name": api_name,
        "name": api_name.replace("_", " ").title(),
        "description": f"Moves {api_name} records from the source system into Kizen nightly.",
        "status": rng.choice(STATUSES),
        "max_concurrent_executions": limit,
        "create_only": limit > 1,
        "additional_notification_email": f"{api_name[:20]}@example.com",
        "execution_ended_webhook_url": f"https://hooks.example.com/{api_name}",
    }
    values.update(override or {})
    lines = ["apiVersion: scsync/v1", "kind: SmartConnector"]
    for key, value in values.items():
        if value is None:
            continue
        shown = str(value).lower() if isinstance(value, bool) else value
        lines.append(f"{key}: {shown}")
    lines += ["job:", "  command: [python, jobs/run.py]", "  timeout_seconds: 3600", ""]
    return "\n".join(lines)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, env={**os.environ, **GIT_ENV},
                   stdout=subprocess.DEVNULL)


def build(n: int) -> Path:
    repo = WORK / f"repo-{n}"
    if repo.exists():
        shutil.rmtree(repo)
    folder = repo / "connectors"
    paths = []
    for i in range(n):
        team = folder / f"team_{i % 100:02d}"
        team.mkdir(parents=True, exist_ok=True)
        path = team / f"connector_{i:05d}.yaml"
        path.write_text(manifest(f"connector_{i:05d}"), "utf-8")
        paths.append(path)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "gc.auto", "0")  # one explicit gc below, not one in the background
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "connectors")
    change_ten(paths)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "ten changes")
    git(repo, "gc", "-q")
    return repo


def change_ten(paths: list[Path]) -> None:
    """The same ten kinds of change in both repositories, one per row of the review table."""
    def edit(index: int, **override: object) -> None:
        paths[index].write_text(manifest(paths[index].stem, override), "utf-8")

    edit(1, api_name="connector_renamed_1")
    edit(3, status="Inactive")
    edit(4, max_concurrent_executions=0)
    edit(5, max_concurrent_executions=8, create_only=False)
    edit(6, execution_ended_webhook_url="https://hooks.example.com/moved")
    edit(7, additional_notification_email="new-team@example.com")
    edit(8, name="A Better Label")
    moved = paths[2].with_name("connector_moved_2.yaml")
    moved.write_text(manifest(paths[2].stem, {"api_name": "connector_moved_2"}), "utf-8")
    paths[2].unlink()
    paths[9].unlink()
    (paths[0].parent / "brand_new.yaml").write_text(manifest("brand_new"), "utf-8")


def time_diff(repo: Path, runs: int) -> list[float]:
    exe = shutil.which("scsync")
    cmd = [exe] if exe else [sys.executable, "-m", "scsync"]
    cmd += ["diff", "HEAD~1", "HEAD", "--repo", str(repo), "--format", "json"]
    times = []
    for _ in range(runs + 1):  # the first run warms the page cache and is dropped
        start = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - start)
        if done.returncode not in (0, 1):
            sys.exit(f"scsync diff failed ({done.returncode}): {done.stderr.decode()}")
    return times[1:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep bench/.work/ afterwards")
    args = parser.parse_args()
    repos, built = {}, {}
    for n in (1_000, 10_000):
        start = time.perf_counter()
        repos[n] = build(n)
        built[n] = time.perf_counter() - start
    # Alternate the two repositories run by run, so that the machine's noise
    # (2 shared cores) falls on both alike and the ratio compares like with like.
    times: dict[int, list[float]] = {1_000: [], 10_000: []}
    for _ in range(args.runs):
        for n, repo in repos.items():
            times[n].extend(time_diff(repo, 1))
    medians = {}
    for n, runs in times.items():
        medians[n] = statistics.median(runs)
        print(f"{n:>6,} connectors: built in {built[n]:.1f} s; scsync diff median "
              f"{medians[n]:.3f} s over {args.runs} runs (min {min(runs):.3f}, "
              f"max {max(runs):.3f})")
    ratio = medians[10_000] / medians[1_000]
    ok = medians[10_000] < GOAL_SECONDS and ratio <= GOAL_RATIO
    print(f"ratio 10,000 / 1,000: {ratio:.2f} (goal <= {GOAL_RATIO}); "
          f"10,000 under {GOAL_SECONDS:.0f} s: {medians[10_000] < GOAL_SECONDS}; "
          f"{'goals met' if ok else 'GOALS MISSED'}")
    if not args.keep:
        shutil.rmtree(WORK, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
