"""`scsync controller --lock`: two controllers on one PostgreSQL, one leader, a takeover.

Every controller here is a real `scsync controller` process and the database is
the real PostgreSQL server (a fresh database per test, `pg_url`).  Both
controllers of a pair name the same executor URL (the lock's key is made of it);
each sends its requests through a `CountingProxy` of its own as its HTTP proxy
(`HTTP_PROXY`), so the writes of each are counted apart.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from tests.controller.conftest import (
    SRC,
    WEBHOOK_SECRET,
    Clone,
    Controller,
    ControllerFactory,
    CountingProxy,
    Executor,
    free_port,
    manifest,
    sign,
    wait_for,
)

N = 150


@pytest.fixture
def proxies(executor: Executor) -> Any:
    made: list[CountingProxy] = []

    def make() -> CountingProxy:
        made.append(CountingProxy(executor.url))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


def _through(proxy: CountingProxy, **extra: str) -> dict[str, str]:
    """The environment that sends one controller's requests through `proxy`."""
    return {"HTTP_PROXY": proxy.url, "http_proxy": proxy.url, "NO_PROXY": "",
            "no_proxy": "", **extra}


def _leader(controller: Controller) -> dict[str, Any]:
    view: dict[str, Any] = controller.status()["leader"]
    return view


def _name(controller: Controller) -> str:
    assert controller.process is not None
    return f"{socket.gethostname()}:{controller.process.pid}"


def _readyz(controller: Controller) -> requests.Response:
    with requests.get(f"{controller.url}/readyz", timeout=5) as response:
        return response


def _metric(controller: Controller, name: str) -> str:
    with requests.get(f"{controller.url}/metrics", timeout=5) as response:
        return next(line for line in response.text.splitlines() if line.startswith(name + " "))


def _leads(controller: Controller) -> bool:
    return bool(_leader(controller)["is_me"])


def _stands_by_for(standby: Controller, leader: Controller) -> bool:
    view = _leader(standby)
    return not view["is_me"] and view["holder"] == _name(leader)


def _count(executor: Executor) -> Counter[str]:
    with executor.client() as client:
        return Counter(c["api_name"] for c in client.list_connectors(page_size=1000))


def _pair(start_controller: ControllerFactory, proxies: Any, bare: Path, pg_url: str,
          tmp_path: Path, create_delay: float,
          ) -> tuple[tuple[Controller, CountingProxy], tuple[Controller, CountingProxy]]:
    """A leader whose creates take `create_delay` seconds each, then a standby; each with
    its proxy."""
    via_a, via_b = proxies(), proxies()
    via_a.create_delay = create_delay
    lock = ("--interval", "300", "--lock", pg_url)
    url = via_a.target
    a = start_controller(bare, url, *lock, data_dir=tmp_path / "a", env=_through(via_a))
    wait_for(lambda: _leads(a), message=f"a leading\n{a.log()}")
    b = start_controller(bare, url, *lock, data_dir=tmp_path / "b", env=_through(via_b))
    wait_for(lambda: _stands_by_for(b, a), message=f"b standing by\n{b.log()}")
    return (a, via_a), (b, via_b)


def _many(clone: Clone, n: int) -> str:
    return clone.commit("many", {f"connectors/k{i:04d}.yaml": manifest(f"k{i:04d}")
                                 for i in range(n)})


