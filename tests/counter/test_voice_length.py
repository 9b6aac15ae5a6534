"""How long each announcement lasts with the default pack (a product requirement on length:
a call at most 3.5 s, a recall at most 4 s), measured from the pack's clips as the
announcer joins them; ``hall bench voice``; a recorded pack keeps working."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from hall.bench.voice import demo_codes_and_windows
from hall.ui.voice.clips import SAMPLE_RATE
from hall.ui.voice.generate import generate
from hall.ui.voice.measure import KINDS, length, lengths, phrase_of
from hall.ui.voice.pack import DEFAULT_PACK, VoicePack, read_wav

ROOT = Path(__file__).resolve().parents[2]
LIMIT_S = {"call": 3.5, "call_no_chime": 3.5, "recall": 4.0, "recall_no_chime": 4.0}


def test_the_default_pack_is_the_repositorys_assets_folder():
    assert DEFAULT_PACK == ROOT / "assets" / "voice" / "default"


def test_every_announcement_of_the_demo_hall_is_short_and_tightly_joined(voice_pack):
    codes, windows = demo_codes_and_windows()
    worst = lengths(voice_pack, codes, windows)
    assert worst["call"].code[0] in "ABCD" and worst["call"].window in windows
    for kind, limit in LIMIT_S.items():
        m = worst[kind]
        # what is measured is what is played: the joined WAV's own length
        fmt, pcm = read_wav(voice_pack.join(phrase_of(kind, m.code, m.window)))
        assert m.seconds == pytest.approx(fmt.duration_s(pcm), abs=0.001)
        assert m.seconds <= limit, f"{kind} {m.code}@{m.window}: {m.seconds} s > {limit} s"
        # not by saying nothing: 12 syllables or more are heard, and little is pause
        assert m.speech_s >= 2.0, f"{kind}: only {m.speech_s} s of speech"
        assert m.ratio <= 1.15, f"{kind}: {m.ratio:.2f}x its speech (pauses or silence left)"
    # the chime is short, but it is there
    assert 0.3 <= voice_pack.duration_s(["chime"]) <= 0.6
    assert worst["recall"].seconds - worst["call"].seconds < 0.6  # 再次呼叫 in place of 请


def test_the_issues_example_is_said_in_the_time_of_a_commercial_system(voice_pack):
    call = length(voice_pack, "call", "A001", "3")
    recall = length(voice_pack, "recall", "A001", "3")
    assert call.seconds <= 3.5 and recall.seconds <= 4.0
    assert call.seconds > length(voice_pack, "call_no_chime", "A001", "3").seconds


def test_a_recorded_pack_with_longer_clips_is_joined_as_it_is(voice_pack, tmp_path):
    recorded = tmp_path / "recorded"
    shutil.copytree(voice_pack.directory, recorded)
    (recorded / "manifest.json").unlink()  # a technician's folder of clips, no manifest
    pcm = voice_pack.pcm("banli")
    with wave.open(str(recorded / "banli.wav"), "wb") as w:  # a slower human 办理
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm + b"\0\0" * (SAMPLE_RATE // 2) + pcm)
    pack = VoicePack(recorded)
    longer = length(pack, "call", "A001", "3").seconds
    assert longer == pytest.approx(
        length(voice_pack, "call", "A001", "3").seconds + 0.5 + len(pcm) / 2 / SAMPLE_RATE,
        abs=0.002,
    )
    assert pack.manifest() is None


def test_clips_made_with_older_settings_are_remade_but_recordings_are_kept(tmp_path):
    out = tmp_path / "pack"
    generate(out, only=["qing", "hao"])
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["style"] = "espeak-ng -s 150; chime 1.25 s"  # as the build before this one
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (out / "hao.wav").write_bytes((out / "hao.wav").read_bytes() + b"\0\0")  # a recording
    qing_before = (out / "qing.wav").stat().st_mtime_ns
    hao_before = hashlib.sha256((out / "hao.wav").read_bytes()).hexdigest()
    os.utime(out / "qing.wav", ns=(0, 0))
    generate(out, only=["qing", "hao"])
    assert (out / "qing.wav").stat().st_mtime_ns not in (0, qing_before)  # remade
    assert hashlib.sha256((out / "hao.wav").read_bytes()).hexdigest() == hao_before  # kept


@pytest.mark.slow
def test_bench_voice_prints_one_line_with_each_kind_its_floor_and_ratio(voice_pack, tmp_path):
    settings = tmp_path / "counter.yaml"
    settings.write_text(f"voice: {{pack: {voice_pack.directory}}}\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "hall.cli", "bench", "voice"],
        cwd=ROOT,
        env={**os.environ, "HALL_COUNTER_SETTINGS": str(settings)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["bench"] == "voice" and result["pack"] == str(voice_pack.directory)
    codes, windows = demo_codes_and_windows()
    worst = lengths(voice_pack, codes, windows)
    assert result["longest"] == {"code": worst["call"].code, "window": worst["call"].window}
    for kind, _, _ in KINDS:
        assert result[f"{kind}_s"] == worst[kind].seconds <= LIMIT_S[kind]
        assert 0 < result[f"{kind}_floor_s"] <= result[f"{kind}_s"]
        assert result[f"{kind}_floor_ratio"] >= 1.0
    assert result["a001_w3_call_s"] <= result["call_s"]
