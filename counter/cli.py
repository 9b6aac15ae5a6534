"""``hall caller | display | board | evaluator``: the window-side apps as devices.

Each runs full screen (``--windowed`` for a desktop), connects to the hall
broker in the background and stops cleanly on SIGTERM.  Device ids default to
the demo hall's names: caller-N, display-N, board-1, evaluator-N.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from sync.connect import add_broker_args


def _common(p: argparse.ArgumentParser, *, window: bool) -> None:
    if window:
        p.add_argument("--window", required=True, help="the window this device belongs to")
    p.add_argument("--device", help="device id on the hall broker (default: from the role)")
    p.add_argument(
        "--settings",
        default=os.environ.get("HALL_COUNTER_SETTINGS"),
        help="counter settings YAML (key maps, pause reasons, voice ...)",
    )
    p.add_argument("--windowed", action="store_true", help="a window instead of full screen")
    add_broker_args(p)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("caller", help="the clerk's caller (叫号器) with its keypad")
    _common(p, window=True)
    p.add_argument("--keys", metavar="DEVICE", help="keypad input device (/dev/input/by-id/...)")
    p.set_defaults(func=run_caller)

    p = sub.add_parser("display", help="the window display (TV or LED strip)")
    _common(p, window=True)
    p.add_argument(
        "--layout",
        choices=("auto", "tv", "led"),
        default="auto",
        help="auto: LED strip layout when the screen is wider than 4:1",
    )
    p.set_defaults(func=run_display)

    p = sub.add_parser("board", help="the hall board (大屏) of the waiting area")
    _common(p, window=False)
    p.set_defaults(func=run_board)

    p = sub.add_parser("evaluator", help="the five-button evaluator (评价器) or the tablet")
    _common(p, window=True)
    p.add_argument(
        "--mode",
        choices=("buttons", "tablet"),
        default="buttons",
        help="buttons: the five-level box (USB keys and touch); tablet: the touch evaluator "
        "(the case to confirm, levels, reasons, a comment)",
    )
    p.add_argument(
        "--db",
        default=os.environ.get("HALL_EVALUATOR_DB", "/var/lib/hall/evaluator.db"),
        help="this evaluator's ratings database",
    )
    p.add_argument("--keys", metavar="DEVICE", help="USB five-button device (/dev/input/...)")
    p.set_defaults(func=run_evaluator)


def _with_keys(args: argparse.Namespace, widget: Any) -> Any:
    """The widget, reading ``--keys`` if given."""
    if args.keys:
        widget.keys_from(args.keys)
    return widget


def run_caller(args: argparse.Namespace) -> int:
    from counter.app import run

    def build(qtlink: Any, settings: Any) -> Any:
        from counter.caller import CallerWindow

        return _with_keys(args, CallerWindow(qtlink, args.window, settings=settings))

    return run(args, role="caller", name="叫号器", build=build, size=(1024, 768))


def run_display(args: argparse.Namespace) -> int:
    from counter.app import announcer_for, run

    def build(qtlink: Any, settings: Any) -> Any:
        from counter.display import WindowDisplay

        return WindowDisplay(
            qtlink,
            args.window,
            args.layout,
            settings=settings,
            announcer=announcer_for(settings, "display"),
        )

    size = (1280, 160) if args.layout == "led" else (1280, 720)
    return run(args, role="display", name="显示屏", build=build, size=size)


def run_board(args: argparse.Namespace) -> int:
    from counter.app import announcer_for, run

    def build(qtlink: Any, settings: Any) -> Any:
        from counter.board import HallBoard

        return HallBoard(qtlink, settings=settings, announcer=announcer_for(settings, "board"))

    return run(args, role="board", name="大厅叫号大屏", build=build, size=(1280, 720))


def run_evaluator(args: argparse.Namespace) -> int:
    from counter.app import make_announcer, run

    tablet = getattr(args, "mode", "buttons") == "tablet"

    def build(qtlink: Any, settings: Any) -> Any:
        from counter.evaluator import EvaluatorWindow
        from counter.tablet import TabletWindow

        voice = make_announcer(settings) if settings.voice.evaluator_prompts else None
        cls = TabletWindow if tablet else EvaluatorWindow
        widget = cls(qtlink, args.window, args.db, settings=settings, voice=voice)
        return _with_keys(args, widget)

    name = "平板评价" if tablet else "评价器"
    return run(args, role="evaluator", name=name, build=build, size=(1280, 800))
