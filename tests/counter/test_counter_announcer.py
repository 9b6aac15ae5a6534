"""The announcer: calls are said one after another, in call order, none over another; one
too old is skipped (and counted); a box without sound carries on."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from hall.core.clock import FakeClock
from hall.ui.voice.announcer import Announcer, QtAudioOutput, SilentOutput
from hall.ui.voice.pack import read_wav
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
        "再次呼叫 A001 号到 3 号窗口办理",
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


# ------------------------------------------- several windows at once, with an injected clock


class HeldSpeaker:
    """The hall's speaker as the announcer sees it: each sound plays until the test says it
    ended (after moving the clock by the sound's length).  Records what was heard when."""

    def __init__(self, clock):
        self.clock = clock
        self.playing = None  # (wav, done) of the sound now playing
        self.heard: list[tuple[float, float, bytes]] = []  # (start, end, wav)
        self.overlaps = 0

    def play(self, wav, done):
        if self.playing is not None:
            self.overlaps += 1
        self.playing = (wav, done, self.clock.monotonic())

    def stop(self):
        self.playing = None

    def finish(self):
        """Let the sound play to its end: the clock moves by its length."""
        wav, done, start = self.playing
        fmt, pcm = read_wav(wav)
        self.clock.advance(fmt.duration_s(pcm))
        self.heard.append((start, self.clock.monotonic(), wav))
        self.playing = None
        done(True)


def _at(clock, seconds_ago=0.0):
    return (clock.now() - timedelta(seconds=seconds_ago)).isoformat(timespec="seconds")


def test_calls_from_six_windows_are_said_one_after_another_in_call_order(qtbot, voice_pack):
    clock = FakeClock(datetime(2026, 11, 23, 9, 30))
    speaker = HeldSpeaker(clock)
    announcer = Announcer(voice_pack, speaker, clock=clock)
    skipped = []
    announcer.skipped.connect(skipped.append)
    # six clerks press 呼叫 within two seconds; the events arrive in another order
    made = {w: _at(clock, seconds_ago=6 - int(w)) for w in "123456"}
    for window in ("1", "3", "2", "6", "4", "5"):
        announcer.announce_call(f"A00{window}", window, at=made[window], key=(window,))
    qtbot.waitUntil(lambda: speaker.playing is not None, timeout=5000)
    while len(speaker.heard) < 6:
        qtbot.waitUntil(lambda: speaker.playing is not None, timeout=5000)
        speaker.finish()
    assert [a.text for a in announcer.history] == [
        f"请 A00{w} 号到 {w} 号窗口办理" for w in "123456"
    ]
    assert speaker.overlaps == 0
    for (_, end, _), (start, _, _) in zip(speaker.heard, speaker.heard[1:], strict=False):
        assert start >= end  # each begins when the one before has ended
    assert [wav for *_, wav in speaker.heard] == [
        voice_pack.join(phrase_for_call(f"A00{w}", w)) for w in "123456"
    ]
    assert skipped == [] and announcer.skipped_count == 0
    assert clock.monotonic() - 1000.0 <= 6 * 3.5  # six calls said within 21 s


def test_a_call_whose_turn_comes_too_late_is_skipped_logged_and_counted(qtbot, voice_pack, caplog):
    clock = FakeClock(datetime(2026, 11, 23, 9, 30))
    speaker = HeldSpeaker(clock)
    announcer = Announcer(voice_pack, speaker, clock=clock, max_age_s=8.0)
    skipped = []
    announcer.skipped.connect(skipped.append)
    codes = [f"B0{n:02d}" for n in range(1, 6)]  # five calls at once: the last wait > 8 s
    for n, code in enumerate(codes):
        announcer.announce_call(code, str(n + 1), at=_at(clock))
    with caplog.at_level(logging.WARNING, logger="hall.ui.voice.announcer"):
        qtbot.waitUntil(lambda: speaker.playing is not None, timeout=5000)
        while speaker.playing is not None:
            speaker.finish()
            qtbot.waitUntil(
                lambda: speaker.playing is not None or not announcer.pending, timeout=5000
            )
    said = [a.text.split()[1] for a in announcer.history]
    assert said == codes[: len(said)] and 2 <= len(said) < len(codes)  # the first, in order
    assert [a.text.split()[1] for a in skipped] == codes[len(said) :]  # none simply lost
    assert announcer.skipped_count == len(skipped)
    assert speaker.overlaps == 0
    for start, _, _ in speaker.heard:
        assert start - 1000.0 <= 8.0  # nothing began more than 8 s after its call
    messages = [r.getMessage() for r in caplog.records if "skipped announcement" in r.getMessage()]
    assert len(messages) == len(skipped)
    assert "more than voice.max_age_s 8 s" in messages[0]


def test_a_call_delivered_late_is_skipped_at_once_and_a_skewed_clock_ages_from_arrival(
    qtbot, voice_pack
):
    clock = FakeClock(datetime(2026, 11, 23, 9, 30))
    announcer = Announcer(voice_pack, SilentOutput(), clock=clock)  # max_age_s 30 by default
    assert announcer.announce_call("A001", "1", at=_at(clock, seconds_ago=45)) is None
    assert announcer.skipped_count == 1 and announcer.pending == []
    # the engine's clock is hours away (a demo day): the call is new here, so it is said
    assert announcer.announce_call("A002", "2", at=_at(clock, seconds_ago=3 * 3600))
    assert announcer.announce_call("A003", "3", at="not a time") is not None
    qtbot.waitUntil(lambda: len(announcer.history) == 2, timeout=5000)
    assert announcer.skipped_count == 1


@pytest.mark.qt_log_ignore(*QT_AUDIO_NOISE)
def test_the_real_player_says_calls_in_call_order_whatever_order_they_arrive(qtbot, voice_pack):
    clock = FakeClock(datetime(2026, 11, 23, 9, 30))
    announcer = Announcer(voice_pack, QtAudioOutput(), clock=clock)
    started = []
    announcer.started.connect(lambda a: started.append(a.text))
    announcer.announce_call("C003", "6", at=_at(clock, seconds_ago=1))
    announcer.announce_call("C001", "6", at=_at(clock, seconds_ago=5))
    announcer.announce_call("C002", "6", at=_at(clock, seconds_ago=3))
    qtbot.waitUntil(lambda: len(announcer.history) == 3, timeout=30000)
    assert [t.split()[1] for t in started] == ["C001", "C002", "C003"]
