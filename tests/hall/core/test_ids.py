"""hall.core.ids: UUIDs as text, as uuid.UUID parses and prints them."""

from __future__ import annotations

import itertools
import time
import uuid

from hall.core import ids


def test_each_is_a_uuid_of_its_version_written_as_uuid_writes_it():
    for make, version in ((ids.uuid4, 4), (ids.uuid7, 7)):
        made = [make() for _ in range(2000)]
        assert len(set(made)) == len(made)
        for text in made:
            parsed = uuid.UUID(text)
            assert str(parsed) == text
            assert (parsed.version, parsed.variant) == (version, uuid.RFC_4122)


def test_uuid4_is_random_in_all_its_122_bits():
    seen = 0
    for _ in range(400):
        seen |= uuid.UUID(ids.uuid4()).int
    assert seen == (1 << 128) - 1 & ~(0xB << 76) & ~(0x4 << 60)  # all but the fixed bits


def test_uuid7_ids_sort_in_the_order_they_were_made():
    apart = []
    for _ in range(5):
        apart.append(ids.uuid7())
        time.sleep(0.002)
    assert apart == sorted(apart)
    ms = uuid.UUID(apart[-1]).int >> 80
    assert abs(ms - time.time_ns() // 1_000_000) < 60_000
    burst = [ids.uuid7() for _ in range(1000)]  # several in each millisecond
    in_order = sum(a < b for a, b in itertools.pairwise(burst))
    assert in_order >= 990  # all but those a clock step apart (a quarter of a microsecond)
