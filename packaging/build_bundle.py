"""``make bundle``: one file that installs every hall-edge role on a blank Debian 12 box
with no network (``hall-edge-<version>-bookworm-amd64.tar``).

It holds

* ``debs/``: the Debian packages the roles need at run time with every dependency,
  resolved against an *empty* dpkg status (a box with nothing installed), so the
  bundle carries what a minimal Debian lacks whatever its point release; a flat
  ``Packages`` index makes the folder an apt repository the installer uses offline;
* ``wheels/``: the Python wheels of ``packaging/requirements.lock`` (pinned, their
  PyPI hashes checked on download; a package published only as source is built into
  a wheel here) and hall-edge itself as a wheel, with ``requirements.txt`` naming
  each file by the sha256 of the bundled wheel;
* ``share/``: the systemd units, udev rules, Mosquitto config (``systemd/``), the
  hall configs (``assets/halls``) and the default voice pack (``assets/voice``);
* ``install``: the installer (``sudo ./install [hall provision options]``);
* ``BUNDLE.env``: version, Debian release, architecture, the package list;
* ``MANIFEST.sha256``: the sha256 of every other file (``sha256sum -c``).

Network: the Debian mirror of this machine's apt sources and PyPI, at build time only.
Downloads are cached in ``build/bundle-cache`` so a rebuild fetches nothing new.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "packaging" / "requirements.lock"
INSTALL_SCRIPT = ROOT / "packaging" / "install"
CODENAME, ARCH = "bookworm", "amd64"

# What the roles need at run time, beyond what any Debian has (each with why).  The
# Makefile's APT_PACKAGES add the build and test tools (gcc, headers, swig, chromium,
# PostgreSQL for the province center), which no hall device needs.
DEBS = {
    "python3": "the venv's interpreter (3.11)",
    "python3-venv": "makes /opt/hall-edge/releases/*/venv (ensurepip, offline)",
    "mosquitto": "the hall broker on the queue host (and mosquitto_passwd)",
    "mosquitto-clients": "mosquitto_sub/pub for the technician",
    "pcscd": "PC/SC daemon: citizen card readers",
    "libccid": "the CCID driver of USB smart-card readers",
    "vsmartcard-vpcd": "the virtual reader the card simulator uses",
    "libpcsclite1": "pyscard's library",
    "fonts-wqy-microhei": "the CJK font every screen draws with",
    "espeak-ng": "voice pack generation",
    "sox": "plays the voice clips (play)",
    "libsox-fmt-alsa": "sox's sound output",
    "systemd": "units, sysusers, tmpfiles (a minimal Debian has no init)",
    "udev": "the device names and permissions of 99-hall.rules",
    "libegl1": "Qt: eglfs",
    "libgl1": "Qt",
    "libgbm1": "Qt: eglfs on KMS",
    "libdrm2": "Qt: eglfs on KMS",
    "libxkbcommon0": "Qt: keyboard maps",
    "libxkbcommon-x11-0": "Qt",
    "libfontconfig1": "Qt: fonts",
    "libglib2.0-0": "Qt's event loop integration",
    "libdbus-1-3": "Qt",
    "libpulse0": "QtMultimedia",
    "libasound2": "QtMultimedia, sox",
    "libwayland-client0": "Qt's wayland platform (screen: cage)",
    "libwayland-egl1": "Qt's wayland platform (screen: cage)",
    "libwayland-cursor0": "Qt's wayland platform (screen: cage)",
    "cage": "the kiosk Wayland compositor (screen: cage)",
    "libusb-1.0-0": "pyusb: USB ticket printers",
    "ca-certificates": "TLS to the center",
}


def log(message: str) -> None:
    print(f"bundle: {message}", flush=True)


def run(cmd: list[str], **kwargs: object) -> None:
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- Debian packages


def fetch_debs(cache: Path, out: Path, update: bool) -> list[Path]:
    """Every package of DEBS with its whole dependency closure, as if nothing were
    installed (an empty dpkg status), into ``out``."""
    archives = cache / "archives"
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    status = cache / "empty-status"
    status.write_text("")
    if update:
        run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL)
    before = set(archives.glob("*.deb"))
    opts = [
        "-o",
        f"Dir::State::status={status}",
        "-o",
        f"Dir::Cache::archives={archives}",
        "-o",
        "Debug::NoLocking=1",
    ]
    # --print-uris names the exact closure, against an empty cache (it leaves out what
    # the cache holds already)
    with tempfile.TemporaryDirectory() as empty:
        listing = subprocess.run(
            [
                "apt-get",
                "-q",
                "-y",
                "--no-install-recommends",
                *opts,
                "-o",
                f"Dir::Cache::archives={empty}",
                "--print-uris",
                "install",
                *DEBS,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    names = re.findall(r"^'[^']+' (\S+\.deb) ", listing, re.M)
    if not names:
        raise SystemExit(f"bundle: apt resolved no packages:\n{listing[-2000:]}")
    run(
        [
            "apt-get",
            "-q",
            "-y",
            "--no-install-recommends",
            *opts,
            "--download-only",
            "install",
            *list(DEBS),
        ],
        stdout=subprocess.DEVNULL,
    )
    log(f"{len(names)} Debian packages ({len(set(archives.glob('*.deb')) - before)} fetched now)")
    out.mkdir(parents=True)
    debs = []
    for name in names:
        # apt names the file with the epoch's ':' escaped as %3a
        src = archives / name.replace(":", "%3a")
        if not src.exists():
            src = archives / name
        target = out / name.replace("%3a", "_").replace(":", "_")
        shutil.copy2(src, target)
        debs.append(target)
    write_packages_index(out, debs)
    return debs


def write_packages_index(folder: Path, debs: list[Path]) -> None:
    """A flat repository's ``Packages`` (what dpkg-scanpackages writes), so apt resolves
    the install from this folder alone."""
    stanzas = []
    for deb in sorted(debs):
        control = subprocess.run(
            ["dpkg-deb", "-f", str(deb)], check=True, capture_output=True, text=True
        ).stdout.rstrip("\n")
        stanzas.append(
            f"{control}\nFilename: ./{deb.name}\nSize: {deb.stat().st_size}\n"
            f"SHA256: {sha256(deb)}\n"
        )
    (folder / "Packages").write_text("\n".join(stanzas), encoding="utf-8")


# ---------------------------------------------------------------- Python wheels


def fetch_wheels(cache: Path, out: Path, python: str, version: str) -> list[Path]:
    """The locked wheels (hashes checked against the lock), source-only ones built here,
    and hall-edge's own wheel at ``version``."""
    downloads = cache / "pypi"
    downloads.mkdir(parents=True, exist_ok=True)
    run(
        [
            python,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--require-hashes",
            "-r",
            str(LOCK),
            "-d",
            str(downloads),
        ]
    )
    pins = dict(
        (name.lower().replace("_", "-"), ver)
        for name, ver in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", LOCK.read_text(), re.M)
    )
    out.mkdir(parents=True)
    built = cache / "built"
    built.mkdir(exist_ok=True)
    for name, ver in sorted(pins.items()):
        wheel = _find(downloads, name, ver, ".whl") or _find(built, name, ver, ".whl")
        if wheel is None:
            sdist = _find(downloads, name, ver, ".tar.gz") or _find(downloads, name, ver, ".zip")
            if sdist is None:
                raise SystemExit(f"bundle: no download of {name}=={ver}")
            log(f"building a wheel of {sdist.name} (no wheel on PyPI)")
            run([python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(built), str(sdist)])
            wheel = _find(built, name, ver, ".whl")
            if wheel is None:
                raise SystemExit(f"bundle: building {sdist.name} made no wheel")
        shutil.copy2(wheel, out / wheel.name)
    own = build_own_wheel(out, python, version)
    wheels = sorted(out.glob("*.whl"))
    lines = [f"{_dist_name(w)}=={_dist_version(w)} --hash=sha256:{sha256(w)}" for w in wheels]
    (out / "requirements.txt").write_text(
        "# the bundled wheels by the sha256 of each file (pip install --require-hashes)\n"
        + "\n".join(lines)
        + "\n"
    )
    log(f"{len(wheels)} wheels (hall-edge: {own.name})")
    return wheels


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dist_name(path: Path) -> str:
    return _norm(path.name.split("-")[0])


