"""Reading a transactional log as Kafka's consumers do: the LSO bound, the aborted
transaction index a leader answers with, and what the consumer hands over."""

from kmodel.kafka.isolation import aborted_transactions, consumable, stable_end
from kmodel.kafka.messages import Entry


def data(record: int, producer_id: int) -> Entry:
    return Entry(record, producer_id, 0, 0, transactional=True)


def marker(kind: str, producer_id: int) -> Entry:
    return Entry(0, producer_id, -1, 0, transactional=True, control=kind)


ABORTED_THEN_COMMITTED = (data(1, 1), marker("ABORT", 1), data(1, 1), marker("COMMIT", 1))


def test_read_committed_drops_the_aborted_transaction_and_every_marker() -> None:
    log = ABORTED_THEN_COMMITTED
    aborted = aborted_transactions(log, 0, len(log))
    assert aborted == ((1, 0),)
    assert consumable(0, log, aborted) == ((2, 1),)


def test_read_uncommitted_hands_over_both_copies_but_no_marker() -> None:
    assert consumable(0, ABORTED_THEN_COMMITTED, ()) == ((0, 1), (2, 1))


def test_a_fetch_past_an_abort_marker_is_told_of_no_aborted_transaction() -> None:
    log = ABORTED_THEN_COMMITTED
    assert aborted_transactions(log, 2, len(log)) == ()
    assert consumable(2, log[2:], ()) == ((2, 1),)


def test_an_abort_marker_beyond_the_lso_still_drops_its_records() -> None:
    """Producer 2's open transaction holds the LSO at 1; producer 1's abort marker lies
    past it, yet the index names the aborted transaction starting inside the fetch."""
    log = (data(1, 1), data(2, 2), marker("ABORT", 1))
    end = stable_end(log, len(log), read_committed=True)
    assert end == 1
    aborted = aborted_transactions(log, 0, end)
    assert aborted == ((1, 0),)
    assert consumable(0, log[:end], aborted) == ()
    assert stable_end(log, len(log), read_committed=False) == len(log)


def test_records_outside_transactions_are_stable_at_once() -> None:
    log = (Entry(1, 0, -1, 0), Entry(2, 0, -1, 0))
    assert stable_end(log, 2, read_committed=True) == 2
    assert consumable(0, log, aborted_transactions(log, 0, 2)) == ((0, 1), (1, 2))
