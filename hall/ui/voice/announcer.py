"""``Announcer``: queue calls and say them, one after another, with QtMultimedia.

Each announcement is one WAV joined from the pack's clips (no gaps between
players); announcements play strictly in the order they were asked for, and
a recall is announced again ("再次呼叫 ...").  Calls from several windows wait
their turn in call order (the event's ``at``), none dropped and none over
another; one older than ``max_age_s`` when its turn comes (or when it
arrives) is skipped, logged and counted (``skipped``) rather than said late.
Ages come from an injected clock.  Playing goes through an
``AudioOutput``: ``QtAudioOutput`` (a ``QAudioSink`` on the default device)
on a real device, ``SilentOutput`` where this device is not the hall's
speaker.  A box without a sound device logs that once and carries on: the
queue still advances, so the screens and the tests see the same order.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from hall.core.clock import Clock, SystemClock
from hall.ui.qt import QObject, QtCore, QTimer, Signal
from hall.ui.voice.pack import VoicePack, VoicePackError, read_wav
from hall.ui.voice.phrases import PhraseError, phrase_for_call

__all__ = [
    "Announcement",
    "Announcer",
    "AudioOutput",
    "QtAudioOutput",
    "SilentOutput",
    "phrase_for_call",
]

log = logging.getLogger(__name__)

Done = Callable[[bool], None]  # done(played)


@dataclass(frozen=True)
class Announcement:
    text: str  # what is said, for screens and logs: "请 A001 号到 3 号窗口办理"
    clips: tuple[str, ...]
    wav: bytes
    key: tuple[Any, ...] = ()  # identifies a call, so a redelivered event is said once
    asked: float = 0.0  # the clock's monotonic seconds when it was queued
    at: datetime | None = None  # when the call was made (the engine's event), if known


MAX_AGE_S = 30.0  # a call not said within this long is skipped (voice.max_age_s)
#: An event time further than this from this device's clock (either way) means the clocks
#: disagree (a demo day, a device without time sync): the call then ages from its arrival.
CLOCK_SKEW_S = 300.0
MAX_PENDING = 64  # beyond this a flood is refused (a hall never has so many calls in 30 s)


def parse_at(value: object, clock: Clock) -> datetime | None:
    """The event's ``at`` (ISO 8601) as an aware time; None when absent or not a time."""
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str) and len(value) <= 40:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=clock.now().tzinfo)


class AudioOutput(Protocol):
    def play(self, wav: bytes, done: Done) -> None:
        """Start playing; call ``done(played)`` on the GUI thread when finished or failed."""

    def stop(self) -> None: ...


class SilentOutput:
    """Plays nothing and finishes at once (a device that is not the speaker; the tests)."""

    def __init__(self) -> None:
        self.played: list[bytes] = []

    def play(self, wav: bytes, done: Done) -> None:
        self.played.append(wav)
        QTimer.singleShot(0, lambda: done(False))

    def stop(self) -> None:
        return None


