"""The announcer: calls are said one after another, in order; a box without sound carries on."""

from __future__ import annotations

import logging

import pytest

from hall.ui.voice.announcer import Announcer, QtAudioOutput, SilentOutput
from hall.ui.voice.phrases import phrase_for_call

QT_AUDIO_NOISE = [
    r"Couldn't (load|resolve) ",  # QtMultimedia probing for pipewire / VA-API
    r"PulseAudioService",
    r"No audio device detected",
    r"QSoundEffect|QAudioSink",
]


def test_calls_are_said_in_order_each_as_one_joined_wav(qtbot, voice_pack):
    output = SilentOutput()
    announcer = Announcer(voice_pack, output)
    done = []
    announcer.finished.connect(lambda a, _played: done.append(a))
    announcer.announce_call("A001", "3")
    announcer.announce_call("B002", "4")
    announcer.announce_call("A001", "3", recall=True)
    assert len(announcer.pending) == 3  # nothing plays before the event loop runs
    qtbot.waitUntil(lambda: len(done) == 3, timeout=5000)
    assert [a.text for a in done] == [
        "请 A001 号到 3 号窗口办理",
        "请 B002 号到 4 号窗口办理",
        "再次呼叫 请 A001 号到 3 号窗口办理",
    ]
    assert output.played == [
        voice_pack.join(phrase_for_call("A001", "3")),
        voice_pack.join(phrase_for_call("B002", "4")),
        voice_pack.join(phrase_for_call("A001", "3", recall=True)),
    ]
    assert not announcer.busy and announcer.pending == []


def test_a_redelivered_call_event_is_said_once_but_a_recall_again(qtbot, voice_pack):
    announcer = Announcer(voice_pack, SilentOutput())
    key = ("A001", "3", 1, "2026-11-23T09:30:00+08:00")
    assert announcer.announce_call("A001", "3", key=key) is not None
    assert announcer.announce_call("A001", "3", key=key) is None
    assert announcer.announce_call("A001", "3", recall=True, key=(*key[:2], 2, key[3]))
    qtbot.waitUntil(lambda: len(announcer.history) == 2, timeout=5000)


def test_a_missing_clip_fails_that_call_only(qtbot, voice_pack, tmp_path, caplog):
    broken = type(voice_pack)(tmp_path)  # an empty folder: no clips at all
    announcer = Announcer(broken, SilentOutput())
    with qtbot.waitSignal(announcer.failed, timeout=1000) as failed:
        assert announcer.announce_call("A001", "3") is None
    assert "chime" in failed.args[0]
    assert announcer.pending == []


@pytest.mark.qt_log_ignore(*QT_AUDIO_NOISE)
def test_playback_without_a_sound_device_logs_once_and_keeps_the_queue_moving(
    qtbot, voice_pack, caplog
):
    announcer = Announcer(voice_pack, QtAudioOutput())
    results = []
    announcer.finished.connect(lambda a, played: results.append((a.text, played)))
    with caplog.at_level(logging.WARNING, logger="hall.ui.voice.announcer"):
        announcer.announce_call("A001", "3")
        announcer.announce_call("A002", "5")
        qtbot.waitUntil(lambda: len(results) == 2, timeout=20000)
    assert [t for t, _ in results] == ["请 A001 号到 3 号窗口办理", "请 A002 号到 5 号窗口办理"]
    if not any(played for _, played in results):  # this machine has no sound device
        warnings = [r for r in caplog.records if r.name == "hall.ui.voice.announcer"]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        assert "not heard" in warnings[0].getMessage()
