"""How long each kind of announcement lasts, from a pack's clips (pure).

The lengths are those of the WAV the announcer plays (``VoicePack.join``: the
clips and the pauses between them).  The floor is the speech itself: the
10 ms frames of each clip louder than the silence threshold, added up, so
``length / floor`` says how much of an announcement is pause and trailing
sound.  ``hall bench voice`` prints these; the tests bound them.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from hall.ui.voice.pack import VoicePack
from hall.ui.voice.phrases import phrase_for_call

#: The announcement kinds: (name, recall, with the chime).
KINDS = (
    ("call", False, True),
    ("call_no_chime", False, False),
    ("recall", True, True),
    ("recall_no_chime", True, False),
)
FRAME_MS = 10
SILENCE = 0.01  # of full scale: a 10 ms frame whose peak stays below is silence


def phrase_of(kind: str, code: str, window: str, *, times: int = 1) -> list[str]:
    """The clips of ``kind`` (one of ``KINDS``) for ``code`` at ``window``."""
    recall, chime = next((r, c) for name, r, c in KINDS if name == kind)
    clips = phrase_for_call(code, window, recall=recall, times=times)
    return clips if chime else clips[1:]


def voiced_s(pack: VoicePack, name: str) -> float:
    """Seconds of ``name`` that are not silence (frames above ``SILENCE``)."""
    fmt = pack.format
    samples = array("h")
    samples.frombytes(pack.pcm(name))
    if sys.byteorder == "big":
        samples.byteswap()  # WAV is little-endian
    step = fmt.rate * FRAME_MS // 1000 * fmt.channels
    limit = SILENCE * 32767
    loud = sum(
        1
        for i in range(0, len(samples), step)
        if max(map(abs, samples[i : i + step]), default=0) > limit
    )
    return loud * FRAME_MS / 1000


@dataclass(frozen=True)
class Length:
    kind: str
    code: str
    window: str
    seconds: float  # as joined and played
    speech_s: float  # the clips' sound without silence: the floor

    @property
    def ratio(self) -> float:
        return self.seconds / self.speech_s if self.speech_s else 0.0


def length(pack: VoicePack, kind: str, code: str, window: str, *, times: int = 1) -> Length:
    clips = phrase_of(kind, code, window, times=times)
    return Length(
        kind,
        code,
        window,
        round(pack.duration_s(clips), 3),
        round(sum(voiced_s(pack, c) for c in clips), 3),
    )


def longest(pack: VoicePack, codes: Iterable[str], windows: Iterable[str]) -> tuple[str, str]:
    """The ticket code and the window that take longest to say with this pack's clips."""
    seconds: dict[str, float] = {}

    def said(clips: list[str]) -> float:
        for c in clips:
            if c not in seconds:
                seconds[c] = pack.format.duration_s(pack.pcm(c))
        return sum(seconds[c] for c in clips)

    code = max(codes, key=lambda c: said(phrase_for_call(c, "1")))
    window = max(windows, key=lambda w: said(phrase_for_call(code, w)))
    return code, window


def lengths(
    pack: VoicePack, codes: Iterable[str], windows: Iterable[str], *, times: int = 1
) -> dict[str, Length]:
    """Each kind's length for the longest code and window among ``codes`` and ``windows``."""
    code, window = longest(pack, codes, windows)
    return {kind: length(pack, kind, code, window, times=times) for kind, _, _ in KINDS}
