"""Imported once by the solver pool's fork server: load and warm the solver stack there.

Every worker process is forked from that server, so each starts with the libraries
loaded and the compiled kernels in memory (shared copy-on-write) instead of warming
itself: a worker replaced after an overrun is ready in milliseconds, not after a
warm-up split of a second or more of CPU, which under a stream of oversized orders
would eat the capacity the normal orders need.
"""

from __future__ import annotations

from ordersplit.service.jobs import warm_up

warm_up()
