"""Discovery: listing /dev/input without failing, guessing kinds, resolving specs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from evdev import ecodes

from drivers.keys.discovery import find_devices, guess_kind, locate
from drivers.keys.errors import KeyDeviceError

LETTERS = [ecodes.ecodes[f"KEY_{c}"] for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
KEYPAD = [ecodes.ecodes[f"KEY_KP{d}"] for d in range(10)] + [ecodes.KEY_KPENTER]


def test_no_input_dir_means_no_devices(tmp_path: Path) -> None:
    assert find_devices(str(tmp_path / "no-such-dir")) == []


def test_a_node_that_cannot_be_opened_is_listed_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "event3").write_bytes(b"")  # not an input device: the ioctl fails
    (tmp_path / "by-id").mkdir()
    link = tmp_path / "by-id" / "usb-Newland_NLS-event-kbd"
    link.symlink_to(tmp_path / "event3")
    [device] = find_devices(str(tmp_path))
    assert device.path == str(tmp_path / "event3")
    assert device.error
    assert device.by_id == (str(link),)


@pytest.mark.parametrize(
    ("name", "keys", "kind"),
    [
        ("Newland NLS-HR22 USB Barcode Scanner", LETTERS, "scanner"),
        ("Honeywell Imaging", LETTERS, "scanner"),
        ("USB Evaluator", [], "evaluator"),
        ("服务评价器", [], "evaluator"),
        ("Generic USB Numeric Keypad", LETTERS, "keypad"),
        ("SIGMACHIP USB Keyboard", LETTERS + KEYPAD, "keyboard"),
        ("HID 1a2c:0e24", [*KEYPAD, ecodes.KEY_NUMLOCK], "keypad"),
        ("HID 0483:5750", [ecodes.ecodes[f"KEY_F{i}"] for i in range(1, 6)], "evaluator"),
        ("Power Button", [ecodes.KEY_POWER], "other"),
        ("Logitech Mouse", [ecodes.BTN_LEFT, ecodes.BTN_RIGHT], "other"),
    ],
)
def test_guess_kind(name: str, keys: list[int], kind: str) -> None:
    assert guess_kind(name, keys) == kind


def test_locate_by_id_prefers_the_keyboard_interface(tmp_path: Path) -> None:
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    for suffix, target in (("event-if01", "event5"), ("event-kbd", "event4")):
        (tmp_path / target).write_bytes(b"")
        (by_id / f"usb-PingJia_5Key-{suffix}").symlink_to(tmp_path / target)
    path = locate("by-id:pingjia", str(tmp_path))
    assert path == str(by_id / "usb-PingJia_5Key-event-kbd")
    assert os.path.realpath(path) == str(tmp_path / "event4")


def test_locate_explains_what_to_check(tmp_path: Path) -> None:
    with pytest.raises(KeyDeviceError) as info:
        locate("by-id:scanner", str(tmp_path))
    assert "is it plugged in?" in str(info.value)
    assert info.value.user_message.startswith("按键设备未连接")
    with pytest.raises(KeyDeviceError, match="not present"):
        locate(str(tmp_path / "hall-evaluator"))
    with pytest.raises(KeyDeviceError, match="no input device named"):
        locate("name:evaluator", str(tmp_path))