def test_one_leads_the_other_stands_by_then_takes_over_knowing_the_state(
        remote: tuple[Path, Clone], executor: Executor, start_controller: ControllerFactory,
        proxies: Any, pg_url: str, tmp_path: Path) -> None:
    bare, clone = remote
    first = clone.commit("one", {"connectors/orders.yaml": manifest("orders", name="Orders")})
    via_a, via_b = proxies(), proxies()
    env = {"SCSYNC_GIT_WEBHOOK_SECRET": WEBHOOK_SECRET}
    a = start_controller(bare, executor.url, "--interval", "300", "--lock", pg_url,
                         data_dir=tmp_path / "a", env=_through(via_a, **env))
    status = a.wait_applied(first)
    created = {c["api_name"]: c["connector_id"] for c in status["connectors"]}
    assert [m for m, _ in via_a.writes()] == ["POST"]
    via_a.reset()
    b = start_controller(bare, executor.url, "--interval", "300", data_dir=tmp_path / "b",
                         env=_through(via_b, SCSYNC_LOCK_URL=pg_url, **env))
    wait_for(lambda: _stands_by_for(b, a), message=f"b standing by for a\n{b.log()}")

    answer = _readyz(b)
    assert answer.status_code == 503 and "standby" in answer.text
    assert _readyz(a).status_code == 200
    assert _leader(a) | {"since": None} == {
        "is_me": True, "holder": _name(a), "url": a.url, "since": None, "me": _name(a),
        "error": None}
    view = _leader(b)
    assert view["url"] == a.url and view["me"] == _name(b) and view["since"] > 0
    assert view["since"] == _leader(a)["since"]
    assert _metric(a, "scsync_controller_leader") == "scsync_controller_leader 1.0"
    assert _metric(b, "scsync_controller_leader") == "scsync_controller_leader 0.0"
    # Both show what the leader applied; neither keeps a controller.db of its own.
    assert b.status()["last_applied_commit"] == first
    assert not (tmp_path / "a" / "controller.db").exists()
    assert not (tmp_path / "b" / "controller.db").exists()

    # A push that reaches the standby wakes no pass there: it writes nothing.
    second = clone.commit("rename", {"connectors/orders.yaml": manifest(
        "orders_v2", name="Orders V2")})
    body = json.dumps({"ref": "refs/heads/main", "after": second}).encode()
    answer = b.hook(body, sign(body))
    assert answer.status_code == 202 and "standby" in answer.text
    time.sleep(2)  # two of the standby's tries of the lock
    assert via_b.calls == [] and via_a.writes() == []

    # The leader stops; the standby takes over and reads what the leader recorded: the
    # path's connector and its api_name.  So the new api_name is a change of that
    # connector, not a second one (name and api_name both changed: nothing else
    # would pair them).
    a.stop()
    wait_for(lambda: _leads(b), message=f"b leading\n{b.log()}")
    status = b.wait_applied(second)
    assert _count(executor) == {"orders_v2": 1}
    assert status["connectors"][0]["connector_id"] == created["orders"]
    assert [m for m, _ in via_b.writes()] == ["PATCH"]
    assert _readyz(b).status_code == 200
    assert _metric(b, "scsync_controller_leader") == "scsync_controller_leader 1.0"


def test_three_started_at_once_on_an_empty_database_elect_exactly_one(
        remote: tuple[Path, Clone], executor: Executor, start_controller: ControllerFactory,
        pg_url: str, tmp_path: Path) -> None:
    bare, clone = remote
    sha = clone.commit("one", {"connectors/a.yaml": manifest("a_conn")})
    ports = [free_port() for _ in range(3)]
    # Started together: their first connections create the tables at the same moment.
    with ThreadPoolExecutor(3) as pool:
        started = list(pool.map(lambda i: start_controller(
            bare, executor.url, "--interval", "300", "--lock", pg_url,
            data_dir=tmp_path / f"c{i}", port=ports[i]), range(3)))
    leader = wait_for(lambda: next((c for c in started if _leads(c)), None),
                      message="a leader")
    leader.wait_applied(sha)
    for other in (c for c in started if c is not leader):
        wait_for(lambda other=other: _stands_by_for(other, leader),  # type: ignore[misc]
                 message=f"standing by\n{other.log()}")
    assert [_leads(c) for c in started].count(True) == 1
    assert _count(executor) == {"a_conn": 1}


