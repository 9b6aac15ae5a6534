"""Build the default voice pack: ``python -m hall.ui.voice.generate DIR [--force]``.

One WAV per clip of ``hall.ui.voice.clips`` (22050 Hz, mono, 16-bit): speech
from espeak-ng (Mandarin, fed pinyin), silence trimmed and loudness
normalised with sox; the chime is a two-tone 叮咚 synthesised with sox.
Existing files are kept unless ``--force`` (a technician may have replaced
some with recordings); a clip still as this generator made it (its checksum in
``manifest.json``) but with other settings (``STYLE``) is remade.
``manifest.json`` lists every clip with its text, length and checksum.  Files
are written to a temporary name and renamed, so an interrupted build never
leaves half a clip.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import wave
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hall.core.files import atomic_write
from hall.ui.voice.clips import ALL_CLIPS, CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH, Clip

log = logging.getLogger(__name__)

PINYIN_VOICE = "cmn-latn-pinyin"  # reads pinyin as Mandarin (see clips.py on the cmn voice)
FALLBACK_VOICE = "cmn"
TIMEOUT_S = 30.0
# How fast the default voice speaks: espeak-ng's words per minute (1.43x the old 150),
# then sox's tempo (pitch kept): the 12 syllables of a call in about 2.8 s, 4.3 a
# second, an ordinary Mandarin pace (espeak-ng drags isolated syllables); the tests
# bound each announcement's length.
SPEED_WPM = 215
TEMPO = 1.1
# Silence trimmed off both ends: quieter than this for longer than 10 ms.
TRIM = ("1", "0.01", "1%")
# What makes the clips; a clip made with other settings is remade (a recording is kept).
STYLE = f"espeak-ng -s {SPEED_WPM}; sox tempo {TEMPO}; trim {TRIM[2]}; chime 0.16+0.26 s"


class GenerateError(RuntimeError):
    """A tool is missing or failed; says which and how to fix it."""


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if not path:
        raise GenerateError(f"{name} is not installed: apt-get install {package}")
    return path


def _run(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise GenerateError(f"{cmd[0]} did not finish within {TIMEOUT_S:.0f}s: {cmd}") from None
    if done.returncode != 0:
        raise GenerateError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def pick_voice(espeak: str) -> str:
    """The Mandarin voice that reads pinyin as Mandarin, if this espeak-ng has it."""
    voices = _run([espeak, "--voices=cmn"]) + _run([espeak, "--voices=zh"])
    names = {line.split()[1].lower() for line in voices.splitlines()[1:] if line.split()}
    if PINYIN_VOICE in names:
        return PINYIN_VOICE
    if FALLBACK_VOICE in names:
        return FALLBACK_VOICE
    raise GenerateError("espeak-ng has no Mandarin voice (cmn): apt-get install espeak-ng-data")


def _sox_format() -> list[str]:
    return [
        "-r",
        str(SAMPLE_RATE),
        "-c",
        str(CHANNELS),
        "-b",
        str(SAMPLE_WIDTH * 8),
        "-e",
        "signed-integer",
    ]


def _tone(sox: str, out: Path, seconds: float, hz: float) -> None:
    """A struck-bar tone: the note and its octave, a 5 ms attack, then a fade to silence."""
    _run(
        [
            sox,
            "-n",
            *_sox_format(),
            str(out),
            "synth",
            f"{seconds}",
            "sine",
            f"{hz}",
            "sine",
            f"{hz * 2}",
            "remix",
            "-",
            "fade",
            "q",
            "0.005",
            f"{seconds}",
            f"{seconds * 0.9:.3f}",
            "gain",
            "-8",
        ]
    )


def make_chime(sox: str, out: Path, work: Path) -> None:
    """叮咚: a high tone then a lower one, about 0.4 s (a short prompt, not a melody)."""
    ding, dong = work / "ding.wav", work / "dong.wav"
    _tone(sox, ding, 0.16, 784)
    _tone(sox, dong, 0.26, 659.25)
    _run([sox, str(ding), str(dong), *_sox_format(), str(out), "norm", "-3"])


def make_speech(espeak: str, sox: str, voice: str, clip: Clip, out: Path, work: Path) -> None:
    raw = work / f"{clip.name}.raw.wav"
    text = clip.say if voice == PINYIN_VOICE else clip.text.split("（")[0]
    _run([espeak, "-v", voice, "-s", str(SPEED_WPM), "-w", str(raw), text])
    # Trim leading and trailing silence, speed up keeping the pitch, normalise, and fade
    # the ends by 5 ms so clips joined without pauses do not click; the pack's format.
    _run(
        [
            sox,
            str(raw),
            *_sox_format(),
            str(out),
            "silence",
            *TRIM,
            "fade",
            "t",
            "0.005",
            "reverse",
            "silence",
            *TRIM,
            "fade",
            "t",
            "0.005",
            "reverse",
            "tempo",
            "-s",
            str(TEMPO),
            "norm",
            "-3",
        ]
    )


def _describe(path: Path, clip: Clip) -> dict[str, object]:
    data = path.read_bytes()
    with wave.open(str(path), "rb") as w:
        frames, rate = w.getnframes(), w.getframerate()
    return {
        "file": path.name,
        "text": clip.text,
        "kind": clip.kind,
        "duration_ms": round(frames * 1000 / rate),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def _made_with_other_style(target: Path) -> set[str]:
    """Clips this generator made with other settings (a file replaced by a recording is not)."""
    try:
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("style") == STYLE:
            return set()
        listed = manifest["clips"]
        return {
            name
            for name, entry in listed.items()
            if (target / f"{name}.wav").is_file()
            and hashlib.sha256((target / f"{name}.wav").read_bytes()).hexdigest()
            == entry.get("sha256")
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()  # no manifest or not ours: keep every file


def generate(
    directory: str | Path, *, force: bool = False, only: Sequence[str] | None = None
) -> dict[str, object]:
    """Create missing clips in ``directory`` (all of them with ``force``); returns the manifest."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    espeak, sox = _tool("espeak-ng", "espeak-ng"), _tool("sox", "sox")
    voice = pick_voice(espeak)
    clips = [c for c in ALL_CLIPS if only is None or c.name in only]
    unknown = set(only or ()) - {c.name for c in ALL_CLIPS}
    if unknown:
        raise GenerateError(f"unknown clips {sorted(unknown)}")
    stale = _made_with_other_style(target)
    todo = [
        c for c in clips if force or c.name in stale or not (target / f"{c.name}.wav").is_file()
    ]
    with tempfile.TemporaryDirectory(prefix="hall-voice-") as tmp:
        work = Path(tmp)

        def build(clip: Clip) -> None:
            part = work / f"{clip.name}.wav"
            if clip.kind == "chime":
                make_chime(sox, part, work)
            else:
                make_speech(espeak, sox, voice, clip, part, work)
            atomic_write(target / f"{clip.name}.wav", part.read_bytes())

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for _ in pool.map(build, todo):
                pass
    version = _run([espeak, "--version"]).strip()
    manifest: dict[str, object] = {
        "pack": "default",
        "generator": f"{version}; voice {voice}; sox",
        "style": STYLE,
        "format": {"rate": SAMPLE_RATE, "channels": CHANNELS, "bits": SAMPLE_WIDTH * 8},
        "clips": {
            c.name: _describe(target / f"{c.name}.wav", c)
            for c in ALL_CLIPS
            if (target / f"{c.name}.wav").is_file()
        },
    }
    atomic_write(
        target / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1) + "\n"
    )
    log.info("voice pack %s: %d clips made, %d kept", target, len(todo), len(clips) - len(todo))
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hall.ui.voice.generate",
        description="build the default voice pack with espeak-ng",
    )
    parser.add_argument("directory", help="where to write the clips (assets/voice/default)")
    parser.add_argument("--force", action="store_true", help="remake clips that exist")
    parser.add_argument("--only", nargs="+", metavar="CLIP", help="just these clips")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        manifest = generate(args.directory, force=args.force, only=args.only)
    except GenerateError as exc:
        print(f"voice pack: error: {exc}", file=sys.stderr)
        return 1
    clips = manifest["clips"]
    assert isinstance(clips, dict)
    print(f"voice pack {args.directory}: {len(clips)} clips")
    return 0


if __name__ == "__main__":
    sys.exit(main())
