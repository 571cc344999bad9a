"""What a step did, in sentences that explain the contracts it bears on.

Between two trace states, a step may append to a log or truncate it, move a
high watermark, elect a leader or change an ISR, acknowledge a record, commit
an offset, move a transaction from Ongoing to PrepareCommit, or write to the
sink. Each such change gets one sentence saying what happened and why a
contract cares: a truncation names the records it took, an unclean election
says the ISR was passed over, a sink write that repeats a record says it is a
duplicate effect.

>>> before = {"sink": {"effects": [[0, 1]], "writes": [[0, 1]], "position": 0}}
>>> after = {"sink": {"effects": [[0, 1], [0, 1]], "writes": [[0, 1], [0, 1]], "position": 0}}
>>> effects(before, after)
['The sink applies r1 a second time: a duplicate effect.']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from kmodel.render.events import join_words, who
from kmodel.render.kafka_view import (
    ByKind,
    Entry,
    actors,
    kind_of,
    numbers,
    partition_text,
    record_name,
)

# What a transaction's new status means for its records.
_STATUS_MEANS = {
    "Ongoing": "the transaction is open",
    "PrepareCommit": "the commit is decided, and the markers are still to be written",
    "PrepareAbort": "the abort is decided, and the markers are still to be written",
    "CompleteCommit": "every marker is written: read_committed consumers see its records",
    "CompleteAbort": "every marker is written: its records are never read as committed",
    "PrepareEpochFence": "the producer's epoch is being fenced",
}


def effects(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Sentences for what a step did that bears on a contract: truncations with the records
    lost, HW moves, ISR and leader changes, commits of offsets, transaction state changes,
    sink writes."""
    sentences: list[str] = []
    old_actors = actors(before)
    for name, entry in actors(after).items():
        old = old_actors.get(name)
        kind = kind_of(entry)
        if old is None or kind is None or kind_of(old) != kind or old == entry:
            continue
        for sentence in _TELLERS[kind](who(name), old, entry):
            sentences.append(sentence[:1].upper() + sentence[1:] + ".")
    return sentences


# -- one teller per kind of actor --------------------------------------------------------


_TELLERS: ByKind = ByKind()


@_TELLERS("replica")
def _replica(actor: str, old: Entry, new: Entry) -> Iterator[str]:
    yield from _log_changes(actor, old, new)
    hw, was = new["high_watermark"], old["high_watermark"]
    if hw > was:
        committed = _records_of(new["log"][max(was, new.get("log_start", 0)) : hw])
        sentence = f"{actor}'s high watermark moves to {hw}"
        if committed and new["role"] == "leader":
            verb = "is" if len(committed) == 1 else "are"
            sentence += f": {join_words(committed)} {verb} committed, on every replica in the ISR"
        yield sentence
    elif hw < was:
        yield f"{actor}'s high watermark goes back from {was} to {hw}"
    if new.get("crashed"):
        return
    epoch = new["leader_epoch"]
    if (new["role"], epoch) != (old["role"], old["leader_epoch"]):
        if new["role"] == "leader":
            yield f"{actor} becomes the leader in leader epoch {epoch}, ISR {numbers(new['isr'])}"
        elif new["role"] == "follower" and old["role"] != "truncating":
            yield f"{actor} follows broker {new['leader']} in leader epoch {epoch}"
        elif new["role"] == "truncating":
            yield (
                f"{actor} follows broker {new['leader']} in leader epoch {epoch}, and first asks "
                "it where its log may have diverged"
            )
    elif new["role"] == "leader" and new["isr"] != old["isr"]:
        change = "shrinks" if len(new["isr"]) < len(old["isr"]) else "changes"
        if len(new["isr"]) > len(old["isr"]):
            change = "expands"
        yield f"{actor} {change} the ISR to {numbers(new['isr'])}"