def test_sigkill_of_the_leader_mid_apply_the_standby_takes_over_and_converges(
        remote: tuple[Path, Clone], executor: Executor, start_controller: ControllerFactory,
        proxies: Any, pg_url: str, tmp_path: Path, scsync: Any) -> None:
    bare, clone = remote
    sha = _many(clone, N)
    # 150 creates take the leader over 7 s: time to kill it
    (a, via_a), (b, via_b) = _pair(start_controller, proxies, bare, pg_url, tmp_path, 0.05)
    wait_for(lambda: sum(_count(executor).values()) >= 20, timeout=60, interval=0.02,
             message="the apply under way")

    a.kill()
    at_kill = sum(_count(executor).values())
    assert 20 <= at_kill < N, "the kill should land mid-apply"
    assert via_b.calls == [], "the standby sent nothing while the leader applied"
    assert len([w for w in via_a.writes() if w[0] == "POST"]) >= at_kill  # all the leader's

    # How soon is bench/bench_failover.py's figure.
    wait_for(lambda: _leads(b), timeout=30, interval=0.02, message=f"b leading\n{b.log()}")

    status = b.wait_applied(sha, timeout=120)
    names = _count(executor)
    assert len(names) == N and set(names.values()) == {1}, "exactly 150, none twice"
    assert {row["sync"] for row in status["connectors"]} == {"Synced"}
    # The new leader created only what the old one had not: the records it read from
    # PostgreSQL and its lookups by api_name found the rest.
    assert len([w for w in via_b.writes() if w[0] == "POST"]) <= N - at_kill
    code, out, err = scsync("plan", "--repo", clone.path, "--executor", executor.url,
                            "--detailed-exitcode")
    assert code == 0, out + err  # --detailed-exitcode: 0 in sync, 2 changes
    assert f"Plan: {N} in sync." in out and f"= {N} connector(s) in sync" in out


def _end_lock_session(pg_url: str) -> int:
    """What an administrator (or a failed-over database) does: end the session holding
    the controllers' advisory lock."""
    with psycopg.connect(pg_url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())").fetchall()
    return len(rows)


def test_a_leader_that_loses_the_lock_mid_apply_stops_writing_at_once(
        remote: tuple[Path, Clone], executor: Executor, start_controller: ControllerFactory,
        proxies: Any, pg_url: str, tmp_path: Path) -> None:
    bare, clone = remote
    n = 60
    sha = _many(clone, n)
    (a, via_a), (b, via_b) = _pair(start_controller, proxies, bare, pg_url, tmp_path, 0.1)
    wait_for(lambda: len(via_a.writes()) >= 10, timeout=60, interval=0.02,
             message="a's apply under way")

    assert _end_lock_session(pg_url) == 1
    written_by_a = len(via_a.writes())
    assert written_by_a < n
    # b takes the lock; a, still running, finds its lock gone before its next write.
    wait_for(lambda: _leads(b), message=f"b leading\n{b.log()}")
    wait_for(lambda: _stands_by_for(a, b), message=f"a standing by for b\n{a.log()}")
    assert _readyz(a).status_code == 503 and "standby" in _readyz(a).text
    assert "lost the lock" in a.log()

    b.wait_applied(sha, timeout=60)
    names = _count(executor)
    assert len(names) == n and set(names.values()) == {1}
    # At most the one request a had already decided to send when its session ended.
    assert len(via_a.writes()) <= written_by_a + 1
    assert len(via_b.writes()) >= n - len(via_a.writes())


# -- bad input -------------------------------------------------------------------


def _one_line_error(result: tuple[int, str, str]) -> str:
    code, _, err = result
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_a_lock_url_that_cannot_work_stops_the_start_with_one_line(
        scsync: Any, remote: tuple[Path, Clone], tmp_path: Path) -> None:
    bare, _ = remote
    base = ("controller", "--repo", bare, "--listen", "127.0.0.1:0", "--data-dir",
            tmp_path / "data")

    err = _one_line_error(scsync(*base, "--lock", "http://x"))
    assert "http:// is not PostgreSQL" in err and "postgresql://" in err
    err = _one_line_error(scsync(*base, env={"SCSYNC_LOCK_URL": "mysql://u:pw@h/x"}))
    assert "SCSYNC_LOCK_URL: mysql:// is not PostgreSQL" in err and "u:pw" not in err

    err = _one_line_error(scsync(*base, "--lock", "postgresql://127.0.0.1:1/nope"))
    assert "cannot connect to PostgreSQL at 127.0.0.1:1/nope" in err
    assert "Connection refused" in err
    assert not (tmp_path / "data").exists(), "nothing started before the database answered"

    err = _one_line_error(scsync(*base, env={
        "SCSYNC_LOCK_URL": "postgresql://scsync:pw-s3cret@127.0.0.1:1/nope"}))
    assert "cannot connect" in err and "s3cret" not in err
    # libpq's own message would quote the password it cannot parse:
    err = _one_line_error(scsync(*base, "--lock",
                                  "postgresql://scsync:pw s3cret@127.0.0.1/x"))
    assert "not a valid PostgreSQL URL" in err and "s3cret" not in err


