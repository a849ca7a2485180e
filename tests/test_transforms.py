"""Tests of the Transform protocol and Compose (no plugin needed)."""

import numpy as np
import pytest

from dzcore.transforms import Compose, is_batchable


class AddOne:
    """A batchable transform that counts how it was called."""

    batchable = True

    def __init__(self) -> None:
        self.sample_calls = 0
        self.batch_calls = 0

    def __call__(self, x):
        self.sample_calls += 1
        return x + 1

    def apply_batch(self, batch):
        self.batch_calls += 1
        return batch + 1


def test_compose_applies_in_order():
    chain = Compose([lambda x: x * 2, lambda x: x - 3])

    assert chain(5) == 7
    assert len(chain) == 2


def test_compose_empty_is_identity():
    sample = np.arange(3)

    assert Compose()(sample) is sample
    assert Compose([])(sample) is sample


def test_compose_rejects_non_callable():
    with pytest.raises(TypeError, match="transform 1 must be callable"):
        Compose([abs, 3])


def test_compose_batchable_only_when_all_members_are():
    assert Compose([AddOne(), AddOne()]).batchable
    assert not Compose([AddOne(), lambda x: x]).batchable
    assert Compose().batchable


def test_compose_apply_batch_uses_member_batch_paths():
    first, second = AddOne(), AddOne()
    batch = np.zeros((4, 3))

    result = Compose([first, second]).apply_batch(batch)

    np.testing.assert_array_equal(result, np.full((4, 3), 2.0))
    assert (first.batch_calls, first.sample_calls) == (1, 0)
    assert (second.batch_calls, second.sample_calls) == (1, 0)


def test_compose_apply_batch_refuses_non_batchable_member():
    chain = Compose([AddOne(), np.negative])

    with pytest.raises(TypeError, match="not batchable"):
        chain.apply_batch(np.zeros(2))


def test_is_batchable_none_and_plain_callables():
    assert is_batchable(None)
    assert is_batchable(AddOne())
    assert not is_batchable(lambda x: x)
    assert not is_batchable(np.negative)


def test_compose_repr_lists_members():
    assert repr(Compose([abs])) == "Compose([<built-in function abs>])"
