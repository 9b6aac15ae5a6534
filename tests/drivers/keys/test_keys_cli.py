"""``hall keys list`` and ``hall keys test`` as a technician sees them."""

from __future__ import annotations

import argparse
import io
import json
import threading
from pathlib import Path

import pytest

from drivers.keys.cli import build_processor, register, run_test
from drivers.keys.keymap import KeyMapError
from drivers.keys.simulator import SimulatedKeyboard

WAIT = 5.0


class Screen(io.StringIO):
    """The terminal: tests wait for a line to appear instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self._cond = threading.Condition()

    def write(self, s: str) -> int:
        with self._cond:
            n = super().write(s)
            self._cond.notify_all()
            return n

    def wait_for(self, text: str) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: text in self.getvalue(), timeout=WAIT):
                pytest.fail(f"{text!r} never appeared; screen:\n{self.getvalue()}")


def parse(*argv: str) -> argparse.Namespace:
    """Parse as ``hall`` would, with only this subcommand registered (siblings may be mid-work)."""
    parser = argparse.ArgumentParser(prog="hall")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(list(argv))


def test_list_without_dev_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("keys", "list", "--input-dir", str(tmp_path / "none"))
    assert args.func(args) == 0
    assert "未发现输入设备" in capsys.readouterr().out


def test_list_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "event0").write_bytes(b"")
    args = parse("keys", "list", "--json", "--input-dir", str(tmp_path))
    assert args.func(args) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["path"] == str(tmp_path / "event0")


def run_in_thread(
    args: argparse.Namespace, keyboard: SimulatedKeyboard, screen: Screen
) -> tuple[threading.Thread, list[int]]:
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(run_test(args, opener=keyboard.open, out=screen))
    )
    thread.start()
    return thread, result


def test_key_test_prints_each_action_and_unmapped_keys() -> None:
    keyboard = SimulatedKeyboard()
    screen = Screen()
    args = parse("keys", "test", "--device", keyboard.path, "--map", "evaluator", "--count", "2")
    thread, result = run_in_thread(args, keyboard, screen)
    screen.wait_for("已连接")
    assert keyboard.grabbed
    keyboard.press("KEY_KP1")
    keyboard.press("KEY_Z")
    keyboard.press("KEY_F5")
    thread.join(WAIT)
    assert result == [0]
    lines = screen.getvalue().splitlines()
    assert lines[1:] == [
        "KEY_KP1 → rate_1 非常满意",
        "KEY_Z → （未配置动作）",
        "KEY_F5 → rate_5 非常不满意",
    ]
    assert not keyboard.grabbed


def test_key_test_with_a_map_file_and_a_scanner(tmp_path: Path) -> None:
    map_file = tmp_path / "window3.yaml"
    map_file.write_text("base: caller\nkeys:\n  KEY_KP9: logout\n", encoding="utf-8")
    keyboard = SimulatedKeyboard()
    screen = Screen()
    args = parse("keys", "test", "--device", keyboard.path, "--map", str(map_file), "--count", "1")
    thread, result = run_in_thread(args, keyboard, screen)
    screen.wait_for("已连接")
    keyboard.press("KEY_KP9")
    thread.join(WAIT)
    assert result == [0]
    assert "KEY_KP9 → logout 退出登录" in screen.getvalue()

    screen = Screen()
    args = parse("keys", "test", "--device", keyboard.path, "--map", "scanner", "--count", "1")
    thread, result = run_in_thread(args, keyboard, screen)
    screen.wait_for("已连接")
    keyboard.type_text("ABC-123")
    thread.join(WAIT)
    assert result == [0]
    assert "扫码: ABC-123  (7 字符)" in screen.getvalue()


def test_key_test_ends_after_seconds_when_the_device_is_absent() -> None:
    keyboard = SimulatedKeyboard(plugged=False)
    screen = Screen()
    args = parse("keys", "test", "--device", keyboard.path, "--seconds", "0.3")
    assert run_test(args, opener=keyboard.open, out=screen) == 0
    assert "设备未连接" in screen.getvalue()


def test_bad_map_argument_and_bad_map_file(tmp_path: Path) -> None:
    with pytest.raises(KeyMapError, match="neither one of caller, evaluator, scanner"):
        build_processor("evaluater")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"KEY_KPENTR": "call_next"}), encoding="utf-8")
    with pytest.raises(KeyMapError, match="did you mean KEY_KPENTER"):
        build_processor(str(bad))
