"""Generate the bundled example batch (run once; the CSVs are committed).

    python examples/batch/make_example.py

200 pending orders from the benchmark scenario generator (preset ``default``, a small
network: 10 warehouses, 2 drop-ship suppliers, 1 store, 300 SKUs, seed 11), and their
current assignment made the real-time way: one order at a time in arrival order, each
split greedily against the stock the earlier ones left.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ordersplit.batch.inputs import batch_from_requests
from ordersplit.batch.ledger import Ledger
from ordersplit.batch.model import rebuild, solve_order
from ordersplit.batch.tables import tables_from_requests, write_tables
from ordersplit.bench.network import location_dicts
from ordersplit.bench.scenario import ScenarioConfig, generate_orders, scenario_network
from ordersplit.plan.build import build_plan

HERE = Path(__file__).resolve().parent
CONFIG = ScenarioConfig.preset("default", n_orders=200, n_warehouses=10, n_suppliers=2,
                               n_stores=1, n_skus=300, seed=11)


def main() -> None:
    net = scenario_network(CONFIG)
    warehouses = location_dicts(net.locations, net.sku_ids, net.stock)
    requests = generate_orders(CONFIG, net)
    for req in requests:
        req["warehouses"] = []
    tables = tables_from_requests(requests, warehouses)
    batch = batch_from_requests(requests, warehouses)
    ledger = Ledger.full(batch.world.stock)
    rows = []
    for tpl in batch.templates:  # real-time greedy splitting, the "current" assignment
        options = tpl.request.options.model_copy(update={"solver": "greedy"})
        greedy = type(tpl)(tpl.position, tpl.request.model_copy(update={"options": options}),
                           tpl.cols, tpl.demand, tpl.needs_store, tpl.skus,
                           tpl.group_bound)
        oplan = solve_order(batch.world, greedy, ledger.view(greedy), 1.0)
        ledger.take(oplan)
        request, compiled, result = rebuild(batch.world, greedy, oplan)
        plan = build_plan(request, compiled, result, 0.0)
        for child in plan.children:
            if child.kind == "store":
                continue
            for line in child.lines:
                if line.component_of is None:
                    rows.append({"order_id": tpl.order_id, "line_id": line.line_id,
                                 "warehouse_id": child.warehouse or "",
                                 "quantity": line.quantity})
    tables["assignment"] = pd.DataFrame.from_records(rows)
    write_tables(tables, HERE)


if __name__ == "__main__":
    main()
