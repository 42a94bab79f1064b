"""Parts of similar size: a giant stock-competition component is cut further, small
groups stay whole (a round lasts as long as its largest part)."""

from __future__ import annotations

from ordersplit.batch.partition import balanced, pack


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
