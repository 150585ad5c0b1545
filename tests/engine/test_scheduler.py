from __future__ import annotations

import threading

from sageforge.engine.instance_types import instance_resources
from sageforge.engine.scheduler import CpuScheduler
from tests.engine.support import eventually


def acquire_in_thread(scheduler: CpuScheduler, job: str, cpus: int, cancelled: threading.Event) -> list[bool]:
    result: list[bool] = []
    threading.Thread(target=lambda: result.append(scheduler.acquire(job, cpus, cancelled=cancelled))).start()
    return result


def test_request_caps_each_instance_at_the_machine() -> None:
    scheduler = CpuScheduler(cpus=4)
    assert scheduler.request([instance_resources("ml.m5.large")] * 3) == 6
    assert scheduler.request([instance_resources("ml.m5.4xlarge")] * 2) == 8


def test_a_job_bigger_than_the_machine_runs_when_nothing_else_does() -> None:
    scheduler = CpuScheduler(cpus=2)
    assert scheduler.acquire("big", 8, cancelled=threading.Event())
    waiting = acquire_in_thread(scheduler, "small", 1, threading.Event())
    eventually(lambda: scheduler.waiting() == ["small"])
    scheduler.release("big")
    eventually(lambda: waiting == [True])
    assert scheduler.held() == {"small": 1}


def test_jobs_that_fit_run_together_and_others_wait_in_order() -> None:
    scheduler = CpuScheduler(cpus=4)
    never = threading.Event()
    assert scheduler.acquire("a", 2, cancelled=never)
    assert scheduler.acquire("b", 2, cancelled=never)
    first = acquire_in_thread(scheduler, "c", 3, never)
    eventually(lambda: scheduler.waiting() == ["c"])
    second = acquire_in_thread(scheduler, "d", 1, never)
    eventually(lambda: scheduler.waiting() == ["c", "d"])
    scheduler.release("a")
    # "d" would fit in the 2 free CPUs but "c" is ahead of it.
    assert scheduler.waiting() == ["c", "d"]
    scheduler.release("b")
    eventually(lambda: first == [True] and second == [True])
    assert scheduler.held() == {"c": 3, "d": 1}


def test_a_cancelled_wait_returns_false() -> None:
    scheduler = CpuScheduler(cpus=1)
    assert scheduler.acquire("a", 1, cancelled=threading.Event())
    cancelled = threading.Event()
    result = acquire_in_thread(scheduler, "b", 1, cancelled)
    eventually(lambda: scheduler.waiting() == ["b"])
    cancelled.set()
    scheduler.wake()
    eventually(lambda: result == [False])
    assert scheduler.waiting() == []
