"""One parallel map for the stages that fan out (curate's shards, evaluate's sequences): Ray, or serial in
this process for debugging. Results come back in completion order to `on_result`, so the caller can record
each as it finishes (what a killed run finished is kept)."""
from __future__ import annotations

import typing

BACKENDS = ("ray", "serial")


class TaskFailed(Exception):
    """A task raised something the caller did not name as expected; the message is Ray's."""


class _Progress:
    """Units of work done, reported by the tasks and polled by the driver."""

    def __init__(self):
        self.done = 0

    def add(self, n: int) -> None:
        self.done += n

    def take(self) -> int:
        done, self.done = self.done, 0
        return done


def _remote_task(task, job, progress):
    return task(job, lambda n: progress.add.remote(n))


def parallel_map(task: typing.Callable, jobs: list, on_result: typing.Callable, *, backend: str, workers: int,
                 ray_address: str = "", progress: typing.Callable[[int], None] = lambda n: None,
                 expected: tuple[type, ...] = ()) -> None:
    """task(job, report) for every job; `report(n)` adds n to `progress` as the task goes. A task's error of
    an `expected` type is raised as it is; any other as TaskFailed (on Ray) or as it is (serial).
    `ray_address` joins a running cluster (this project's code is shipped; data paths must be the same on
    every node); empty starts a local Ray of `workers` CPUs."""
    if backend == "serial":
        for job in jobs:
            on_result(task(job, progress))
        return
    import ray
    if ray_address:
        import models
        import pipeline
        ray.init(address=ray_address, runtime_env={"py_modules": [pipeline, models]})
    else:
        ray.init(num_cpus=workers, include_dashboard=False, object_store_memory=100 << 20)
    try:
        counter = ray.remote(num_cpus=0)(_Progress).remote()
        remote = ray.remote(num_cpus=1, max_retries=0)(_remote_task)
        pending = {remote.remote(task, job, counter) for job in jobs}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            progress(ray.get(counter.take.remote()))
            for ref in ready:
                pending.discard(ref)
                try:
                    on_result(ray.get(ref))
                except ray.exceptions.RayTaskError as err:
                    if isinstance(err.cause, expected):
                        raise err.cause from None
                    raise TaskFailed(str(err)) from None
    finally:
        ray.shutdown()
