"""Benchmark: `scsync validate` on 10,000 manifests against its peers, in one run.

    python bench/bench_validate.py [--files 10000] [--runs 5] [--peer-runs 1]

Generates varied manifests (about 3 % invalid) in a temporary folder, then
times, end to end as a user runs them (process start included):

- `scsync validate DIR`                          (the default: parallel parse)
- `scsync validate --jobs 1 DIR`                 (one process)
- `check-jsonschema --schemafile ... FILES`      (the peer named in issue 2)
- a bare loop that only reads and parses each file with PyYAML's C loader

and prints medians and the ratios the goals are stated in: under 2 s, at least
3x faster than check-jsonschema, within 2x of the bare parse.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "smartconnector.schema.json"

STATUSES = ["Operational", "Operational", "Operational", "Operational - Needs Attention",
            "Inactive", "Setup"]
SOURCES = ["HubSpot", "Salesforce", "NetSuite", "Zendesk", "Stripe", "Shopify", "Marketo"]
OBJECTS = ["contacts", "companies", "deals", "invoices", "tickets", "orders", "leads"]

BARE_PARSE = """
import sys, time, yaml
files = [l for l in open(sys.argv[1]).read().splitlines() if l]
for f in files:
    with open(f, 'rb') as fh:
        try:
            yaml.load(fh.read(), Loader=yaml.CSafeLoader)
        except yaml.YAMLError:
            pass
"""


def manifest(i: int, rng: random.Random) -> str:
    source, obj = rng.choice(SOURCES), rng.choice(OBJECTS)
    api_name = f"{source.lower()}_{obj}_{i}"
    limit = rng.choice([0, 1, 1, 1, 1, 2, 4, 8])
    lines = [
        "# yaml-language-server: $schema=../../schemas/smartconnector.schema.json",
        "apiVersion: scsync/v1",
        "kind: SmartConnector",
        f"api_name: {api_name}          # stable identifier",
        f"name: {source} {obj.title()} Sync {i}",
    ]
    if rng.random() < 0.9:
        lines.append(
            f"description: >-\n  Imports {source} {obj} into Kizen every {rng.randint(1, 24)} "
            f"hours,\n  matching on external id and updating changed fields."
        )
    lines += [
        f"status: {rng.choice(STATUSES)}",
        f"max_concurrent_executions: {limit}",
        f"create_only: {'true' if limit > 1 and rng.random() < 0.8 else 'false'}",
    ]
    if rng.random() < 0.7:
        lines.append(f"additional_notification_email: {obj}-ops@example.com")
    if rng.random() < 0.5:
        lines.append("additional_error_notification_email: oncall@example.com")
    if rng.random() < 0.5:
        lines.append(f"execution_ended_webhook_url: https://hooks.example.com/scsync/{api_name}")
    if rng.random() < 0.6:
        lines += [
            "job:",
            f"  command: [python, jobs/{api_name}.py, --since, '24h']",
            f"  timeout_seconds: {rng.choice([600, 1800, 3600, 7200])}",
            "  env:",
            f"    SOURCE: {source.lower()}",
            f"    OBJECT: {obj}",
        ]
    text = "\n".join(lines) + "\n"
    if rng.random() < 0.03:  # a few percent invalid, of several kinds
        text = rng.choice([
            lambda t: t.replace("status: ", "status: operational #", 1),
            lambda t: t.replace("name: ", "nmae: ", 1),
            lambda t: t.replace(f"api_name: {api_name}", f"api_name: {api_name.upper()}", 1),
            lambda t: t + "status: Inactive\n",
            lambda t: t.replace("kind: SmartConnector", "kind: [SmartConnector", 1),
            lambda t: t.replace(f"max_concurrent_executions: {limit}",
                                "max_concurrent_executions: '3'", 1),
        ])(text)
    return text


def generate(folder: Path, n: int, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    files = []
    for i in range(n):
        sub = folder / "connectors" / f"team_{i % 50:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        text = manifest(i, rng)
        # Files are named after their api_name, the convention SC045 checks.
        stem = text.split("api_name: ", 1)[1].split()[0] if "api_name: " in text else str(i)
        path = sub / f"{stem}.yaml"
        path.write_text(text, "utf-8")
        files.append(path)
    return files


def timed(cmd: list[str], runs: int, cwd: Path, ok_codes: tuple[int, ...] = (0, 1)) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode not in ok_codes:
            sys.exit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5, help="runs of scsync and the bare parse")
    parser.add_argument("--peer-runs", type=int, default=1, help="runs of check-jsonschema")
    args = parser.parse_args()

    scsync = shutil.which("scsync")
    peer = shutil.which("check-jsonschema")
    if scsync is None:
        sys.exit("scsync is not installed: python -m pip install -e .")
    work = Path(tempfile.mkdtemp(prefix="scsync-bench-"))
    try:
        start = time.perf_counter()
        files = generate(work, args.files)
        print(f"generated {len(files):,} manifests in {time.perf_counter() - start:.1f} s "
              f"under {work}")
        listing = work / "files.txt"
        listing.write_text("\n".join(str(f) for f in files), "utf-8")
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        print(f"python {sys.version.split()[0]}, {cpus} cores; medians of the runs shown\n")

        results: dict[str, list[float]] = {}
        # Interleave the runs so that machine noise hits every contender alike.
        for _ in range(args.runs):
            for label, cmd in (
                ("scsync validate", [scsync, "validate", "--format", "json", "connectors"]),
                ("scsync validate --jobs 1",
                 [scsync, "validate", "--jobs", "1", "--format", "json", "connectors"]),
                ("bare C-loader parse", [sys.executable, "-c", BARE_PARSE, str(listing)]),
            ):
                results.setdefault(label, []).extend(timed(cmd, 1, work))
        if peer:
            # Relative paths keep the argument list short; the same files either way.
            rel = [str(f.relative_to(work)) for f in files]
            results["check-jsonschema"] = timed(
                [peer, "--schemafile", str(SCHEMA), *rel], args.peer_runs, work
            )
        else:
            print("check-jsonschema is not installed (pip install -e '.[bench]'): peer skipped")

        med = {k: statistics.median(v) for k, v in results.items()}
        width = max(len(k) for k in med)
        for label, value in med.items():
            runs = ", ".join(f"{t:.2f}" for t in results[label])
            print(f"{label:<{width}}  {value:6.2f} s   (runs: {runs})")
        ours, bare = med["scsync validate"], med["bare C-loader parse"]
        print()
        print(f"goal: {args.files:,} files under 2 s        -> {ours:.2f} s "
              f"{'MET' if ours < 2 else 'MISSED'}")
        if "check-jsonschema" in med:
            ratio = med["check-jsonschema"] / ours
            print(f"goal: >= 3x faster than check-jsonschema -> {ratio:.1f}x "
                  f"{'MET' if ratio >= 3 else 'MISSED'}")
        print(f"goal: within 2x of the bare parse        -> {ours / bare:.2f}x "
              f"{'MET' if ours <= 2 * bare else 'MISSED'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
