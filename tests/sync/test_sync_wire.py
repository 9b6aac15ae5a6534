"""Pure parts of the central plane: the batch codec, the center's ordering, backoff."""

from __future__ import annotations

import json
import random
import re
import sqlite3
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import contract, outbox
from sync.backoff import Backoff
from sync.ingest import StreamOrder
from sync.outbox import RawEvent
from sync.wire import Batch, BatchError, WireEvent, decode_batch, encode_batch, event_json

STREAM = str(uuid.UUID(int=7))


def raw(seq: int, data: str = '{"code":"A001"}') -> RawEvent:
    return RawEvent(seq, str(uuid.UUID(int=seq)), "ticket_issued", "2026-11-23T09:30:00", data)


def batch(prev: int, seqs: list[int], base: int = 0) -> Batch:
    return Batch(
        "demo-hall",
        "engine",
        STREAM,
        prev,
        base,
        "",
        tuple(WireEvent(str(uuid.UUID(int=s)), s, "ticket_issued", "", {}) for s in seqs),
    )


def test_batch_round_trip_keeps_payload_text_and_matches_the_contract():
    events = [raw(5, '{"code":"A005","name":"张*"}'), raw(6), raw(9)]
    data = encode_batch(
        hall="demo-hall",
        device="engine",
        stream=STREAM,
        prev=4,
        base=2,
        sent_at="2026-11-23T09:31:00",
        events=events,
    )
    # What goes on the wire is the documented eventBatch message.
    contract.validate("hall/demo-hall/dev/engine/sync/events", json.loads(data))
    b = decode_batch(data)
    assert (b.prev, b.base, b.last, b.stream) == (4, 2, 9, STREAM)
    assert [e.seq for e in b.events] == [5, 6, 9]
    assert b.events[0].data == {"code": "A005", "name": "张*"}
    assert b.events[0].envelope("demo-hall", "engine")["device"] == "engine"


def test_the_outbox_builds_the_same_events_in_sql_and_cuts_batches_by_size():
    conn = sqlite3.connect(":memory:", isolation_level=None)
    outbox.ensure_schema(conn)
    payloads = [{"code": f"A{i:03d}", "name": "张*", "note": 'a"b\\c\n' * i} for i in range(40)]
    for p in payloads:
        outbox.put(conn, "ticket_issued", "2026-11-23T09:30:00+08:00", p)
    rows = outbox.read_after(conn, 0, 100)
    # A bound that holds the first ten events (payload + row overhead each).
    bound = sum(len(r.payload) + outbox.ROW_OVERHEAD for r in rows[:10])
    run = outbox.read_run(conn, 0, 100, bound)
    assert run is not None
    assert (run.count, run.last) == (10, rows[9].seq)
    assert run.body == ",".join(event_json(r) for r in rows[:10])
    # Everything fits: the limit on events cuts; the first event always goes.
    assert outbox.read_run(conn, rows[9].seq, 5, 10**9).count == 5  # type: ignore[union-attr]
    assert outbox.read_run(conn, 0, 100, 1).count == 1  # type: ignore[union-attr]
    assert outbox.read_run(conn, rows[-1].seq, 100, bound) is None
    data = (
        b'{"hall":"h","device":"d","stream":"s","prev":0,"base":0,"events":['
        + run.body.encode()
        + b"]}"
    )
    assert [e.data for e in decode_batch(data).events] == payloads[:10]


def test_a_probe_batch_has_no_events_and_vouches_for_prev():
    data = encode_batch(
        hall="h", device="d", stream=STREAM, prev=40, base=10, sent_at="", events=[]
    )
    assert decode_batch(data).last == 40


