"""Taps from the first screen to a ticket, for every item of the demo hall, in the
normal mode and in 大字模式, portrait and landscape: at most 3 (plus the card).

The walk is a citizen's: on the first screen the item's own tile if it is there, else
its category's tile, then the item's tile, then 取号; a card is swiped when the kiosk
asks for one (not a tap).  Each tile must be wholly on screen when it is tapped (a
tile below the fold would need a swipe first, which would count as a tap), and each
item's guide must show all of itself (nothing cut or behind a scroll bar)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kiosk_checks import fully_visible, layout_problems

from drivers.idcard import make_card

pytestmark = pytest.mark.broker

DEMO = Path(__file__).resolve().parents[2] / "assets" / "halls" / "demo.yaml"
PORTRAIT, LANDSCAPE = (1080, 1920), (1920, 1080)
MAX_TAPS = 3


def demo_items() -> list[dict]:
    return list(yaml.safe_load(DEMO.read_text(encoding="utf-8"))["items"])


def tap_visible(k, name: str) -> None:
    widget = k.widget(name)
    assert fully_visible(widget), f"{name} is not wholly on screen ({k.window.screen_name})"
    k.tap(name)


def walk_to_ticket(k, item: dict, birth: str) -> int:
    """From the first screen to the ticket of ``item``; the taps it took."""
    start = len(k.taps)
    if k.has(f"common-{item['id']}"):
        tap_visible(k, f"common-{item['id']}")
    else:
        tap_visible(k, f"category-{item['queue']}")
        k.wait_screen("items")
        tap_visible(k, f"item-{item['id']}")
    k.wait_screen("guide")
    problems = layout_problems(k.window)
    assert not problems, f"the guide of {item['id']}: {problems}"
    tap_visible(k, "take")
    k.qtbot.waitUntil(lambda: k.window.screen_name in ("identify", "ticket"), timeout=8000)
    if k.window.screen_name == "identify":
        k.swipe(make_card("resident", name="刘一", birth=birth))
        k.wait_screen("ticket")
        k.lift()
    ticket = k.window.session.ticket
    assert ticket is not None and ticket.item_id == item["id"]
    return len(k.taps) - start


@pytest.mark.parametrize("size", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
@pytest.mark.parametrize("mode", ["normal", "elderly"])
def test_every_item_within_three_taps(make_kiosk, size, mode):
    k = make_kiosk(size)
    taps: dict[str, int] = {}
    for n, item in enumerate(demo_items()):
        assert k.window.screen_name == "home" and not k.window.theme.elderly
        birth = f"19{(40 if mode == 'elderly' else 80) + n:02d}0615"
        if mode == "elderly":
            # an older citizen's card at the first screen: 大字模式 by itself, no tap
            k.swipe(make_card("resident", name="刘一", birth=birth))
            k.qtbot.waitUntil(lambda: k.window.theme.elderly)
            k.lift()
        taps[item["id"]] = walk_to_ticket(k, item, birth)
        assert k.window.theme.elderly == (mode == "elderly")
        k.tap("done")  # the visit ends: 大字模式 of the card ends with it
        k.wait_screen("home")
    assert len(taps) == len(demo_items()) == len(k.tickets())
    over = {item: n for item, n in taps.items() if n > MAX_TAPS}
    assert not over, f"items needing more than {MAX_TAPS} taps: {over}"
