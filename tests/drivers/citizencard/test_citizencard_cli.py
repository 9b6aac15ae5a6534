"""``hall citizencard`` as a technician runs it: exit codes, JSON, messages."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from drivers.citizencard import CitizenCardReader, wait_for_card
from drivers.citizencard.cli import register
from drivers.citizencard.pcscd import PcscdProcess
from drivers.citizencard.vcard import CardContents, Mode, VirtualCard

pytestmark = pytest.mark.pcsc

ROOT = Path(__file__).resolve().parents[3]
InsertCard = Callable[..., VirtualCard]


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """``hall citizencard ARGS`` in-process: the same parser and functions, no new interpreter."""

    def run(*args: str) -> Run:
        parser = argparse.ArgumentParser(prog="hall")
        register(parser.add_subparsers(dest="command"))
        namespace = parser.parse_args(["citizencard", *args])
        capsys.readouterr()
        code = namespace.func(namespace)
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def hall(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """The real console entry point, in a child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "hall.cli", "citizencard", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_read_json_full_data(insert: InsertCard, reader_name: str) -> None:
    insert()
    result = hall("read", "--reader", reader_name, "--json", "--unmasked")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "card_number": "T00000001",
        "region": "320100",
        "ssn": "110101199001010015",
        "name": "张三",
    }
    assert "仅供技术人员在设备旁核对" in result.stderr and "warning: --unmasked" in result.stderr


def test_read_masked_and_as_text(insert: InsertCard, cli: Callable[..., Run]) -> None:
    insert()
    masked = {
        "card_number": "T*****001",
        "region": "320100",
        "ssn": "1101**********0015",
        "name": "张*",
    }
    for flags in ([], ["--mask"]):  # masked by default; --mask stays accepted
        result = cli("read", "--json", *flags)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == masked
        assert "110101199001010015" not in result.stdout + result.stderr
        assert "T00000001" not in result.stdout + result.stderr
        assert "warning" not in result.stderr

    text = cli("read")
    assert text.returncode == 0, text.stderr
    assert "card number: T*****001" in text.stdout
    assert "name:        张*" in text.stdout
    assert "张三" not in text.stdout

    full = cli("read", "--unmasked")
    assert full.returncode == 0, full.stderr
    assert "card number: T00000001" in full.stdout
    assert "SSN:         110101199001010015" in full.stdout
    assert "name:        张三" in full.stdout
    assert "警告" in full.stderr and "warning: --unmasked" in full.stderr


def test_read_through_hall_is_masked_by_default_and_full_when_asked(
    insert: InsertCard, reader_name: str
) -> None:
    """The real ``hall`` process (whose output is masked as a whole): a holder with a
    compound surname and an X check character."""
    contents = CardContents(name="欧阳小明", ssn="11010119900307002X", card_number="T00000002")
    insert(contents)
    masked = hall("read", "--reader", reader_name)
    assert masked.returncode == 0, masked.stderr
    assert (
        "name:        欧阳**" in masked.stdout
        and "SSN:         1101**********002X" in masked.stdout
    )
    for secret in ("欧阳小明", "11010119900307002X", "T00000002"):
        assert secret not in masked.stdout + masked.stderr

    full = hall("read", "--reader", reader_name, "--json", "--unmasked")
    assert full.returncode == 0, full.stderr
    assert json.loads(full.stdout) == {
        "card_number": "T00000002",
        "region": "320100",
        "ssn": "11010119900307002X",
        "name": "欧阳小明",
    }
    assert "warning: --unmasked" in full.stderr
    assert "11010119900307002X" not in full.stderr


def test_read_refuses_mask_with_unmasked(cli: Callable[..., Run]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli("read", "--mask", "--unmasked")
    assert exited.value.code == 2


@pytest.mark.parametrize(
    ("mode", "code", "error", "user_message"),
    [
        (Mode.PIN_REQUIRED, 4, "PinRequired", "此卡需要输入密码，请到人工窗口办理"),
        (Mode.WRONG_CARD, 5, "WrongCard", "此卡不是社会保障卡/市民卡，请更换卡片"),
    ],
)
def test_read_errors(
    insert: InsertCard,
    cli: Callable[..., Run],
    mode: Mode,
    code: int,
    error: str,
    user_message: str,
) -> None:
    insert(mode=mode)
    result = cli("read", "--json")
    assert result.returncode == code
    out = json.loads(result.stdout)
    assert out["error"] == error
    assert out["exit_code"] == code
    assert out["user_message"] == user_message
    assert user_message in result.stderr


def test_read_no_card(vcard: VirtualCard, cli: Callable[..., Run]) -> None:
    result = cli("read", "--timeout", "0.3")
    assert result.returncode == 2
    assert "请插入社会保障卡/市民卡" in result.stderr
    assert "no card in" in result.stderr
    assert result.stdout == ""


def test_read_no_such_reader(reader_name: str) -> None:
    result = hall("read", "--reader", "ACS ACR39U", "--timeout", "0.1")
    assert result.returncode == 3
    assert "no reader matches 'ACS ACR39U'" in result.stderr
    assert "systemctl status pcscd" in result.stderr


def test_readers(insert: InsertCard, reader_name: str, cli: Callable[..., Run]) -> None:
    insert()
    result = cli("readers", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["reader"]: row for row in json.loads(result.stdout)}
    assert rows[reader_name]["card"] is True
    assert rows[reader_name]["atr"] == "3B6C0000" + b"HALL-SSC-SIM".hex().upper()
    text = cli("readers").stdout
    assert f"{reader_name}: card present (ATR 3B6C0000" in text


def test_vcard_command_runs_a_card_until_sigterm(
    vcard: VirtualCard, reader_name: str, pcscd: PcscdProcess
) -> None:
    """The demo's standalone virtual card (the fixture's card stays out), on the tests' vpcd."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["vcard", "--name", "李四", "--ssn", "11010119900307002X", "--card-number", "T00000002"]
    args += ["--port", str(pcscd.vpcd_port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "hall.cli", "citizencard", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        card = CitizenCardReader(reader_name).read(timeout=10)
        assert card.to_json_dict(mask=False) == {
            "card_number": "T00000002",
            "region": "320100",
            "ssn": "11010119900307002X",
            "name": "李四",
        }
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert f"virtual card (normal) in the vpcd reader at 127.0.0.1:{pcscd.vpcd_port}" in out
    assert wait_for_card(reader_name, present=False, timeout=5)
