"""How local workers start: forked from the driver at the start of the run only when
that is safe, else from the fork server - with the same plans either way, and no worker
left behind when the driver dies.

Each check runs in a new Python process: the test process itself has threads of earlier
tests (Dask clients, solver pools), which is exactly what keeps a driver from forking."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 600
"""A child that has not finished after this long is taken as hung (not a speed check)."""

PRELUDE = """
import json, sys, threading
from benchmarks.bench_bound_gap import scenario_input
from ordersplit.batch import reoptimize, runners
work = scenario_input("scn-scarce", 200, 3)
args = dict(time_limit_s=600, max_rounds=2, deterministic=True, parts=2,
            bound_time_limit_s=0)

def plans(res):
    return [repr((p.key(), p.backorder_units, p.error, p.use_loc.tolist(),
                  p.use_col.tolist(), p.use_units.tolist())) for p in res.solution.final]
"""


def _python(code: str, **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen([sys.executable, "-c", PRELUDE + code], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, text=True, **kw)


def _result(code: str) -> dict[str, Any]:
    proc = _python(code)
    out, _ = proc.communicate(timeout=HANG_GUARD_S)
    assert proc.returncode == 0, out
    return dict(json.loads(out.strip().splitlines()[-1]))


def test_workers_fork_early_only_when_single_threaded_with_the_same_plans() -> None:
    """A driver with no thread of its own forks its workers at the start of the run; one
    with another Python thread running, or with a solver's thread pool left (HiGHS),
    falls back to the fork server; one process, forked and fork-server workers give the
    same plans."""
    out = _result("""
out = {"safe": runners.fork_is_safe()}
early = reoptimize(work, workers=2, **args)
stop = threading.Event()
t = threading.Thread(target=stop.wait)
t.start()
out["safe_with_thread"] = runners.fork_is_safe()
late = reoptimize(work, workers=2, **args)
stop.set()
runners.join_thread(t, 60)  # join, and the OS thread gone too (it outlives join a moment)
out["safe_after_thread"] = runners.fork_is_safe()
one = reoptimize(work, workers=1, **args)
import highspy, numpy as np
h = highspy.Highs()
h.setOptionValue("output_flag", False)
h.setOptionValue("parallel", "on")
h.setOptionValue("threads", 2)
h.addVars(2, np.zeros(2), np.full(2, highspy.kHighsInf))
h.changeColsCost(2, np.array([0, 1], dtype=np.int32), np.ones(2))
h.addRows(1, np.array([2.0]), np.array([highspy.kHighsInf]), 2, np.array([0], dtype=np.int32),
          np.array([0, 1], dtype=np.int32), np.ones(2))
h.run()
out["safe_after_highs"] = runners.fork_is_safe()
after_highs = reoptimize(work, workers=2, **args)
out.update(early=early.summary["workers_start"], late=late.summary["workers_start"],
           after_highs=after_highs.summary["workers_start"],
           same=plans(one) == plans(early) == plans(late) == plans(after_highs))
print(json.dumps(out))
""")
    assert out["safe"] and out["early"] == "fork-early"
    assert not out["safe_with_thread"] and out["late"] == "forkserver"
    assert out["safe_after_thread"]
    assert not out["safe_after_highs"] and out["after_highs"] == "forkserver"
    assert out["same"]


def test_an_early_worker_that_dies_fails_the_run_instead_of_hanging_it() -> None:
    """An early worker that died while waiting is replaced at the next run; one killed
    while the run waits for it makes the run raise
    :class:`~ordersplit.batch.runners.WorkerError` (its siblings hold no copy of its
    pipe that would keep the driver waiting)."""
    out = _result("""
from ordersplit.batch.api import _state
from ordersplit.batch.engine import bound_and_sequential
from ordersplit.batch.runners import WorkerError, prestart_local_workers, _EARLY
from ordersplit.batch.shards import make_runner
assert prestart_local_workers(2) == "fork"
_EARLY[0][0].kill()
_EARLY[0][0].join()
replaced = reoptimize(work, workers=2, **args).summary["workers_start"]
assert prestart_local_workers(2) == "fork", (
    [t.name for t in threading.enumerate()], runners.fork_is_safe(), runners._rss_mb())
state = _state(work, 0.2, True, None)
runner = make_runner(state, 2)
start = runner.transport.start_method
proc = runner.transport.started()[0]
proc.kill()
proc.join()
try:
    bound_and_sequential(state, runner)
    raised = ""
except WorkerError as exc:
    raised = str(exc)
finally:
    runner.close()
print(json.dumps({"replaced": replaced, "start": start, "raised": raised}))
""")
    assert out["replaced"] == out["start"] == "fork-early"
    assert "ended" in out["raised"]


def test_early_workers_end_when_the_driver_is_killed() -> None:
    """Workers forked early, waiting for a run, exit when their driver is killed
    (SIGKILL: no clean-up runs): each closed the copies of the other workers' pipes it
    inherited, so each sees its own pipe end."""
    proc = _python("""
from ordersplit.batch.runners import prestart_local_workers, _EARLY
assert prestart_local_workers(3) == "fork"
print(json.dumps([p.pid for p, _ in _EARLY]), flush=True)
threading.Event().wait()
""")
    assert proc.stdout is not None
    pids = json.loads(proc.stdout.readline())
    assert len(pids) == 3 and all(psutil.pid_exists(p) for p in pids)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + HANG_GUARD_S
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p)
                 and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.2)
    assert not alive, "workers left behind"


@pytest.mark.parametrize("method", ["forkserver", "fork"])
def test_other_start_methods_never_fork_early(method: str) -> None:
    """``START_METHOD`` other than ``auto``: no worker is forked at the start, the
    transport starts them its own way."""
    out = _result(f"""
runners.START_METHOD = {method!r}
how = runners.prestart_local_workers(2)
res = reoptimize(work, workers=2, **args)
print(json.dumps({{"how": how, "early": len(runners._EARLY),
                   "start": res.summary["workers_start"]}}))
""")
    assert out == {"how": method, "early": 0, "start": method}
