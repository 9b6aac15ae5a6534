"""``Announcer``: queue calls and say them, one after another, with QtMultimedia.

Each announcement is one WAV joined from the pack's clips (no gaps between
players); announcements play strictly in the order they were asked for, and
a recall is announced again ("再次呼叫 ...").  Playing goes through an
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
from typing import Any, Protocol

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

    def __init__(
        self,
        pack: VoicePack,
        output: AudioOutput | None = None,
        *,
        times: int = 1,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.pack = pack
        self.output: AudioOutput = output if output is not None else QtAudioOutput(self)
        self.times = times
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
        self, code: str, window: str, *, recall: bool = False, key: tuple[Any, ...] = ()
    ) -> Announcement | None:
        """Queue "请 <code> 号到 <window> 号窗口办理"; ``key`` drops a redelivered event."""
        if key and key in self._recent_keys:
            log.debug("call %s at window %s already announced", code, window)
            return None
        try:
            clips = phrase_for_call(code, window, recall=recall, times=self.times)
        except PhraseError as exc:
            log.warning("cannot announce %s at window %s: %s", code, window, exc)
            self.failed.emit(str(exc))
            return None
        text = f"{'再次呼叫 ' if recall else ''}请 {code} 号到 {window} 号窗口办理"
        if key:
            self._recent_keys.append(key)
        return self.say(clips, text=text, key=key)

    def say(
        self, clips: list[str], *, text: str = "", key: tuple[Any, ...] = ()
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
        announcement = Announcement(text or " ".join(clips), tuple(clips), wav, key)
        self._queue.append(announcement)
        if self._current is None:
            QTimer.singleShot(0, self._next)
        return announcement

    def _next(self) -> None:
        if self._current is not None or not self._queue:
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
