"""The truncation generations as pure functions: the leader's answer, the follower's cut,
and KIP-279's rounds, which leave a follower's log a prefix of its leader's."""

from hypothesis import given
from hypothesis import strategies as st

from kmodel.kafka.messages import Entry
from kmodel.kafka.truncation import (
    UNDEFINED,
    epoch_end_offset,
    latest_epoch,
    truncation_point,
)


def log_of(*epochs: int, first_record: int = 1) -> tuple[Entry, ...]:
    return tuple(Entry(first_record + i, 0, -1, e) for i, e in enumerate(epochs))


def test_leader_answers_the_largest_epoch_up_to_the_one_asked_and_where_it_ends() -> None:
    leader = log_of(0, 0, 2, 2, 4)
    assert epoch_end_offset(leader, 0, current_epoch=5) == (0, 2)
    assert epoch_end_offset(leader, 1, current_epoch=5) == (0, 2)
    assert epoch_end_offset(leader, 3, current_epoch=5) == (2, 4)
    assert epoch_end_offset(leader, 4, current_epoch=5) == (4, 5)
    # The epoch it leads ends at its log end offset, entries or not.
    assert epoch_end_offset(leader, 5, current_epoch=5) == (5, 5)


def test_leader_does_not_know_a_later_epoch_or_none() -> None:
    assert epoch_end_offset(log_of(0, 1), 2, current_epoch=1) == (UNDEFINED, UNDEFINED)
    assert epoch_end_offset(log_of(0, 1), UNDEFINED, current_epoch=1) == (UNDEFINED, UNDEFINED)


def test_an_epoch_before_the_first_entry_ends_where_the_first_entry_is() -> None:
    assert epoch_end_offset(log_of(3, 3), 1, current_epoch=3) == (1, 0)


def test_follower_with_the_answered_epoch_truncates_once() -> None:
    follower = log_of(0, 0, 1, 1)
    assert truncation_point(follower, (0, 1), high_watermark=0) == (1, True)
    assert truncation_point(follower, (1, 9), high_watermark=0) == (4, True)


def test_follower_without_the_answered_epoch_cuts_to_its_earlier_one_and_asks_again() -> None:
    follower = log_of(0, 1, 3)
    assert truncation_point(follower, (2, 5), high_watermark=0) == (2, False)


def test_kip_101_answer_without_epoch_cuts_once_at_the_leaders_offset() -> None:
    assert truncation_point(log_of(0, 1, 1), (UNDEFINED, 2), high_watermark=0) == (2, True)
    assert truncation_point(log_of(0, 1, 1), (UNDEFINED, UNDEFINED), high_watermark=1) == (1, True)


def test_single_round_leaves_the_kip_279_divergence_and_rounds_repair_it() -> None:
    # The leader of epoch 0 wrote r1; the follower holds r2 written in epoch 1 at the
    # same offset; the first leader came back in epoch 3 without knowing epoch 1.
    leader, follower = log_of(0), log_of(1, first_record=2)
    end = epoch_end_offset(leader, latest_epoch(follower), current_epoch=3)[1]
    assert truncation_point(follower, (UNDEFINED, end), high_watermark=0) == (1, True)
    assert truncate_by_rounds(follower, leader, current_epoch=3) == ()


def truncate_by_rounds(follower, leader, current_epoch):
    """KIP-279: ask, cut, and ask again until the follower is done."""
    for _ in range(len(follower) + 1):
        if not follower:
            return follower
        answer = epoch_end_offset(leader, latest_epoch(follower), current_epoch)
        end, done = truncation_point(follower, answer, high_watermark=0)
        follower = follower[:end]
        if done:
            return follower
    raise AssertionError("truncation did not finish")


def histories():
    """A leader's and a follower's log with one consistent epoch history: a common
    prefix, then suffixes written by leaders of distinct epochs (one leader per epoch)."""

    @st.composite
    def build(draw):
        prefix_epochs = sorted(draw(st.lists(st.integers(0, 3), max_size=4)))
        base = prefix_epochs[-1] if prefix_epochs else 0
        later = draw(st.lists(st.integers(base + 1, base + 6), unique=True, max_size=5))
        split = draw(st.integers(0, len(later)))
        mine, theirs = sorted(later[:split]), sorted(later[split:])

        def suffix(epochs, first):
            runs = [e for e in epochs for _ in range(draw(st.integers(1, 2)))]
            return log_of(*runs, first_record=first)

        prefix = log_of(*prefix_epochs)
        leader = prefix + suffix(theirs, 10)
        follower = prefix + suffix(mine, 20)
        # The leader leads the latest epoch; one the follower wrote in was led by another.
        top = max([base, *later])
        current_epoch = top + draw(st.integers(1 if top in mine else 0, 2))
        return leader, follower, current_epoch, len(prefix)

    return build()


@given(histories())
def test_kip_279_rounds_leave_the_follower_a_prefix_of_the_leader(history) -> None:
    leader, follower, current_epoch, common = history
    truncated = truncate_by_rounds(follower, leader, current_epoch)
    assert truncated == leader[: len(truncated)]
    assert len(truncated) == common  # and no matching entry is cut