@pytest.mark.parametrize(
    ("raw_bytes", "says"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"[]", "JSON object"),
        (b'{"events": {}}', "'events' must be a list"),
        (b'{"events": [], "prev": "1"}', "'prev' must be int"),
        (
            b'{"hall":"h","device":"d","stream":"s","prev":3,"base":0,'
            b'"events":[{"id":"a","seq":3,"kind":"k","ts":""}]}',
            "seq 3 is not above 3",
        ),
        (
            b'{"hall":"h","device":"d","stream":"s","prev":0,"base":0,'
            b'"events":[{"id":1,"seq":3,"kind":"k","ts":""}]}',
            "events[0]: 'id' must be str",
        ),
    ],
)
def test_bad_batches_are_refused_saying_why(raw_bytes, says):
    with pytest.raises(BatchError, match=re.escape(says)):
        decode_batch(raw_bytes)


def test_ordering_holds_back_a_batch_after_a_gap_and_asks_for_a_resend():
    order = StreamOrder(confirming=True)
    r = order.offer(batch(0, [1, 2]), now=0.0)
    assert [b.last for b in r.batches] == [2] and r.watermark == 2 and r.advanced
    r = order.offer(batch(4, [5, 6]), now=0.1)  # 3 and 4 were lost
    assert r.batches == () and r.resend_after == 2 and not r.advanced
    r = order.offer(batch(6, [7]), now=0.2)  # still the same gap: do not ask again yet
    assert r.resend_after is None
    [again] = order.tick(now=1.5)
    assert again.resend_after == 2
    r = order.offer(batch(2, [3, 4]), now=1.6)  # the resend arrives
    assert [b.last for b in r.batches] == [4, 6, 7] and r.watermark == 7 and r.resend_after is None


def test_a_passive_monitor_joins_mid_stream_and_gives_up_on_a_gap_after_a_timeout():
    order = StreamOrder(confirming=False, gap_timeout_s=5.0)
    assert order.offer(batch(100, [101]), now=0.0).watermark == 101
    r = order.offer(batch(110, [111]), now=1.0)
    assert r.batches == () and r.resend_after is None  # a passive monitor never asks
    assert order.tick(now=3.0) == []
    [gave_up] = order.tick(now=6.5)
    assert gave_up.skipped == ((101, 110),) and [b.last for b in gave_up.batches] == [111]


def test_base_tells_the_center_not_to_wait_for_what_the_device_no_longer_has():
    order = StreamOrder(confirming=True)
    order.offer(batch(0, [1]), now=0)
    r = order.offer(batch(50, [51], base=50), now=1)
    assert r.watermark == 51 and r.resend_after is None


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=25),
    seed=st.integers(0, 2**32 - 1),
)
def test_released_events_are_in_order_whatever_the_arrival_order(sizes, seed):
    """Batches arrive shuffled and duplicated; a confirming center releases them in order,
    exactly once after de-duplication, asking for resends until nothing is missing."""
    batches, prev = [], 0
    for n in sizes:
        seqs = list(range(prev + 1, prev + n + 1))
        batches.append(batch(prev, seqs))
        prev = seqs[-1]
    rng = random.Random(seed)
    arrivals = batches + rng.sample(batches, k=len(batches) // 2)
    rng.shuffle(arrivals)
    order = StreamOrder(confirming=True)
    released: list[int] = []
    now = 0.0
    queue = list(arrivals)
    while queue:
        now += 0.01
        r = order.offer(queue.pop(0), now)
        released += [e.seq for b in r.batches for e in b.events]
        if r.resend_after is not None:  # the device sends everything after it again
            queue += [b for b in batches if b.last > r.resend_after]
            assert len(queue) < 100 * len(batches), "resend requests do not converge"
    seen: set[int] = set()
    stored = [s for s in released if not (s in seen or seen.add(s))]  # de-dup by id
    assert stored == list(range(1, prev + 1))


def test_backoff_grows_exponentially_with_jitter_and_resets():
    b = Backoff(0.5, 8.0, rng=random.Random(1))
    delays = [b.next() for _ in range(8)]
    for n, d in enumerate(delays):
        step = min(8.0, 0.5 * 2**n)
        assert step / 2 <= d <= step
    assert max(delays) <= 8.0 and len(set(delays)) == len(delays)  # jittered
    b.reset()
    assert b.next() <= 0.5
    with pytest.raises(ValueError, match="0 < min"):
        Backoff(0, 1)
