"""The batch's compact storage: templates keep their request as bytes, plans their
children as bytes, the table reader makes one request at a time, and the output chunks
are runs of positions - all without changing a plan or a table."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import zlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ordersplit.batch import model
from ordersplit.batch.inputs import templates_from_requests
from ordersplit.batch.scenario import scenario_requests, scenario_world
from ordersplit.batch.shards import MIN_RUN, _chunks
from ordersplit.batch.tables import request_dicts, tables_from_requests
from ordersplit.bench.scenario import ScenarioConfig
from ordersplit.models.validate import parse_request

CONFIG = ScenarioConfig.preset("default", n_orders=40, n_warehouses=5, n_skus=60, seed=4)


def test_a_templates_request_is_the_validated_request_whatever_the_cache() -> None:
    requests = list(scenario_requests(CONFIG))
    templates, errors, _ = templates_from_requests(scenario_world(CONFIG), requests)
    assert not errors
    for tpl, raw in zip(templates, requests, strict=True):
        assert tpl.request == parse_request(raw)
        assert (tpl.order_id, tpl.destination) == (raw["order"]["id"],
                                                   raw["order"]["destination"])
    old = model.REQUEST_CACHE
    try:
        model.REQUEST_CACHE = 3  # most requests are made again from their bytes
        model._requests.clear()
        for tpl, raw in zip(templates * 2, requests * 2, strict=True):
            assert tpl.request == parse_request(raw)
        assert len(model._requests) <= 3
    finally:
        model.REQUEST_CACHE = old


def test_a_work_limit_applies_to_the_request_and_travels_with_the_template() -> None:
    tpl = templates_from_requests(scenario_world(CONFIG), scenario_requests(CONFIG))[0][0]
    limited = pickle.loads(pickle.dumps(model.with_work_limit(tpl, 1234)))
    assert limited.request.options.work_limit == limited.order_work_limit == 1234
    assert tpl.request.options.work_limit is None and tpl.order_work_limit is None
    assert limited.request.order == tpl.request.order


def test_the_table_reader_makes_the_same_requests_one_at_a_time() -> None:
    requests = list(scenario_requests(CONFIG))
    warehouses = [{"id": "W1", "stock": {}, "delivery_hours": {"*": 24}}]
    made = request_dicts(tables_from_requests(requests, warehouses))
    assert not isinstance(made, list)  # a generator: the batch is never all dicts at once
    for raw, again in zip(requests, made, strict=True):
        assert parse_request(again) == parse_request(raw)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 3000), unique=True, max_size=400), st.integers(1, 700),
       st.booleans())
def test_output_chunks_cover_the_owned_orders_in_order(owned_list: list[int], size: int,
                                                       contiguous: bool) -> None:
    owned = np.array(sorted(owned_list), dtype=np.int64)
    chunks = _chunks(owned, size, contiguous)
    joined = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
    assert np.array_equal(joined, owned)
    assert all(0 < c.size <= size for c in chunks)
    runs = int((np.diff(owned) > 1).sum()) + 1 if owned.size else 0
    if contiguous and owned.size >= MIN_RUN * runs:
        assert all(int(c[-1] - c[0]) == c.size - 1 for c in chunks)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 6), st.integers(0, 8), st.data())
def test_a_plans_assignment_cells_restore_the_grid(rows: int, cols: int, data: st.DataObject
                                                   ) -> None:
    """A solved plan keeps its assignment as nonzero cells; the rebuilt grid is the
    solver's, values and shape (what the plan builder reads)."""
    values = data.draw(st.lists(st.integers(0, 300), min_size=rows * cols,
                                max_size=rows * cols))
    x = np.array(values, dtype=np.int64).reshape(rows, cols)
    cells = model.sparse_cells(x)
    assert cells.shape == (int((x != 0).sum()), 3)
    back = model.dense_cells(cells, rows, cols)
    assert back.dtype == np.int64
    assert np.array_equal(back, x)


def test_request_blobs_share_one_dictionary_in_every_process() -> None:
    """A template's blob is compressed against a preset dictionary that every process
    builds alike (a worker must read the driver's blobs), whatever its string hashes."""
    code = ("import hashlib; from ordersplit.batch.model import blob_dictionary; "
            "print(hashlib.sha256(blob_dictionary()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], env={**os.environ,
                              "PYTHONHASHSEED": str(seed)}, capture_output=True, text=True,
                              check=True).stdout for seed in (1, 2)}
    assert len(digests) == 1
    request = parse_request(next(iter(scenario_requests(CONFIG))))
    blob = model.pack_request(request)
    assert len(blob) < len(zlib.compress(pickle.dumps(request), 1))
    model._requests.clear()
    assert model.unpack_request(blob) == request


def test_a_lower_bound_plan_rebuilds_from_the_stock_without_its_view() -> None:
    """Lower-bound plans keep no copy of their view (the stock's, clipped): rebuilt, each
    gives the request, assignment and objective of the same split holding its view, and
    survives the trip between processes."""
    from ordersplit.batch.search import BatchState, lower_bound_plans
    from ordersplit.batch.wire import from_wire, to_wire

    world = scenario_world(CONFIG)
    templates, errors, _ = templates_from_requests(world, list(scenario_requests(CONFIG)))
    assert not errors
    state = BatchState(world, tuple(templates), 1.0)
    lower = from_wire(to_wire(lower_bound_plans(state, range(len(templates))), True))
    solved = 0
    for tpl, plan in zip(templates, lower, strict=True):
        whole = model.safe_solve(world, tpl, model.clipped_view(tpl, world.stock), 1.0,
                                 work=True)
        assert plan.key() == whole.key()
        if plan.failed or not plan.locs.size:
            continue
        assert plan.view.size == 0 and whole.view.size > 0
        solved += 1
        assert np.array_equal(model.solved_view(world, tpl, plan), whole.view)
        request, _, result = model.rebuild(world, tpl, plan)
        request2, _, result2 = model.rebuild(world, tpl, whole)
        assert request == request2
        assert np.array_equal(result.assignment, result2.assignment)
        assert result.objective == result2.objective
    assert solved > len(templates) // 2