class QtAudioOutput(QObject):
    """Plays a WAV through ``QAudioSink`` on the default output device."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sink: Any = None
        self._buffer: Any = None
        self._done: Done | None = None
        self._guard = QTimer(self)
        self._guard.setSingleShot(True)
        self._guard.timeout.connect(lambda: self._finish(False, "playback did not end in time"))
        self._warned: set[str] = set()

    def _warn_once(self, what: str, message: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            log.warning("%s; calls are shown but not heard", message)

    def play(self, wav: bytes, done: Done) -> None:
        from hall.ui.qt import qt_multimedia

        m = qt_multimedia()
        self._done = done
        fmt, pcm = read_wav(wav)
        device = m.QMediaDevices.defaultAudioOutput()
        if device.isNull():
            self._warn_once("device", "no audio output device found")
            QTimer.singleShot(0, lambda: self._finish(False, ""))
            return
        qfmt = m.QAudioFormat()
        qfmt.setSampleRate(fmt.rate)
        qfmt.setChannelCount(fmt.channels)
        qfmt.setSampleFormat(m.QAudioFormat.SampleFormat.Int16)
        if fmt.width != 2 or not device.isFormatSupported(qfmt):
            self._warn_once(
                "format",
                f"audio device {device.description()!r} cannot play "
                f"{fmt.rate} Hz/{fmt.channels} ch/{fmt.width * 8} bit",
            )
            QTimer.singleShot(0, lambda: self._finish(False, ""))
            return
        self._buffer = QtCore.QBuffer(self)
        self._buffer.setData(QtCore.QByteArray(pcm))
        self._buffer.open(QtCore.QIODevice.OpenModeFlag.ReadOnly)
        self._sink = m.QAudioSink(device, qfmt, self)
        self._sink.stateChanged.connect(self._on_state)
        self._guard.start(int(fmt.duration_s(pcm) * 1000) + 3000)
        self._sink.start(self._buffer)

    def _on_state(self, state: Any) -> None:
        from hall.ui.qt import qt_multimedia

        m = qt_multimedia()
        if self._sink is None:
            return
        if state == m.QtAudio.State.IdleState:  # the buffer ran out: done
            self._finish(True, "")
        elif (
            state == m.QtAudio.State.StoppedState and self._sink.error() != m.QtAudio.Error.NoError
        ):
            self._finish(False, f"audio sink error {self._sink.error()}")

    def _finish(self, played: bool, problem: str) -> None:
        self._guard.stop()
        if problem:
            self._warn_once("sink", f"audio playback failed: {problem}")
        sink, self._sink = self._sink, None
        if sink is not None:
            sink.stateChanged.disconnect(self._on_state)
            sink.stop()
            sink.deleteLater()
        if self._buffer is not None:
            self._buffer.close()
            self._buffer.deleteLater()
            self._buffer = None
        done, self._done = self._done, None
        if done is not None:
            done(played)

    def stop(self) -> None:
        if self._sink is not None or self._done is not None:
            self._finish(False, "")


class Announcer(QObject):
    """Says calls in order.  ``started``/``finished`` carry the ``Announcement``."""

    started = Signal(object)
    finished = Signal(object, bool)  # (announcement, played)
    failed = Signal(str)  # a call that could not be said (missing clip ...)
    skipped = Signal(object)  # an announcement too old to be said (see ``max_age_s``)

    def __init__(
        self,
        pack: VoicePack,
        output: AudioOutput | None = None,
        *,
        times: int = 1,
        max_age_s: float = MAX_AGE_S,
        clock: Clock | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.pack = pack
        self.output: AudioOutput = output if output is not None else QtAudioOutput(self)
        self.times = times
        self.max_age_s = max_age_s
        self.clock: Clock = clock or SystemClock()
        self.skipped_count = 0  # announcements skipped as too old
        self.refused_count = 0  # announcements refused because MAX_PENDING were waiting
        self._skew_logged = False
        self._queue: deque[Announcement] = deque()
        self._current: Announcement | None = None
        self._recent_keys: deque[tuple[Any, ...]] = deque(maxlen=64)
        self.history: deque[Announcement] = deque(maxlen=100)
        self._bad_clips: set[str] = set()

    @property
    def pending(self) -> list[Announcement]:
        """Announcements waiting their turn (not the one playing)."""
        return list(self._queue)

    @property
    def busy(self) -> bool:
        return self._current is not None

    def announce_call(
        self,
        code: str,
        window: str,
        *,
        recall: bool = False,
        key: tuple[Any, ...] = (),
        at: object = None,
    ) -> Announcement | None:
        """Queue "请 <code> 号到 <window> 号窗口办理"; ``key`` drops a redelivered event.

        ``at`` is when the call was made (the event's ISO time): it places the call
        among those waiting and ages it; without it the call ages from now.
        """
        if key and key in self._recent_keys:
            log.debug("call %s at window %s already announced", code, window)
            return None
        try:
            clips = phrase_for_call(code, window, recall=recall, times=self.times)
        except PhraseError as exc:
            log.warning("cannot announce %s at window %s: %s", code, window, exc)
            self.failed.emit(str(exc))
            return None
        text = f"{'再次呼叫' if recall else '请'} {code} 号到 {window} 号窗口办理"
        if key:
            self._recent_keys.append(key)
        return self.say(clips, text=text, key=key, at=parse_at(at, self.clock))

    def age_s(self, announcement: Announcement) -> float:
        """Seconds since it was asked for, or since the call was made if that is longer."""
        age = self.clock.monotonic() - announcement.asked
        if announcement.at is not None:
            since_call = (self.clock.now() - announcement.at).total_seconds()
            if abs(since_call) <= CLOCK_SKEW_S:
                age = max(age, since_call)
            elif not self._skew_logged:
                self._skew_logged = True
                log.warning(
                    "call times are %.0f s away from this device's clock; "
                    "calls age from their arrival here",
                    since_call,
                )
        return age

    def _too_old(self, announcement: Announcement) -> bool:
        age = self.age_s(announcement)
        if age <= self.max_age_s:
            return False
        self.skipped_count += 1
        log.warning(
            "skipped announcement %r: %.0f s old, more than voice.max_age_s %.0f s "
            "(%d skipped so far)",
            announcement.text,
            age,
            self.max_age_s,
            self.skipped_count,
        )
        self.skipped.emit(announcement)
        return True

    def _enqueue(self, announcement: Announcement) -> None:
        """In call order: after every waiting one made at or before it (arrival order else)."""
        if announcement.at is None:
            self._queue.append(announcement)
            return
        for i, waiting in enumerate(self._queue):
            if waiting.at is not None and waiting.at > announcement.at:
                self._queue.insert(i, announcement)
                return
        self._queue.append(announcement)

    def say(
        self,
        clips: list[str],
        *,
        text: str = "",
        key: tuple[Any, ...] = (),
        at: datetime | None = None,
    ) -> Announcement | None:
        """Queue any clip sequence (the evaluator's "请对本次服务进行评价")."""
        try:
            wav = self.pack.join(clips)
        except VoicePackError as exc:
            if exc.clip not in self._bad_clips:
                self._bad_clips.add(exc.clip)
                log.error("%s", exc)
            self.failed.emit(str(exc))
            return None
        announcement = Announcement(
            text or " ".join(clips), tuple(clips), wav, key, self.clock.monotonic(), at
        )
        if self._too_old(announcement):  # delivered late (a link that was down)
            return None
        if len(self._queue) >= MAX_PENDING:
            self.refused_count += 1
            log.warning(
                "refused announcement %r: %d already waiting (%d refused so far)",
                announcement.text,
                len(self._queue),
                self.refused_count,
            )
            self.failed.emit(f"too many announcements waiting ({len(self._queue)})")
            return None
        self._enqueue(announcement)
        if self._current is None:
            QTimer.singleShot(0, self._next)
        return announcement

    def _next(self) -> None:
        if self._current is not None:
            return
        while self._queue and self._too_old(self._queue[0]):
            self._queue.popleft()
        if not self._queue:
            return
        self._current = self._queue.popleft()
        current = self._current
        log.info("announcing: %s", current.text)
        self.started.emit(current)
        self.output.play(current.wav, lambda played: self._done(current, played))

    def _done(self, announcement: Announcement, played: bool) -> None:
        if self._current is not announcement:
            return
        self._current = None
        self.history.append(announcement)
        self.finished.emit(announcement, played)
        self._next()

    def clear(self) -> None:
        """Drop what is queued and stop what plays (shutdown)."""
        self._queue.clear()
        self.output.stop()
        self._current = None