def _dist_version(path: Path) -> str:
    return path.name.split("-")[1]


def _find(folder: Path, name: str, version: str, suffix: str) -> Path | None:
    """The wheel or sdist of ``name==version`` in ``folder``."""
    for path in folder.iterdir():
        if not path.name.endswith(suffix):
            continue
        stem = path.name[: -len(suffix)]
        if suffix == ".whl":
            dist, ver = stem.split("-")[:2]
        else:
            dist, _, ver = stem.rpartition("-")
        if _norm(dist) == name and ver == version:
            return path
    return None


def build_own_wheel(out: Path, python: str, version: str) -> Path:
    """hall-edge's wheel, from the working tree's tracked files, at ``version``."""
    files = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], check=True, capture_output=True, text=True
    ).stdout.split("\0")
    with tempfile.TemporaryDirectory(prefix="hall-edge-src-") as tmp:
        src = Path(tmp)
        for name in filter(None, files):
            if (ROOT / name).is_file():
                (src / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, src / name)
        set_version(src, version)
        run(
            [
                python,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                "-w",
                str(out),
                str(src),
            ]
        )
    found = [w for w in out.glob("hall_edge-*.whl")]
    if len(found) != 1:
        raise SystemExit(f"bundle: expected one hall-edge wheel, found {found}")
    return found[0]


