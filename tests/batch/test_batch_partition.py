"""Parts of similar size: a giant stock-competition component is cut further, small
groups stay whole (a round lasts as long as its largest part)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ordersplit.batch.partition import balanced, balanced_parts, pack


def test_a_giant_component_is_cut_and_the_parts_balance() -> None:
    # 70 orders in one component, 30 in fifteen pairs; secondary: one of four locations
    labels = [0] * 70 + [1 + i // 2 for i in range(30)]
    secondary = [o % 4 for o in range(100)]
    parts = pack(balanced(labels, secondary, 2), 2)
    sizes = sorted(len(p) for p in parts)
    assert sizes[1] - sizes[0] <= 2  # was 70 against 30
    assert sorted(o for p in parts for o in p.tolist()) == list(range(100))  # each once
    pairs = {lab: {i for i, p in enumerate(parts) if any(labels[o] == lab for o in p.tolist())}
             for lab in range(1, 16)}
    assert all(len(where) == 1 for where in pairs.values())  # small groups are never cut


def test_a_group_one_secondary_label_cannot_cut_is_cut_into_runs() -> None:
    labels = [0] * 90 + [1] * 10
    secondary = ["same"] * 100
    parts = pack(balanced(labels, secondary, 2), 2)
    assert max(len(p) for p in parts) <= 55


def test_groups_within_the_share_are_left_alone() -> None:
    labels = [o % 3 for o in range(30)]
    assert balanced(labels, [0] * 30, 2) == labels


labels_st = st.lists(st.integers(-1, 6), max_size=80)


@settings(max_examples=300, deadline=None)
@given(labels=labels_st, data=st.data(), n_parts=st.integers(1, 7),
       as_text=st.booleans(), as_array=st.booleans())
def test_the_vectorized_cut_gives_the_parts_of_balanced_and_pack(
        labels: list[int], data: st.DataObject, n_parts: int, as_text: bool,
        as_array: bool) -> None:
    """:func:`balanced_parts` (what the driver cuts with) gives exactly the parts of
    ``pack(balanced(...))``, the plain loops: the same orders in the same part, the parts
    in the same order, for int and text labels, given as lists or arrays."""
    secondary = data.draw(st.lists(st.sampled_from([-1, 0, 1, 2, "a"]), min_size=len(labels),
                                   max_size=len(labels)))
    given_labels: list[Any] | np.ndarray = [f"r{x}" for x in labels] if as_text else labels
    if as_array and not as_text:
        given_labels = np.array(labels, dtype=np.int64)
    want = pack(balanced([f"r{x}" for x in labels] if as_text else labels, secondary,
                         n_parts), n_parts)
    got = balanced_parts(given_labels, secondary, n_parts)
    assert [p.tolist() for p in got] == [p.tolist() for p in want]
    assert all(p.dtype == np.int64 for p in got)


def test_a_giant_component_is_cut_the_same_way_vectorized() -> None:
    labels = [0] * 700 + [1 + i // 2 for i in range(300)]
    secondary = [o % 4 if o % 9 else "x" for o in range(1000)]
    for n_parts in (2, 3, 10):
        want = pack(balanced(labels, secondary, n_parts), n_parts)
        assert [p.tolist() for p in balanced_parts(labels, secondary, n_parts)] == \
            [p.tolist() for p in want]