def _log_changes(actor: str, old: Entry, new: Entry) -> Iterator[str]:
    before, after = old["log"], new["log"]
    kept = 0
    while kept < min(len(before), len(after)) and before[kept] == after[kept]:
        kept += 1
    gone, added = before[kept:], after[kept:]
    if gone:
        verb = "is" if len(gone) == 1 else "are"
        if new.get("crashed"):
            yield (
                f"{actor} loses what it had not flushed to disk: {_gone(gone)} {verb} gone "
                f"from its log, which now ends at offset {kept}"
            )
        else:
            yield f"{actor} truncates its log to offset {kept}: {_gone(gone)} {verb} gone"
    if added:
        where = join_words([f"{_entry(e)} at offset {kept + i}" for i, e in enumerate(added)])
        yield f"{actor} appends {where} (leader epoch {added[-1]['leader_epoch']})"
    start, was = new.get("log_start", 0), old.get("log_start", 0)
    if start > was:
        deleted = _records_of(before[was:start])
        yield (
            f"{actor} deletes its log below offset {start} (retention): "
            f"{join_words(deleted) or 'no record'} can no longer be read"
        )


def _gone(entries: Sequence[Entry]) -> str:
    """``record 1``, ``records 1 and 2``, ``record 1 and a COMMIT marker``."""
    records = [str(e["record"]) for e in entries if not e.get("control")]
    markers = [f"a {e['control']} marker" for e in entries if e.get("control")]
    named = [("record " if len(records) == 1 else "records ") + join_words(records)]
    return join_words((named if records else []) + markers)


def _records_of(entries: Sequence[Entry]) -> list[str]:
    """The records among `entries` (markers left out): ``["r1", "r2"]``."""
    return [record_name(e) for e in entries if not e.get("control")]


def _entry(entry: Entry) -> str:
    """A log entry in prose: ``r1``, ``a COMMIT marker``."""
    return f"a {entry['control']} marker" if entry.get("control") else record_name(entry)


@_TELLERS("controller")
def _controller(actor: str, old: Entry, new: Entry) -> Iterator[str]:
    unclean = new.get("unclean_elections", 0) > old.get("unclean_elections", 0)
    for number, (was, now) in enumerate(zip(old["partitions"], new["partitions"], strict=False)):
        if (was["leader"], was["leader_epoch"]) != (now["leader"], now["leader_epoch"]):
            if now["leader"] < 0:
                yield f"{actor} takes partition {number} offline: no replica may lead it"
                continue
            sentence = f"{actor} elects broker {now['leader']} leader of partition {number}"
            sentence += f" ({partition_text(now)})"
            if unclean and now["leader"] not in was["isr"]:
                sentence += (
                    f": an unclean election, broker {now['leader']} was not in the ISR, "
                    "so records only the ISR held may be lost"
                )
            yield sentence
        elif was["isr"] != now["isr"]:
            yield f"{actor} records the ISR of partition {number} as {numbers(now['isr'])}"
    for broker, (was_up, up) in enumerate(zip(old["alive"], new["alive"], strict=False)):
        if was_up and not up:
            yield f"{actor} fences broker {broker}: it may lead no partition until it registers"
        elif up and not was_up:
            yield f"{actor} registers broker {broker} again"


@_TELLERS("producer")
def _producer(actor: str, old: Entry, new: Entry) -> Iterator[str]:
    acked = _new(old["acked"], new["acked"])
    if acked:
        yield (
            f"{actor} has {_records(acked)} acknowledged: the pipeline now promises "
            f"{'it is' if len(acked) == 1 else 'they are'} written"
        )
    failed = _new(old.get("failed", ()), new.get("failed", ()))
    if failed:
        yield f"{actor} gives up on {_records(failed)}: the send failed for good"


@_TELLERS("consumer")
def _consumer(actor: str, old: Entry, new: Entry) -> Iterator[str]:
    several = len(new["positions"]) > 1
    for partition, (was, now) in enumerate(zip(old["positions"], new["positions"], strict=False)):
        if was == now or now < 0:
            continue
        whose = f"{actor}'s position" + (f" on partition {partition}" if several else "")
        if was >= 0 and now < was:
            yield f"{whose} goes back from {was} to {now}: it will read offset {now} again"
        else:
            yield f"{whose} moves to {now}"


