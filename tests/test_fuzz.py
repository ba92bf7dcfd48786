"""The loader's fuzz target (fuzz/fuzz_loader.py), run for a bounded number of inputs.

libFuzzer mutates the seed corpus (tests/examples/) guided by coverage of the
scsync code; the target fails on any exception that escapes the per-file checks
and on any finding placed outside its file.  A fixed seed and input count keep
the run the same each time (about half a minute here); fuzz/README.md says how
to run it for hours.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="atheris has wheels for x86-64 Linux only")

ROOT = Path(__file__).resolve().parent.parent
RUNS = 150_000


@pytest.mark.slow
def test_the_fuzzer_finds_nothing(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seed in sorted((ROOT / "tests" / "examples").rglob("*.y*ml")):
        shutil.copy(seed, corpus / f"{seed.parent.name}_{seed.name}")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / "fuzz_loader.py"), f"-runs={RUNS}", "-seed=1",
         f"-artifact_prefix={tmp_path}/", "-print_final_stats=1", str(corpus)],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )
    log = proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert not list(tmp_path.glob("crash-*")), log[-4000:]
    assert f"stat::number_of_executed_units: {RUNS}" in log  # it really ran them all
