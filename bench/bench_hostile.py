"""Benchmark: `scsync validate FILE` on hostile files under the size cap, against a peer.

    python bench/bench_hostile.py [--runs 5] [--timeout 60] [--peer-timeout 30] [--only NAME]

Generates each hostile file (the fuzzer's finds of issue 9 and a few more of the
same families: many keys, many duplicates, many values, many anchors, deep
nesting, alias bombs, files that end inside a collection) in a temporary
folder, then times, end to end as a user runs it (process start included):

- `python -m scsync validate FILE`   (several runs, median; the code on PYTHONPATH)
- `check-jsonschema --schemafile schemas/smartconnector.schema.json FILE`
  (the peer, once, cut off after --peer-timeout seconds and shown as ">Ns")

Goal: every file is checked in under 1 s, with its exit code (1: findings; never
2, an internal error) and at most 101 findings (the first 100, then a count).
The old wall-clock check of tests/test_loader.py (an alias bomb fails in under
0.5 s) is the "alias bomb" rows here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "smartconnector.schema.json"
CAP = 1024 * 1024
GOAL_SECONDS = 1.0
MAX_SHOWN = 101
GOAL = f"goal: every file under {GOAL_SECONDS:.0f} s, its exit code, <= {MAX_SHOWN} findings"

HEAD = (
    "apiVersion: scsync/v1\nkind: SmartConnector\napi_name: hostile\nname: Hostile\n"
    "description: A file made to cost a validator as much as it can.\nstatus: Operational\n"
)


def fill(head: str, unit: Callable[[int], str], tail: str = "", cap: int = CAP) -> str:
    """`head`, then as many `unit(i)` as keep the file within `cap` bytes (UTF-8), then `tail`."""
    parts, size, i = [head], len(head.encode()) + len(tail.encode()), 0
    while True:
        piece = unit(i)
        length = len(piece.encode())
        if size + length > cap:
            break
        parts.append(piece)
        size += length
        i += 1
    return "".join(parts) + tail


def alias_bomb(levels: int, width: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]"
              for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def n_units(count: int, unit: Callable[[int], str]) -> str:
    return "".join(unit(i) for i in range(count))


#: name -> (the file's bytes, the exit code it must get: 1, or 0 for a file that is a
#: valid manifest however odd).  Each is under the 1 MiB cap.
CASES: dict[str, tuple[Callable[[], bytes], int]] = {
    # issue 9: the crash (IndexError in _syntax_finding), with each kind of line break
    "crash [ LF TAB": (lambda: b"[\n\t", 1),
    "crash { LF TAB": (lambda: b"{\n\t", 1),
    "crash a: [ LF TAB": (lambda: b"a: [\n\t", 1),
    "crash [ CR TAB": (lambda: b"[\r\t", 1),
    "crash [ NEL TAB": (lambda: "[\u0085\t".encode(), 1),
    "crash [ U+2028 TAB": (lambda: "[\u2028\t".encode(), 1),
    # issue 9: quadratic time
    "unknown keys 5,000": (lambda: (HEAD + n_units(5_000, _key)).encode(), 1),
    "unknown keys 10,000": (lambda: (HEAD + n_units(10_000, _key)).encode(), 1),
    "unknown keys 1 MiB": (lambda: fill(HEAD, _key).encode(), 1),
    "duplicate keys 1 MiB": (lambda: fill("", lambda i: "a: 1\n").encode(), 1),
    "flow ints 1 MiB": (lambda: fill("a: [", lambda i: "1,", "1]\n").encode(), 1),
    "anchors 1 MiB": (lambda: fill("", lambda i: f"k{i:05d}: &a{i:05d} 1\n").encode(), 1),
    # more of the same families, and just under the node cap
    "duplicate keys 4,900": (lambda: (HEAD + "a: 1\n" * 4_900).encode(), 1),
    "block list 1 MiB": (lambda: fill("a:\n", lambda i: "- 1\n").encode(), 1),
    "flow mappings 1 MiB": (lambda: fill("a: [", lambda i: "{b: 1},", "{}]\n").encode(), 1),
    "aliases 1 MiB": (lambda: fill("a: &a 1\nb: [", lambda i: "*a,", "*a]\n").encode(), 1),
    "unknown keys 4,900": (lambda: (HEAD + n_units(4_900, _key)).encode(), 1),
    "nested unknown keys 4,900": (
        lambda: (HEAD + "job:\n  command: [run]\n" + n_units(4_900, lambda i: "  " + _key(i))
                 ).encode(), 1),
    "env bad values 4,900": (
        lambda: (HEAD + "job:\n  command: [run]\n  env:\n"
                 + n_units(4_900, lambda i: f"    V{i}: {i}\n")).encode(), 1),
    "env bad names 4,900": (
        lambda: (HEAD + "job:\n  command: [run]\n  env:\n"
                 + n_units(4_900, lambda i: f"    {i}-bad: x\n")).encode(), 1),
    "command of ints 9,000": (
        lambda: (HEAD + "job:\n  command: [" + ", ".join(["1"] * 9_000) + "]\n").encode(), 1),
    "1 MiB env key": (
        lambda: (HEAD + "job:\n  command: [run]\n  env:\n    ? " + "k" * (CAP - 300)
                 + "\n    : 1\n").encode(), 1),
    "1 MiB description": (
        lambda: fill(HEAD.split("description:")[0] + "status: Operational\ndescription: ",
                     lambda i: "x", "\n").encode(), 1),
    "1 MiB of emoji in a description": (
        lambda: fill(HEAD.split("description:")[0] + "status: Operational\ndescription: ",
                     lambda i: "\U0001f600", "\n").encode(), 1),
    "1 MiB of commas in a comment": (lambda: fill(HEAD + "# ", lambda i: ",", "\n").encode(), 0),
    "deep nesting [ x 100,000": (
        lambda: ("a: " + "[" * 100_000 + "]" * 100_000 + "\n").encode(), 1),
    "alias bomb 9 levels": (lambda: alias_bomb(9).encode(), 1),
    "alias bomb 30 levels": (lambda: alias_bomb(30).encode(), 1),
    "unclosed [ 1 MiB": (lambda: fill("a: [", lambda i: "1,").encode(), 1),
}


def _key(i: int) -> str:
    return f"k{i:07d}: 1\n"


def run_once(cmd: list[str], timeout: float) -> tuple[float | None, int | None, str]:
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, None, ""
    return time.perf_counter() - start, proc.returncode, proc.stdout.decode("utf-8", "replace")


def time_scsync(
    path: Path, runs: int, timeout: float
) -> tuple[list[float | None], int | None, str]:
    cmd = [sys.executable, "-m", "scsync", "validate", "--format", "json", str(path)]
    times: list[float | None] = []
    code: int | None = None
    out = ""
    for _ in range(runs):
        elapsed, code, out = run_once(cmd, timeout)
        times.append(elapsed)
        if elapsed is None:
            break  # one run past the timeout says enough
    return times, code, out


def shown(seconds: float | None, timeout: float) -> str:
    return f">{timeout:.0f}s" if seconds is None else f"{seconds:.3f}"


def median(times: list[float | None]) -> float | None:
    if not times or any(t is None for t in times):
        return None
    return statistics.median(t for t in times if t is not None)


def findings_of(out: str) -> str:
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        return "?"
    findings = data.get("findings", []) if isinstance(data, dict) else []
    rules = sorted({f.get("rule", "?") for f in findings})
    return f"{len(findings)} ({','.join(rules)[:24]})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of scsync per file")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per scsync run")
    parser.add_argument("--peer-timeout", type=float, default=30,
                        help="seconds before check-jsonschema is cut off")
    parser.add_argument("--no-peer", action="store_true", help="skip check-jsonschema")
    parser.add_argument("--only", action="append", default=[],
                        help="run only cases whose name contains this (repeatable)")
    args = parser.parse_args()

    peer = None if args.no_peer else shutil.which("check-jsonschema")
    work = Path(tempfile.mkdtemp(prefix="scsync-hostile-"))
    cases = {k: v for k, v in CASES.items() if not args.only or any(o in k for o in args.only)}
    rows = []
    try:
        print(f"python {sys.version.split()[0]}; scsync median of {args.runs} runs, "
              f"check-jsonschema 1 run; {GOAL}\n")
        header = (f"{'file':<32} {'bytes':>9} {'scsync s':>9} {'goal':>6} {'exit':>4} "
                  f"{'findings':<30} {'check-jsonschema s':>18}")
        print(header)
        print("-" * len(header))
        for i, (name, (make, expected)) in enumerate(cases.items()):
            raw = make()
            assert len(raw) <= CAP, (name, len(raw))
            path = work / f"case_{i:02d}.yaml"
            path.write_bytes(raw)
            times, code, out = time_scsync(path, args.runs, args.timeout)
            med = median(times)
            count = findings_of(out) if code is not None else "-"
            n = int(count.split()[0]) if count[:1].isdigit() else None
            ok = med is not None and med < GOAL_SECONDS and code == expected and (
                n is not None and n <= MAX_SHOWN)
            if peer:
                peer_time, _, _ = run_once([peer, "--schemafile", str(SCHEMA), str(path)],
                                           args.peer_timeout)
                peer_shown = shown(peer_time, args.peer_timeout)
            else:
                peer_shown = "skipped"
            rows.append((name, ok))
            print(f"{name:<32} {len(raw):>9,} {shown(med, args.timeout):>9} "
                  f"{'MET' if ok else 'MISSED':>6} {code if code is not None else '-':>4} "
                  f"{count:<30} {peer_shown:>18}", flush=True)
        missed = [name for name, ok in rows if not ok]
        print()
        print(f"{GOAL} -> "
              + ("MET" if not missed else f"MISSED by {len(missed)}: {', '.join(missed)}"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
