"""Scheduled runs: real executor processes on loopback firing 1- and 2-second cadences.

Every assertion is about slots, which are whole epoch seconds, and about what
the API and the executions table say of them; none times the executor.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from scsync.client import ExecutorClient
from scsync.executor.records import ConnectorSettings
from scsync.executor.store import Store
from scsync.executor.store_schedule import ScheduleStore

from .conftest import ExecutorFactory, WebhookReceiver, sh_job, wait_execution, wait_for


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _scheduled(c: ExecutorClient, ref: str) -> list[dict[str, Any]]:
    """The connector's scheduled executions, oldest slot first."""
    rows = [e for e in c.list_executions(ref, page_size=100) if e["trigger_type"] == "schedule"]
    return sorted(rows, key=lambda e: _epoch(e["scheduled_for"]))


def _schedule_connector(c: ExecutorClient, api_name: str, cadence: int = 1,
                        **fields: Any) -> dict[str, Any]:
    body = {"api_name": api_name, "name": api_name, "status": "operational",
            "connector_type": "schedule", "cadence": cadence, "job": sh_job("true"),
            **fields}
    return c.create_connector(body)


def _wait_fired(c: ExecutorClient, ref: str, count: int, timeout: float = 20) -> list[
        dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        rows = _scheduled(c, ref)
        return rows if len(rows) >= count else None

    result: list[dict[str, Any]] = wait_for(enough, timeout, message=f"{count} slots of {ref}")
    return result


def test_slots_fire_once_each_at_the_boundaries_of_the_cadence(
        start_executor: ExecutorFactory) -> None:
    server = start_executor()
    with server.client() as c:
        created = _schedule_connector(c, "every_second")
        assert created["next_run_at"] is not None
        first_due = _epoch(created["next_run_at"])
        assert first_due == int(first_due) and first_due > _epoch(created["created"]), \
            "a new schedule waits for the next boundary rather than firing at once"
        fired = _wait_fired(c, "every_second", 3)
        slots = [_epoch(e["scheduled_for"]) for e in fired]
        assert slots[0] == first_due
        assert slots == sorted(set(slots)) and all(s == int(s) for s in slots), "none twice"
        for execution in fired:
            assert execution["trigger_type"] == "schedule"
            assert execution["started_by"] == execution["initiated_by"] == "scheduler"
            slot = _epoch(execution["scheduled_for"])
            assert slot <= _epoch(execution["created"]) < slot + 1, "queued within its slot"
        ended = wait_execution(c, "every_second", fired[0]["id"])
        assert ended["status"] == "success"
        assert _epoch(ended["started_at"]) >= _epoch(ended["scheduled_for"])
        view = c.get_connector("every_second")
        schedule = view["schedule"]
        last = _epoch(schedule["last_slot"])
        assert last >= slots[-1]
        assert len(_scheduled(c, "every_second")) + schedule["skipped"] + schedule["missed"] \
            == last - slots[0] + 1, "every second since the first has its slot"
        assert _epoch(view["next_run_at"]) == last + 1
        assert view["stats"]["used_count"] >= len(fired), "scheduled runs count as uses"

        manual = c.start_flow("every_second")
        assert c.get_execution("every_second", manual)["trigger_type"] == "manual"
        assert c.get_execution("every_second", manual)["scheduled_for"] is None
    listing = subprocess.run(
        [sys.executable, "-m", "scsync", "executions", "every_second", "--executor", server.url],
        env=server.env, capture_output=True, text=True, check=False)
    assert listing.returncode == 0, listing.stderr
    rows = {line.split()[0]: line for line in listing.stdout.splitlines()[1:]}
    assert rows[manual].split()[2] == "manual"
    first = rows[fired[0]["id"]]
    assert first.split()[2] == "schedule" and f"(slot {fired[0]['scheduled_for']})" in first


@pytest.mark.parametrize(("hold", "release", "reason"), [
    ({"status": "inactive"}, {"status": "operational"}, "waiting: connector is inactive"),
    ({"max_concurrent_executions": 0}, {"max_concurrent_executions": 1},
     "waiting: max_concurrent_executions is 0"),
], ids=["inactive", "limit-0"])
def test_a_held_schedule_queues_one_execution_counts_the_rest_and_runs_it_on_release(
        start_executor: ExecutorFactory, hold: dict[str, Any], release: dict[str, Any],
        reason: str) -> None:
    server = start_executor()
    with server.client() as c:
        _schedule_connector(c, "held", **hold)
        wait_for(lambda: c.get_connector("held")["schedule"]["skipped"] >= 2, 20,
                 message="two slots coalesced behind the queued one")
        queued = _scheduled(c, "held")
        assert [e["status"] for e in queued] == ["queued"], "one waits; no backlog"
        assert queued[0]["reason"] == reason
        held = c.get_connector("held")
        assert held["schedule"]["missed"] == 0
        assert _epoch(held["schedule"]["last_slot"]) > _epoch(queued[0]["scheduled_for"])

        c.patch_connector("held", release)
        assert wait_execution(c, "held", queued[0]["id"])["status"] == "success"
        skipped = c.get_connector("held")["schedule"]["skipped"]
        after = _wait_fired(c, "held", 3)
        assert len({e["scheduled_for"] for e in after}) == len(after)
        assert all(e["status"] != "queued" or e is after[-1] for e in after), \
            "after the release the cadence goes on, each slot run in turn"
        assert c.get_connector("held")["schedule"]["skipped"] == skipped


def test_a_restart_fires_no_slot_twice_and_reports_every_slot_it_did_not_fire(
        start_executor: ExecutorFactory) -> None:
    server = start_executor()
    with server.client() as c:
        _schedule_connector(c, "restarted", job=sh_job("sleep 0.3"))
        _wait_fired(c, "restarted", 2)
    server.kill()
    time.sleep(3.2)  # at least three slots pass while no executor runs
    server.start()
    with server.client() as c:
        before_restart = time.time()
        fired = _wait_fired(c, "restarted", 4)
        wait_for(lambda: _epoch(_scheduled(c, "restarted")[-1]["scheduled_for"])
                 > before_restart + 1, 20, message="slots after the restart")
        fired = _scheduled(c, "restarted")
        view = c.get_connector("restarted")
    slots = [int(_epoch(e["scheduled_for"])) for e in fired]
    assert len(slots) == len(set(slots)), "no slot fired twice"
    schedule = view["schedule"]
    last = int(_epoch(schedule["last_slot"]))
    assert schedule["missed"] >= 2, "the slots that passed while down are reported"
    assert len(slots) + schedule["skipped"] + schedule["missed"] == last - slots[0] + 1, \
        "every slot since the first is fired, skipped or counted missed"
    assert "counted as missed" in server.log()
    interrupted = [e for e in fired if e["reason"] == "interrupted"]
    assert all(e["status"] == "error" for e in interrupted)


def test_a_cadence_change_takes_effect_from_the_next_slot_and_null_stops_it(
        start_executor: ExecutorFactory) -> None:
    server = start_executor()
    with server.client() as c:
        _schedule_connector(c, "changing")
        _wait_fired(c, "changing", 1)
        before = time.time()
        c.patch_connector("changing", {"cadence": 2})
        count = len(_scheduled(c, "changing"))
        after = _wait_fired(c, "changing", count + 2)[count:]
        for execution in after:
            slot = _epoch(execution["scheduled_for"])
            assert slot % 2 == 0 and slot > before, "no slot of the old cadence after"
        assert _epoch(c.get_connector("changing")["next_run_at"]) % 2 == 0

        stopped = c.patch_connector("changing", {"cadence": None})
        stopped_at = time.time()
        assert stopped["next_run_at"] is None
        time.sleep(2.5)  # two slots of the old cadence would have come
        assert all(_epoch(e["created"]) <= stopped_at for e in _scheduled(c, "changing"))


def test_a_scheduled_executions_webhook_says_it_was_scheduled(
        start_executor: ExecutorFactory, webhook_receiver: WebhookReceiver) -> None:
    server = start_executor("--allow-webhook-host", "127.0.0.1")
    with server.client() as c:
        _schedule_connector(c, "hooked", execution_ended_webhook_url=webhook_receiver.url)
        fired = _wait_fired(c, "hooked", 1)[0]
        wait_for(webhook_receiver.received, 20, message="the execution-ended webhook")
    body = webhook_receiver.received()[0].json()
    assert body["execution_id"] == fired["id"]
    assert body["trigger_type"] == "schedule"
    assert body["initiated_by"] == "scheduler"
    assert body["scheduled_for"] == fired["scheduled_for"]


def test_metrics_count_fired_slots_and_their_lateness(start_executor: ExecutorFactory) -> None:
    server = start_executor()
    with server.client() as c:
        _schedule_connector(c, "measured")
        _wait_fired(c, "measured", 2)
        text = server.http().get(f"{server.url}/metrics", timeout=10).text
    fired = next(line for line in text.splitlines()
                 if line.startswith('scsync_schedule_slots_total{outcome="fired"}'))
    assert float(fired.split()[-1]) >= 2
    count = next(line for line in text.splitlines()
                 if line.startswith("scsync_schedule_fire_lateness_seconds_count"))
    assert float(count.split()[-1]) >= 2


# -- the store's decision, in process, on a real SQLite file, with the clock given ------

START = 1_800_000_000.0


def _scheduled_settings(api_name: str, cadence: int) -> ConnectorSettings:
    """A create of an operational schedule connector with no job, limit 1."""
    return {"api_name": api_name, "name": api_name, "description": "",
            "status": "operational", "max_concurrent_executions": 1, "create_only": False,
            "additional_notification_email": None, "additional_error_notification_email": None,
            "execution_ended_webhook_url": None, "job": None, "connector_type": "schedule",
            "cadence": cadence, "custom_object": None, "activity_object": None,
            "sql_version": None}


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[tuple[Store, ScheduleStore, str]]:
    """A schedule of 10 s whose cursor sits at START, as if created then."""
    store = Store(tmp_path / "executor.db")
    connector = store.create_connector(_scheduled_settings("clocked", 10))
    with store.transaction() as db:
        db.execute("UPDATE connectors SET schedule_cursor = ? WHERE id = ?",
                   (int(START), connector.id))
    schedules = store.schedule_store()
    yield store, schedules, connector.id
    schedules.close()
    store.close()


def _fired(store: Store, cid: str) -> int:
    return store.list_executions(cid, status=None, offset=0, limit=10)[0]


def test_a_backwards_clock_step_never_refires_a_slot(
        clocked: tuple[Store, ScheduleStore, str]) -> None:
    store, schedules, cid = clocked
    first = schedules.fire_slots([cid], START + 10.2)[0]
    assert first.slot == START + 10 and first.execution_id is not None
    for stepped_back in (START + 10.9, START + 3, START - 3600, START + 19.99):
        again = schedules.fire_slots([cid], stepped_back)[0]
        assert again.execution_id is None and not again.skipped and not again.missed
        assert again.next_due == START + 20
    assert _fired(store, cid) == 1


def test_a_forward_jump_fires_the_latest_slot_and_counts_the_others_missed(
        clocked: tuple[Store, ScheduleStore, str]) -> None:
    store, schedules, cid = clocked
    jumped = schedules.fire_slots([cid], START + 45)[0]
    assert (jumped.slot, jumped.missed) == (START + 40, 3)
    connector = store.get_connector(cid)
    assert connector is not None
    assert (connector.schedule.missed, connector.schedule.last_slot) == (3, START + 40)


def test_a_slot_is_skipped_while_a_scheduled_execution_is_still_queued(
        clocked: tuple[Store, ScheduleStore, str]) -> None:
    store, schedules, cid = clocked
    assert schedules.fire_slots([cid], START + 10)[0].execution_id is not None
    second = schedules.fire_slots([cid], START + 20)[0]
    assert second.skipped and second.execution_id is None
    assert _fired(store, cid) == 1
    connector = store.get_connector(cid)
    assert connector is not None and connector.schedule.skipped == 1


def test_a_cadence_change_moves_the_cursor_so_no_old_slot_fires(
        clocked: tuple[Store, ScheduleStore, str]) -> None:
    store, schedules, cid = clocked
    store.update_connector(cid, {"cadence": 7})
    connector = store.get_connector(cid)
    assert connector is not None and connector.schedule.cursor is not None
    cursor = connector.schedule.cursor
    assert cursor % 7 == 0 and cursor <= time.time() < cursor + 7
    # The old cadence's next slot (START + 10) is long past, yet nothing fires for it.
    assert schedules.fire_slots([cid], cursor + 6.9)[0].execution_id is None
    fired = schedules.fire_slots([cid], cursor + 7)[0]
    assert (fired.slot, fired.missed) == (cursor + 7, 0) and fired.execution_id is not None
    store.update_connector(cid, {"cadence": None})
    assert schedules.fire_slots([cid], cursor + 70)[0].next_due is None


def test_a_burst_starts_the_connector_whose_next_slot_comes_soonest_first(
        tmp_path: Path) -> None:
    store = Store(tmp_path / "executor.db")
    schedules = store.schedule_store()
    try:
        ids = {}
        for name, every in (("ten_seconds", 10), ("every_second", 1)):
            ids[name] = store.create_connector(_scheduled_settings(name, every)).id
        with store.transaction() as db:
            db.execute("UPDATE connectors SET schedule_cursor = ?", (int(START) - 10,))
        # The ten-second one is queued first, so it is the older of the two.
        fired = [*schedules.fire_slots([ids["ten_seconds"]], START),
                 *schedules.fire_slots([ids["every_second"]], START)]
        assert all(o.execution_id for o in fired)
        order = [store.admit(lambda execution: None, budget=1)[0].connector_id
                 for _ in ids]
        assert order == [ids["every_second"], ids["ten_seconds"]], \
            "the one-second connector would skip its next slot if it waited"
    finally:
        schedules.close()
        store.close()
