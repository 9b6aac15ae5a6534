"""A voice pack on disk and joining its clips into one WAV (pure: files in, bytes out).

Joining clips into a single buffer and playing it once avoids the gaps and
clicks of starting one player per clip.  Every clip of a pack must have the
same format (22050 Hz, mono, 16-bit PCM for the default pack); a recorded
clip in another format is refused with the ``sox`` command that converts it.
"""

from __future__ import annotations

import io
import json
import wave
from dataclasses import dataclass
from pathlib import Path

from hall.ui.voice.clips import CHANNELS, CLIPS, SAMPLE_RATE, SAMPLE_WIDTH

# hall/ui/voice/pack.py -> the repository root
DEFAULT_PACK = Path(__file__).resolve().parents[3] / "assets" / "voice" / "default"


class VoicePackError(RuntimeError):
    """A clip is missing or unusable; says which file and what to do."""

    user_message = "语音包不完整，请联系技术人员"

    def __init__(self, message: str, *, clip: str, path: Path, hint: str = "") -> None:
        self.clip = clip
        self.path = path
        self.hint = hint
        super().__init__(f"voice clip {clip!r} ({path}): {message}{'; ' + hint if hint else ''}")


@dataclass(frozen=True)
class AudioFormat:
    rate: int = SAMPLE_RATE
    channels: int = CHANNELS
    width: int = SAMPLE_WIDTH  # bytes per sample

    @property
    def frame_bytes(self) -> int:
        return self.channels * self.width

    def silence(self, ms: int) -> bytes:
        return b"\0" * (self.rate * ms // 1000) * self.frame_bytes

    def duration_s(self, pcm: bytes) -> float:
        return len(pcm) / (self.rate * self.frame_bytes)


def read_wav(data: bytes) -> tuple[AudioFormat, bytes]:
    """(format, PCM frames) of a WAV held in memory."""
    with wave.open(io.BytesIO(data), "rb") as w:
        fmt = AudioFormat(w.getframerate(), w.getnchannels(), w.getsampwidth())
        return fmt, w.readframes(w.getnframes())


def write_wav(fmt: AudioFormat, pcm: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(fmt.channels)
        w.setsampwidth(fmt.width)
        w.setframerate(fmt.rate)
        w.writeframes(pcm)
    return out.getvalue()


class VoicePack:
    """The clips in ``directory`` (``<name>.wav``), read once and kept in memory."""

    def __init__(
        self,
        directory: str | Path = DEFAULT_PACK,
        *,
        fmt: AudioFormat | None = None,
        gap_ms: int = 20,
        chime_gap_ms: int = 80,
    ) -> None:
        self.directory = Path(directory)
        self.format = fmt or AudioFormat()
        self.gap_ms = gap_ms
        self.chime_gap_ms = chime_gap_ms
        self._pcm: dict[str, bytes] = {}

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.wav"

    def manifest(self) -> dict[str, object] | None:
        path = self.directory / "manifest.json"
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None

    def missing(self) -> list[str]:
        """Declared clips without a file (a complete pack returns [])."""
        return [name for name in CLIPS if not self.path(name).is_file()]

    def pcm(self, name: str) -> bytes:
        if name in self._pcm:
            return self._pcm[name]
        path = self.path(name)
        if name not in CLIPS:
            raise VoicePackError("not a clip of the voice pack", clip=name, path=path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise VoicePackError(
                "missing",
                clip=name,
                path=path,
                hint="run `make voice` (default pack) or add the recorded clip",
            ) from None
        try:
            fmt, pcm = read_wav(data)
        except (wave.Error, EOFError) as exc:
            raise VoicePackError(f"not a PCM WAV file ({exc})", clip=name, path=path) from None
        if fmt != self.format:
            raise VoicePackError(
                f"format {fmt.rate} Hz/{fmt.channels} ch/{fmt.width * 8} bit, expected "
                f"{self.format.rate} Hz/{self.format.channels} ch/{self.format.width * 8} bit",
                clip=name,
                path=path,
                hint=f"convert it: sox IN.wav -r {self.format.rate} -c {self.format.channels} "
                f"-b {self.format.width * 8} {path.name}",
            )
        self._pcm[name] = pcm
        return pcm

    def joined_pcm(self, names: list[str]) -> bytes:
        """The PCM frames of ``names`` in order, a short pause between clips (the clips are
        trimmed: the pause is all the silence there is; a longer one after the chime)."""
        parts: list[bytes] = []
        for i, name in enumerate(names):
            if i:
                gap = self.chime_gap_ms if names[i - 1] == "chime" else self.gap_ms
                parts.append(self.format.silence(gap))
            parts.append(self.pcm(name))
        return b"".join(parts)

    def join(self, names: list[str]) -> bytes:
        """One WAV file (bytes) saying ``names`` in order, with short pauses between clips."""
        return write_wav(self.format, self.joined_pcm(names))

    def duration_s(self, names: list[str]) -> float:
        """How long ``names`` last joined, as the announcer plays them."""
        return self.format.duration_s(self.joined_pcm(names))
