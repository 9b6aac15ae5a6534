"""The voice pack and the phrases: what is said for a call, and the joined WAV."""

from __future__ import annotations

import json
import re
import wave

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hall.ui.voice.clips import ALL_CLIPS, CLIPS, SAMPLE_RATE
from hall.ui.voice.generate import generate, main
from hall.ui.voice.pack import VoicePack, VoicePackError, read_wav
from hall.ui.voice.phrases import PhraseError, number, phrase_for_call, window_number

DIGITS = "零一二三四五六七八九"


def said(clips: list[str]) -> str:
    """The phrase as a person hears it (clip texts joined)."""
    return "".join(CLIPS[c].text.split("（")[0] for c in clips)


def test_a_call_is_chime_then_the_sentence_with_the_code_digit_by_digit():
    clips = phrase_for_call("A001", "3")
    assert clips == [
        "chime",
        "qing",
        "letter_a",
        "digit_0",
        "digit_0",
        "digit_1",
        "hao",
        "dao",
        "digit_3",
        "hao",
        "chuangkou",
        "banli",
    ]
    assert said(clips[1:]) == "请A零零一号到三号窗口办理"


def test_a_recall_says_again_and_repeat_setting_says_the_sentence_twice():
    recall = phrase_for_call("B012", "4", recall=True)
    assert recall[:3] == ["chime", "again", "letter_b"]  # 再次呼叫 in place of 请
    assert said(recall[1:]) == "再次呼叫B零一二号到四号窗口办理"
    twice = phrase_for_call("B012", "4", times=2)
    body = twice[1:]
    assert body[: len(body) // 2] == body[len(body) // 2 :]


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (1, "一"),
        (10, "十"),
        (12, "十二"),
        (20, "二十"),
        (21, "二十一"),
        (100, "一百"),
        (105, "一百零五"),
        (110, "一百一十"),
        (115, "一百一十五"),
        (999, "九百九十九"),
    ],
)
def test_window_numbers_are_read_as_numbers(n, words):
    assert said(number(n)) == words


def test_window_ids_that_are_not_numbers_are_spelled():
    assert window_number("A2") == ["letter_a", "digit_2"]
    with pytest.raises(PhraseError):
        phrase_for_call("A-01", "3")


@settings(max_examples=200, deadline=None)
@given(
    code=st.from_regex(r"[A-Z]{1,2}[0-9]{3,4}", fullmatch=True),
    window=st.integers(min_value=1, max_value=999),
)
def test_every_code_and_window_uses_declared_clips(code, window):
    clips = phrase_for_call(code, str(window))
    assert all(c in CLIPS for c in clips)
    digits = [c for c in clips if c.startswith("digit_")]
    assert len(digits) >= len(code) - 2


def test_the_generated_pack_has_every_clip_in_one_format_and_a_manifest(voice_pack):
    assert voice_pack.missing() == []
    for clip in ALL_CLIPS:
        with wave.open(str(voice_pack.path(clip.name)), "rb") as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (SAMPLE_RATE, 1, 2)
            assert w.getnframes() > SAMPLE_RATE // 20, f"{clip.name} is (nearly) silent"
    manifest = json.loads((voice_pack.directory / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["clips"]) == set(CLIPS)
    assert manifest["clips"]["please_rate"]["text"] == "请对本次服务进行评价"
    assert "cmn" in manifest["generator"]


def test_joining_clips_gives_one_wav_of_the_clips_and_pauses_in_order(voice_pack):
    clips = phrase_for_call("A001", "3")
    fmt, pcm = read_wav(voice_pack.join(clips))
    parts = [voice_pack.pcm(c) for c in clips]
    pauses = len(fmt.silence(voice_pack.chime_gap_ms)) + (len(clips) - 2) * len(
        fmt.silence(voice_pack.gap_ms)
    )
    assert len(pcm) == sum(map(len, parts)) + pauses
    assert pcm.startswith(parts[0])  # the chime first
    assert pcm.endswith(parts[-1])  # "办理" last
    assert pcm.find(parts[2]) > len(parts[0])  # "诶" after the chime


def test_generate_keeps_existing_clips_unless_forced(tmp_path):
    out = tmp_path / "pack"
    assert main([str(out), "--only", "qing", "chime"]) == 0
    recorded = out / "qing.wav"
    recorded.write_bytes(recorded.read_bytes())  # stand-in for a technician's recording
    before = recorded.stat().st_mtime_ns
    generate(out, only=["qing", "chime"])
    assert recorded.stat().st_mtime_ns == before
    generate(out, only=["qing"], force=True)
    assert recorded.stat().st_mtime_ns != before


def test_a_missing_or_wrong_clip_says_which_file_and_what_to_do(tmp_path, voice_pack):
    pack = VoicePack(tmp_path)
    with pytest.raises(VoicePackError, match="make voice") as missing:
        pack.join(["chime"])
    assert missing.value.clip == "chime"
    with wave.open(str(tmp_path / "qing.wav"), "wb") as w:  # a recording at 44.1 kHz stereo
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(b"\0\0\0\0" * 100)
    with pytest.raises(VoicePackError, match=re.escape("sox IN.wav -r 22050 -c 1 -b 16 qing.wav")):
        pack.pcm("qing")
