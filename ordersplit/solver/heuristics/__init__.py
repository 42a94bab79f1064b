"""The classic split heuristics of DOMAIN.md, over the compiled problem.

Each returns a feasible assignment (or ``None`` if it cannot find one). They serve as
warm starts, as upper bounds for the exact search, and as fallbacks when time runs out.
"""

from ordersplit.solver.heuristics.greedy import greedy
from ordersplit.solver.heuristics.ladder import ladder
from ordersplit.solver.heuristics.pigeonhole import pigeonhole
from ordersplit.solver.heuristics.scarce import scarce

HEURISTICS = {"greedy": greedy, "scarce": scarce, "ladder": ladder, "pigeonhole": pigeonhole}

__all__ = ["HEURISTICS", "greedy", "ladder", "pigeonhole", "scarce"]
