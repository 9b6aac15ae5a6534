"""The gateway without a broker (a fake engine link): debounced refreshes, chunks, only
changes fanned out, bounds, slow consumers dropped, engine errors survived."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from web_doubles import TOKEN, VIEW, FakeLink

from hall.web.gateway import Full, Gateway, chunks
from hall.web.texts import present
from sync.client import Message

STATIC = Path(__file__).resolve().parents[3] / "hall" / "web" / "static"


def run(coro):
    return asyncio.run(coro)


async def started(link: FakeLink, **kw) -> Gateway:
    kw.setdefault("debounce_s", 0.01)
    return await Gateway(link, refresh_every_s=3600, **kw).start()


async def refreshed(gw: Gateway, after: int, timeout=5.0) -> None:
    """Wait until the gateway has finished a refresh turn after the ``after``-th."""

    async def turn():
        while gw.refreshes <= after:
            await asyncio.sleep(0.005)

    await asyncio.wait_for(turn(), timeout)


def state_message() -> Message:
    return Message("hall/demo-hall/window/1/state", {}, b"{}", True)


async def next_event(sub, timeout=2.0):
    return await asyncio.wait_for(sub.next(), timeout)


def test_chunks_keep_requests_small():
    tokens = [f"{i:022d}" for i in range(250)]
    parts = chunks(tokens)
    assert [len(p) for p in parts] == [100, 100, 50]
    assert [t for part in parts for t in part] == tokens
    long = ["x" * 64] * 100
    assert all(len(p) * 67 <= 3000 for p in chunks(long))


def test_a_burst_of_messages_is_one_refresh_and_only_changes_go_out():
    async def scenario():
        link = FakeLink()
        # the burst lands well inside one debounce window even on a loaded machine
        gw = await started(link, debounce_s=0.5)
        sub = gw.watch(TOKEN, await gw.lookup(TOKEN))
        assert (await next_event(sub))[0] == "view"
        before = len(link.commands("progress"))
        turns = gw.refreshes

        def burst():  # one dispatcher turn delivering 50 state messages, as MQTT does
            for _ in range(50):
                gw._on_message(state_message())

        link.views[TOKEN] = {**VIEW, "ahead": 2}
        await asyncio.to_thread(burst)
        kind, view = await next_event(sub)
        assert (kind, view["ahead"]) == ("view", 2)
        assert gw.refreshes == turns + 1
        assert len(link.commands("progress")) - before == 1  # debounced, not 50
        turns = gw.refreshes
        gw.mark_dirty()  # nothing changed: the engine is asked, nothing is sent
        await refreshed(gw, turns)
        assert len(link.commands("progress")) - before == 2
        assert sub.queue.empty()
        await gw.close()

    run(scenario())


def test_an_expired_ticket_ends_its_pages():
    async def scenario():
        link = FakeLink()
        gw = await started(link)
        sub = gw.watch(TOKEN, await gw.lookup(TOKEN))
        await next_event(sub)
        del link.views[TOKEN]
        gw.mark_dirty()
        assert (await next_event(sub))[0] == "gone"
        assert await next_event(sub) is None
        assert gw.stats()["pages"] == 0
        await gw.close()

    run(scenario())


def test_live_pages_are_bounded():
    async def scenario():
        gw = await started(FakeLink(), max_pages_per_token=2, max_pages=3)
        view = await gw.lookup(TOKEN)
        gw.watch(TOKEN, view)
        gw.watch(TOKEN, view)
        with pytest.raises(Full):
            gw.watch(TOKEN, view)
        gw.watch("B" * 22, view)
        with pytest.raises(Full):
            gw.watch("C" * 22, view)
        await gw.close()

    run(scenario())


def test_a_slow_page_is_dropped_not_waited_for():
    async def scenario():
        link = FakeLink()
        gw = await started(link)
        slow = gw.watch(TOKEN, await gw.lookup(TOKEN))
        for ahead in range(20):  # the page never reads
            link.views[TOKEN] = {**VIEW, "ahead": ahead}
            await gw.refresh()
        assert slow.dropped and slow.closed
        assert gw.stats()["pages"] == 0
        await gw.close()

    run(scenario())


def test_the_engine_away_keeps_the_last_view_and_the_loop():
    async def scenario():
        link = FakeLink()
        gw = await started(link)
        sub = gw.watch(TOKEN, await gw.lookup(TOKEN))
        await next_event(sub)
        link.fail = "link"
        gw.mark_dirty()
        await asyncio.sleep(0.1)
        assert sub.queue.empty() and not sub.closed and gw.alive()
        link.fail = None
        link.views[TOKEN] = {**VIEW, "status": "called", "window": "3", "ahead": None}
        gw.mark_dirty()
        _kind, view = await next_event(sub)
        assert view["status"] == "called"
        await gw.close()

    run(scenario())


def test_unknown_tokens_are_remembered_briefly():
    async def scenario():
        link = FakeLink()
        gw = await started(link)
        for _ in range(5):
            assert await gw.lookup("Z" * 22) is None
        assert len(link.commands("progress")) == 1
        await gw.close()

    run(scenario())


def test_the_words_for_each_status():
    waiting = present(VIEW, [5, 2])
    assert (waiting["status_zh"], waiting["ahead_zh"], waiting["alert"]) == (
        "等候中",
        "3",
        "ahead:5",
    )
    called = present({**VIEW, "status": "called", "window": "3", "call_count": 1}, [5, 2])
    assert called["status_zh"] == "请到 3 号窗口" and called["alert"] == "called:1"
    assert present({**VIEW, "status": "serving", "window": "3"}, [])["status_zh"] == "办理中"
    assert present({**VIEW, "status": "done", "window": "3"}, [])["status_zh"] == "已办结，请评价"
    assert present({**VIEW, "status": "no_show"}, [])["status_zh"] == "已过号：请到窗口说明"


def _luminance(hex_colour: str) -> float:
    if len(hex_colour) == 4:  # #fff
        hex_colour = "#" + "".join(c * 2 for c in hex_colour[1:])
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_citizens_colours_have_a_contrast_of_seven():
    css = (STATIC / "citizen.css").read_text()
    pairs = re.findall(
        r"\.tone-\w+ \{ background: (#[0-9a-f]{3,6}); color: (#[0-9a-f]{3,6}); \}", css
    )
    assert len(pairs) == 5
    pairs += [
        ("#0b2a5b", "#ffffff"),
        ("#ffffff", "#0b2a5b"),
        ("#ffffff", "#8a1111"),
        ("#f2f4f7", "#333333"),
        ("#ffffff", "#111111"),
        ("#0a5228", "#ffffff"),
    ]
    for background, colour in pairs:
        assert contrast(background, colour) >= 7.0, (background, colour)