def test_the_password_of_the_url_is_never_shown(
        remote: tuple[Path, Clone], executor: Executor, start_controller: ControllerFactory,
        pg_url: str, tmp_path: Path) -> None:
    bare, clone = remote
    sha = clone.commit("one", {"connectors/a.yaml": manifest("a_conn")})
    secret = "pw-9b1e7c-s3cret"
    # The test server trusts loopback, so a password in the URL connects all the same.
    with_password = pg_url.replace("postgresql://postgres@",
                                   f"postgresql://postgres:{secret}@")
    assert with_password != pg_url
    controller = start_controller(bare, executor.url, "--interval", "300",
                                  env={"SCSYNC_LOCK_URL": with_password})
    status = controller.wait_applied(sha)
    assert status["leader"]["is_me"]
    shown = [controller.log(), json.dumps(status)]
    for path in ("/metrics", "/readyz", "/"):
        with requests.get(controller.url + path, timeout=5) as response:
            shown.append(response.text)
    assert "postgresql://***@" in controller.log()
    assert not [text for text in shown if secret in text]


def _without_psycopg(tmp_path: Path) -> dict[str, str]:
    """An environment where `import psycopg` fails, as where the extra is not installed."""
    stub = tmp_path / "no-psycopg"
    stub.mkdir()
    (stub / "psycopg.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'psycopg'\", name='psycopg')\n")
    return {"PYTHONPATH": os.pathsep.join((str(stub), str(SRC)))}


def test_without_the_driver_lock_names_the_extra_and_a_lone_controller_runs(
        scsync: Any, remote: tuple[Path, Clone], executor: Executor,
        start_controller: ControllerFactory, pg_url: str, tmp_path: Path) -> None:
    bare, clone = remote
    env = _without_psycopg(tmp_path)
    err = _one_line_error(scsync("controller", "--repo", bare, "--listen", "127.0.0.1:0",
                                 "--data-dir", tmp_path / "data", "--lock", pg_url, env=env))
    assert "pip install 'scsync[postgres]'" in err

    sha = clone.commit("one", {"connectors/a.yaml": manifest("a_conn")})
    controller = start_controller(bare, executor.url, "--interval", "300", env=env)
    status = controller.wait_applied(sha)  # as before --lock existed: never imports it
    assert "leader" not in status
    assert (tmp_path / "controller-data" / "controller.db").exists()
    assert _metric(controller, "scsync_controller_leader") == "scsync_controller_leader 1.0"


def _has(mirror: Path, sha: str) -> bool:
    found = subprocess.run(["git", "-C", str(mirror), "cat-file", "-e", f"{sha}^{{commit}}"],
                           capture_output=True)
    return mirror.is_dir() and found.returncode == 0


def test_a_standby_keeps_its_mirror_fresh_and_writes_nothing(
        remote: tuple[Path, Clone], executor: Executor, start_controller: ControllerFactory,
        proxies: Any, pg_url: str, tmp_path: Path) -> None:
    """A standby fetches the branch every --interval, as the leader does, so that after a
    takeover its first pass fetches only what came since; it applies nothing."""
    bare, clone = remote
    first = clone.commit("one", {"connectors/orders.yaml": manifest("orders")})
    via_a, via_b = proxies(), proxies()
    lock = ("--interval", "1", "--lock", pg_url)
    a = start_controller(bare, executor.url, *lock, data_dir=tmp_path / "a",
                         env=_through(via_a))
    a.wait_applied(first)
    b = start_controller(bare, executor.url, *lock, data_dir=tmp_path / "b",
                         env=_through(via_b))
    wait_for(lambda: _stands_by_for(b, a), message=f"b standing by\n{b.log()}")
    mirror = tmp_path / "b" / "mirror.git"
    wait_for(lambda: _has(mirror, first), message=f"the first commit in b's mirror\n{b.log()}")

    second = clone.commit("two", {"connectors/billing.yaml": manifest("billing")})
    wait_for(lambda: _has(mirror, second), message=f"a pushed commit in b's mirror\n{b.log()}")
    a.wait_applied(second)
    assert via_b.calls == [], "the standby only fetched: it sent the executor nothing"
    assert _count(executor) == {"orders": 1, "billing": 1}