@_TELLERS("group-coordinator")
def _group_coordinator(actor: str, old: Entry, new: Entry) -> Iterator[str]:
    several = len(new["committed"]) > 1
    for partition, (was, now) in enumerate(zip(old["committed"], new["committed"], strict=False)):
        if was == now:
            continue
        where = f" for partition {partition}" if several else ""
        if now < was:
            yield (
                f"{actor}'s committed offset{where} goes back from {was} to {now}: "
                "a restart would read again from there"
            )
        else:
            yield (
                f"{actor} commits offset {now}{where}: a consumer that starts over resumes there"
            )
    if new["generation"] > old["generation"]:
        yield f"{actor} starts generation {new['generation']} of the group"


@_TELLERS("txn-coordinator")
def _txn_coordinator(actor: str, old: Entry, new: Entry) -> Iterator[str]:
    earlier = {txn["producer_id"]: txn for txn in old["transactions"]}
    for txn in new["transactions"]:
        pid = txn["producer_id"]
        was = earlier.get(pid)
        if was is None:
            yield f"{actor} keeps a transaction for producer id {pid}"
            continue
        if txn["epoch"] != was["epoch"]:
            sentence = f"{actor} gives producer id {pid} epoch {txn['epoch']}"
            if was["epoch"] >= 0:
                sentence += f": requests of epoch {was['epoch']} are fenced"
            yield sentence
        if txn["status"] != was["status"]:
            sentence = f"the transaction of producer id {pid} goes from {was['status']} to "
            sentence += txn["status"]
            means = _STATUS_MEANS.get(txn["status"])
            yield sentence + (f": {means}" if means else "")
        elif txn["partitions"] != was["partitions"] and txn["partitions"]:
            yield (
                f"the transaction of producer id {pid} now spans " + ", ".join(txn["partitions"])
            )


@_TELLERS("application")
def _application(actor: str, old: Entry, new: Entry) -> Iterator[str]:
    moved = (new["producer_id"], new["epoch"]) != (old["producer_id"], old["epoch"])
    if moved and new["producer_id"] >= 0:
        yield f"{actor} writes as producer id {new['producer_id']}, epoch {new['epoch']}"
    if new.get("fenced") and not old.get("fenced"):
        yield f"{actor} learns it is fenced: a newer instance owns its work"
    if new["position"] != old["position"]:
        yield f"{actor}'s input position moves to {new['position']}"


@_TELLERS("sink")
def _sink(actor: str, old: Entry, new: Entry) -> Iterator[str]:
    shown = Counter(map(tuple, old["effects"]))
    for partition, record in _new(old["effects"], new["effects"]):
        name = f"r{record}" + (f" of partition {partition}" if partition else "")
        if shown[(partition, record)]:
            yield f"{actor} applies {name} a second time: a duplicate effect"
        else:
            yield f"{actor} now shows {name}"
        shown[(partition, record)] += 1
    if new.get("position", 0) != old.get("position", 0):
        yield f"{actor} stores input position {new['position']} with its results"


@_TELLERS("source")
def _source(actor: str, old: Entry, new: Entry) -> Iterator[str]:
    if new["stored"] != old["stored"]:
        yield (f"{actor} stores position {new['stored']}: a restarted application resumes there")


def _new(old: Sequence[Any], new: Sequence[Any]) -> list[Any]:
    """What `new` holds beyond `old`, counting repeats, in `new`'s order."""
    left = Counter(map(_key, old))
    added = []
    for item in new:
        key = _key(item)
        if left[key]:
            left[key] -= 1
        else:
            added.append(item)
    return added


def _key(item: Any) -> Any:
    return tuple(item) if isinstance(item, list) else item


def _records(records: Sequence[int]) -> str:
    return join_words([f"r{record}" for record in records])
