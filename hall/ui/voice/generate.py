"""Build the default voice pack: ``python -m hall.ui.voice.generate DIR [--force]``.

One WAV per clip of ``hall.ui.voice.clips`` (22050 Hz, mono, 16-bit): speech
from espeak-ng (Mandarin, fed pinyin), silence trimmed and loudness
normalised with sox; the chime is a two-tone 叮咚 synthesised with sox.
Existing files are kept unless ``--force`` (a technician may have replaced
some with recordings).  ``manifest.json`` lists every clip with its text,
length and checksum.  Files are written to a temporary name and renamed, so
an interrupted build never leaves half a clip.
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


def make_chime(sox: str, out: Path, work: Path) -> None:
    """叮咚: a high tone then a lower one, each fading out like a struck bar."""
    ding, dong = work / "ding.wav", work / "dong.wav"
    _run(
        [
            sox,
            "-n",
            *_sox_format(),
            str(ding),
            "synth",
            "0.45",
            "sine",
            "784",
            "sine",
            "1568",
            "remix",
            "-",
            "fade",
            "q",
            "0.005",
            "0.45",
            "0.42",
            "gain",
            "-8",
        ]
    )
    _run(
        [
            sox,
            "-n",
            *_sox_format(),
            str(dong),
            "synth",
            "0.8",
            "sine",
            "659.25",
            "sine",
            "1318.5",
            "remix",
            "-",
            "fade",
            "q",
            "0.005",
            "0.8",
            "0.75",
            "gain",
            "-8",
        ]
    )
    _run([sox, str(ding), str(dong), *_sox_format(), str(out), "norm", "-3"])


def make_speech(espeak: str, sox: str, voice: str, clip: Clip, out: Path, work: Path) -> None:
    raw = work / f"{clip.name}.raw.wav"
    text = clip.say if voice == PINYIN_VOICE else clip.text.split("（")[0]
    _run([espeak, "-v", voice, "-s", "150", "-w", str(raw), text])
    # Trim leading and trailing silence, then normalise; output in the pack's format.
    _run(
        [
            sox,
            str(raw),
            *_sox_format(),
            str(out),
            "silence",
            "1",
            "0.02",
            "0.5%",
            "reverse",
            "silence",
            "1",
            "0.02",
            "0.5%",
            "reverse",
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
    todo = [c for c in clips if force or not (target / f"{c.name}.wav").is_file()]
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
