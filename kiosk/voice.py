"""Voice prompts for the kiosk's main steps, through a tiny adapter.

The kiosk names a clip (``welcome``, ``swipe_id``, ``take_ticket``,
``paper_out``, ``outside_hours`` ...) and :class:`VoicePrompts` plays it if it
can.  It prefers the voice pack and announcer of ``hall.ui.voice`` (the same
pack the windows use, played with QtMultimedia); without that pack, a clip
file ``<voice_dir>/<name>.wav`` is played with sox's ``play`` in a child
process.  Steps without a clip in the pack stay silent.  A missing voice pack,
player or sound card never stops the kiosk: the prompt is logged once and
skipped.  ``history`` keeps the clip names asked for (tests, diagnostics).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import subprocess

log = logging.getLogger(__name__)

DEFAULT_VOICE_DIR = Path(__file__).resolve().parents[1] / "assets" / "voice" / "default"
CLIPS = (
    "welcome",
    "choose_item",
    "swipe_id",
    "take_ticket",
    "paper_out",
    "outside_hours",
    "card_error",
    "already_have",
    "sorry",
    "green_channel",
)
Player = Callable[[str], None]


class VoicePrompts:
    def __init__(self, player: Player | None = None, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._player = player
        self.history: list[str] = []
        self._failed = False

    def say(self, clip: str) -> None:
        self.history.append(clip)
        if not self.enabled or self._player is None or self._failed:
            return
        try:
            self._player(clip)
        except Exception as exc:
            self._failed = True  # say it once; the kiosk goes on without voice
            log.warning("voice prompts off: playing %r failed: %s", clip, exc)

    def close(self) -> None:
        closer = getattr(self._player, "close", None)
        if callable(closer):
            closer()


class ClipFilePlayer:
    """Plays ``<dir>/<clip>.wav`` with sox's ``play``, one clip at a time."""

    def __init__(self, voice_dir: Path, program: str) -> None:
        self.voice_dir = voice_dir
        self.program = program
        self._proc: subprocess.Popen[bytes] | None = None
        self._missing: set[str] = set()

    def __call__(self, clip: str) -> None:
        path = self.voice_dir / f"{clip}.wav"
        if not path.exists():
            if clip not in self._missing:
                self._missing.add(clip)
                log.info("voice clip %s missing in %s", clip, self.voice_dir)
            return
        import subprocess  # with the first prompt, not before the kiosk's first frame

        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()  # a new step interrupts the old prompt
        self._proc = subprocess.Popen(
            [self.program, "-q", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def close(self) -> None:
        import subprocess

        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(2)
            except subprocess.TimeoutExpired:
                self._proc.kill()


# Kiosk prompts said with another clip of the pack when the pack has no own clip.
FALLBACK_CLIPS = {"card_error": "swipe_id"}


class PackVoicePlayer:
    """Plays kiosk prompts through ``hall.ui.voice`` (the pack and its QtMultimedia
    announcer); a new prompt interrupts the one still playing."""

    def __init__(self, pack: Any, announcer: Any) -> None:
        self.pack = pack
        self.announcer = announcer
        self._missing: set[str] = set()

    def __call__(self, clip: str) -> None:
        name = clip if self.pack.path(clip).is_file() else FALLBACK_CLIPS.get(clip, clip)
        if not self.pack.path(name).is_file():
            if clip not in self._missing:  # not every step has a clip: say nothing
                self._missing.add(clip)
                log.info("voice pack %s has no clip for %s", self.pack.directory, clip)
            return
        self.announcer.clear()
        self.announcer.say([name])

    def close(self) -> None:
        self.announcer.clear()


def _pack_player(voice_dir: Path) -> Player | None:
    """The hall's voice pack player (the windows' too), if the pack exists."""
    from hall.ui.voice.announcer import Announcer
    from hall.ui.voice.pack import VoicePack

    if not voice_dir.is_dir():
        return None
    try:
        pack = VoicePack(voice_dir)
        return PackVoicePlayer(pack, Announcer(pack))
    except Exception as exc:  # no audio backend, unreadable pack ...
        log.info("hall.ui.voice unusable for kiosk prompts: %s", exc)
        return None


def default_prompts(voice_dir: str | Path | None = None, *, enabled: bool = True) -> VoicePrompts:
    """Voice prompts from the voice pack, or silent ones when nothing can play."""
    if not enabled:
        return VoicePrompts(enabled=False)
    directory = Path(voice_dir) if voice_dir else DEFAULT_VOICE_DIR
    player = _pack_player(directory)
    if player is None:
        program = shutil.which("play")
        if program and directory.is_dir():
            player = ClipFilePlayer(directory, program)
        else:
            log.info("no voice pack at %s or no player: kiosk prompts are silent", directory)
    return VoicePrompts(player)
