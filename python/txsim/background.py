"""The transposed read's matrices built on a second thread while torch computes.

After AnalogSGD's step, each analog core's devices have changed, and the first transposed read
(the layer's input gradient, in the next backward) would rebuild its effective matrices: the
circuit solves of the backward direction. In a PyTorch model the time between the step and that
read is mostly torch's own operators on one thread (the digital layers, pools, the loss), so a
second core sits idle: the build runs there. The numbers are those of the build at the first
read (it is the same build, in the same order; python/tests/test_background.py and
`ctest -R Threads.TransposedRead` check it), only sooner.

What may run beside a pending build: forward reads of the same core (they use the forward
direction's matrices only, built in the step) and its activity reports (a build adds none).
Everything else that touches a core waits for its build first (`wait`).
set_background_builds(False) builds at the first read instead; with one core there is nothing
to gain and builds are off.
"""
import concurrent.futures
import os

_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
_enabled = _cores > 1
_executor = None
_pending = {}  # id(core) -> (core, future)


def set_background_builds(on):
    """Whether AnalogSGD's step has the transposed read's matrices built on a background thread
    (default: where the process has more than one core). Changes the speed, not a number."""
    global _enabled
    wait_all()
    _enabled = bool(on)


def background_builds():
    return _enabled


def start(cores):
    """Builds the transposed read's matrices of these cores (just stepped), in this order, on the
    background thread; without background builds, nothing (the first read builds them)."""
    global _executor
    if not _enabled:
        return
    if _executor is None:
        _executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="txsim-build")
    for core in cores:
        wait(core)
        _pending[id(core)] = (core, _executor.submit(core.prepare_backward_reads))


def wait(core):
    """Returns once the core has no build pending (raising what the build raised)."""
    entry = _pending.pop(id(core), None)
    if entry is not None:
        entry[1].result()


def wait_all():
    for core, _ in list(_pending.values()):
        wait(core)