def project_version() -> str:
    match = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    if not match:
        raise SystemExit("bundle: no version in pyproject.toml")
    return match.group(1)


def set_version(src: Path, version: str) -> None:
    """``version`` in a copy of the tree (pyproject.toml and hall/core/version.py)."""
    for name, pattern, repl in (
        ("pyproject.toml", r'^version = "[^"]+"', f'version = "{version}"'),
        ("hall/core/version.py", r'^__version__ = "[^"]+"', f'__version__ = "{version}"'),
    ):
        path = src / name
        text, count = re.subn(pattern, repl, path.read_text(), count=1, flags=re.M)
        if count != 1:
            raise SystemExit(f"bundle: no version line in {name}")
        path.write_text(text)


# ---------------------------------------------------------------- the rest


def copy_share(out: Path, voice: Path) -> None:
    shutil.copytree(ROOT / "systemd", out / "systemd")
    shutil.copytree(ROOT / "assets" / "halls", out / "assets" / "halls")
    wavs = sorted(voice.glob("*.wav"))
    if not wavs:
        raise SystemExit(f"bundle: no voice pack in {voice} (make voice)")
    (out / "assets" / "voice" / "default").mkdir(parents=True)
    for wav in wavs:
        shutil.copy2(wav, out / "assets" / "voice" / "default" / wav.name)


def write_manifest(top: Path) -> int:
    lines = []
    for path in sorted(p for p in top.rglob("*") if p.is_file()):
        rel = path.relative_to(top).as_posix()
        if rel != "MANIFEST.sha256":
            lines.append(f"{sha256(path)}  {rel}")
    (top / "MANIFEST.sha256").write_text("\n".join(lines) + "\n")
    return len(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(ROOT / "dist"), help="folder for the .tar (dist/)")
    p.add_argument("--cache", default=str(ROOT / "build" / "bundle-cache"))
    p.add_argument("--version", help="the version to build (default: pyproject.toml's)")
    p.add_argument("--python", default=sys.executable, help="python for pip (3.11)")
    p.add_argument("--voice", default=str(ROOT / "assets" / "voice" / "default"))
    p.add_argument("--no-apt-update", action="store_true", help="use the apt lists as they are")
    args = p.parse_args(argv)
    started = time.monotonic()
    version = args.version or project_version()
    name = f"hall-edge-{version}-{CODENAME}-{ARCH}"
    cache = Path(args.cache)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bundle-", dir=out) as tmp:
        top = Path(tmp) / name
        top.mkdir()
        debs = fetch_debs(cache / "apt", top / "debs", update=not args.no_apt_update)
        wheels = fetch_wheels(cache, top / "wheels", args.python, version)
        copy_share(top / "share", Path(args.voice))
        shutil.copy2(INSTALL_SCRIPT, top / "install")
        (top / "install").chmod(0o755)
        (top / "BUNDLE.env").write_text(
            f"HALL_VERSION={version}\nDEBIAN_CODENAME={CODENAME}\nDEBIAN_RELEASE=12\n"
            f"ARCH={ARCH}\nDEBS='{' '.join(DEBS)}'\n"
            f"BUILT={time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n"
        )
        files = write_manifest(top)
        tar_path = out / f"{name}.tar"
        partial = tar_path.with_suffix(".tar.partial")
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            tar.add(top, arcname=name)
        partial.replace(tar_path)
        deb_mb = sum(p.stat().st_size for p in debs) / 1e6
        wheel_mb = sum(p.stat().st_size for p in wheels) / 1e6
    log(
        f"{tar_path} {tar_path.stat().st_size / 1e6:.0f} MB: {len(debs)} debs "
        f"{deb_mb:.0f} MB, {len(wheels)} wheels {wheel_mb:.0f} MB, {files} files, "
        f"{time.monotonic() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
