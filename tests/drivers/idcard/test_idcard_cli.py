"""``hall idcard read|status|sim``: exit codes, JSON, messages a technician reads."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.idcard import cli
from drivers.idcard.sim import SamSimulator, make_card

ROOT = Path(__file__).resolve().parents[3]
BASE_KEYS = {
    "card_type",
    "name",
    "sex",
    "nation",
    "birth",
    "address",
    "id_number",
    "authority",
    "valid_from",
    "valid_to",
}


def run(argv: list[str]) -> int:
    """Parse ``hall idcard ...`` with this module's own register() and run it."""
    parser = argparse.ArgumentParser(prog="hall")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["idcard", *argv])
    return int(args.func(args))


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SamSimulator]:
    with SamSimulator(link_path=tmp_path / "hall-idcard") as s:
        yield s


def test_read_json_unmasked(sim: SamSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    sim.insert(make_card())
    assert run(["read", "--port", str(sim.link_path), "--json", "--unmasked"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert set(out) >= BASE_KEYS
    assert out["name"] == "张三" and out["id_number"] == make_card().id_number
    assert out["nation"] == "汉" and out["sex"] == "男"
    assert "警告" in captured.err and "warning: --unmasked" in captured.err


def test_read_json_permit_has_pass_number_and_issue_count(
    sim: SamSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.insert(make_card("permit"))
    assert run(["read", "--port", str(sim.link_path), "--json", "--unmasked"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert BASE_KEYS | {"pass_number", "issue_count"} <= set(out)
    assert (out["pass_number"], out["issue_count"]) == ("H12345678", 1)


def test_read_masked_by_default_and_with_the_old_mask_flag(
    sim: SamSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    card = make_card()
    sim.insert(card)
    outputs = []
    for flags in ([], ["--mask"]):
        assert run(["read", "--port", str(sim.link_path), "--json", *flags]) == 0
        captured = capsys.readouterr()
        assert "warning" not in captured.err
        outputs.append(captured.out)
    assert outputs[0] == outputs[1]
    text = outputs[0]
    assert card.id_number not in text and "张三" not in text
    assert json.loads(text)["id_number"] == "1101**********" + card.id_number[-4:]


def test_read_human_readable(sim: SamSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    sim.insert(make_card())
    assert run(["read", "--port", str(sim.link_path)]) == 0
    out = capsys.readouterr().out
    assert "姓名 name: 张*" in out and "民族 nation: 汉" in out
    assert run(["read", "--port", str(sim.link_path), "--unmasked"]) == 0
    out = capsys.readouterr().out
    assert "姓名 name: 张三" in out and "住址 address: 北京市东城区示例街道测试路1号" in out


# What each kind of card must not show by default, and what it shows masked.
PERSONAL = {
    "resident": ("name", "id_number", "address", "birth"),
    "permit": ("name", "id_number", "address", "birth", "pass_number"),
    "foreign": ("name", "english_name", "id_number", "birth"),
}


@pytest.mark.parametrize("kind", sorted(PERSONAL))
@pytest.mark.parametrize("as_json", [True, False])
def test_read_masks_every_kind_of_card(
    sim: SamSimulator, capsys: pytest.CaptureFixture[str], kind: str, as_json: bool
) -> None:
    card = make_card(kind)
    sim.insert(card)
    assert run(["read", "--port", str(sim.link_path), *(["--json"] if as_json else [])]) == 0
    captured = capsys.readouterr()
    full = card.to_json_dict(mask=False)
    for field in PERSONAL[kind]:
        assert full[field], field
        assert str(full[field]) not in captured.out + captured.err, (kind, field)
    if as_json:
        out = json.loads(captured.out)
        assert (
            out["id_number"]
            == full["id_number"][:4] + "*" * (len(full["id_number"]) - 8) + (full["id_number"][-4:])
        )
        assert out["name"] == card.name[0] + "*" * (len(card.name) - 1)
        assert out["birth"] == card.birth[:4] + "****"
        assert out["valid_from"] == card.valid_from and out["sex"] == card.sex  # not personal
        if kind == "permit":
            assert out["pass_number"] == "H*****678" and out["issue_count"] == 1
        if kind == "foreign":
            assert out["english_name"] == "T**** J*** S*****" and out["nationality"] == "USA"


def test_mask_and_unmasked_together_are_refused(
    sim: SamSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run(["read", "--port", str(sim.link_path), "--mask", "--unmasked"])
    assert exited.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_no_card_exit_2(sim: SamSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["read", "--port", str(sim.link_path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "未检测到身份证，请将身份证放在感应区" in captured.err
    assert "no card" in captured.err


def test_port_missing_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = str(tmp_path / "ttyNOPE")
    assert run(["read", "--port", port, "--json"]) == 3
    err = capsys.readouterr().err
    assert "未连接身份证读卡器" in err and port in err and "dialout" in err


def test_silent_reader_exit_4(sim: SamSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    sim.silence_next(3)
    assert run(["read", "--port", str(sim.link_path), "--timeout", "0.1"]) == 4
    assert "did not answer 'find'" in capsys.readouterr().err


def test_status_prints_the_sam_id(sim: SamSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["status", "--port", str(sim.link_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "port": str(sim.link_path),
        "status": "ok",
        "sam_id": "05.01-20200101-0000012345-0000067890",
    }


# --------------------------------------------------------------------------- real processes


def hall(*argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "hall.cli", *argv],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
        **kwargs,
    )


def test_sim_process_and_read_process(tmp_path: Path) -> None:
    """The demo path: ``hall idcard sim`` in one process, ``hall idcard read`` in another."""
    link = tmp_path / "hall-idcard"
    sim = subprocess.Popen(
        [sys.executable, "-m", "hall.cli", "idcard", "sim", "--link", str(link), "--insert"],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert sim.stdin is not None and sim.stdout is not None
    try:
        port = sim.stdout.readline().strip()
        assert port.startswith("/dev/pts/")
        assert os.path.realpath(link) == port

        done = hall("idcard", "read", "--port", str(link), "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["name"] == "张*"
        assert make_card().id_number not in done.stdout + done.stderr

        # the technician at the device: in full, through hall's masking of its output
        done = hall("idcard", "read", "--port", str(link), "--unmasked")
        assert done.returncode == 0, done.stderr
        assert f"证件号码 id_number: {make_card().id_number}" in done.stdout
        assert "姓名 name: 张三" in done.stdout
        assert "仅供技术人员在设备旁核对" in done.stderr and "warning: --unmasked" in done.stderr
        assert make_card().id_number not in done.stderr  # the log lines stay masked

        sim.stdin.write("remove\n")
        sim.stdin.flush()
        assert sim.stdout.readline().strip() == "ok: card removed"
        done = hall("idcard", "read", "--port", str(link))
        assert done.returncode == 2
        assert "未检测到身份证" in done.stderr

        sim.stdin.write("insert permit\n")
        sim.stdin.flush()
        assert sim.stdout.readline().startswith("ok: permit")
        done = hall("idcard", "read", "--port", str(link), "--json", "--mask")
        assert json.loads(done.stdout)["name"] == "李*"

        sim.stdin.write("quit\n")
        sim.stdin.flush()
        assert sim.wait(timeout=10) == 0
        assert not link.exists()
    finally:
        if sim.poll() is None:
            sim.kill()
            sim.wait(timeout=10)
        sim.stdin.close()
        sim.stdout.close()
        assert sim.stderr is not None
        sim.stderr.close()
