"""hall.core.ids: UUIDs as text, as uuid.UUID parses and prints them."""

from __future__ import annotations

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


def test_uuid7_ids_sort_in_the_order_they_were_made_a_millisecond_apart():
    made = []
    for _ in range(5):
        made.append(ids.uuid7())
        time.sleep(0.002)
    assert made == sorted(made)
    ms = uuid.UUID(made[-1]).int >> 80
    assert abs(ms - time.time_ns() // 1_000_000) < 60_000
