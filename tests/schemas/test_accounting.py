"""The books must be able to fail: a vanished, invented or double-counted id is named."""

import pytest

from schemas.accounting import AccountingError, check, ledger


def test_balanced_books_return_counts():
    counts = check([ledger("decide", "segments", {"a", "b", "c"}, {"a"}, {"b", "c"})])
    assert counts == {"decide.segments": {"in": 3, "kept": 1, "rejected": 2}}


def test_a_vanished_id_fails_naming_it():
    with pytest.raises(AccountingError) as err:
        check([ledger("publish", "segments", {"a", "b"}, {"a"}, set())])
    assert "publish: 1 segments vanished" in str(err.value) and "b" in str(err.value)


def test_invented_and_double_counted_ids_fail():
    with pytest.raises(AccountingError) as err:
        check([ledger("analyse", "recordings", {"r1"}, {"r1", "r2"}, {"r1"})])
    text = str(err.value)
    assert "came out without going in: r2" in text and "both kept and rejected: r1" in text


def test_long_lists_are_cut_with_a_count():
    with pytest.raises(AccountingError) as err:
        check([ledger("decide", "segments", {f"s{i:03d}" for i in range(50)}, set(), set())])
    assert "and 30 more" in str(err.value)
