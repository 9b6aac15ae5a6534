"""``make bundle-test``: the offline bundle on a blank Debian 12, end to end (as root).

1. builds bundle N (this tree's version) and N+1 (the same tree as the next patch
   version; the cache makes the second build a repack);
2. ``debootstrap --variant=minbase bookworm`` from this machine's Debian mirror;
3. in a network namespace with nothing but loopback (``unshare -n`` semantics, kept as
   a named namespace so the phases share it), chrooted: ``./install`` provisions a
   kiosk that is the queue host, against the printer and ID reader simulators;
   Mosquitto and the engine are started by hand (no systemd in a chroot), ``hall
   doctor`` must pass and the engine must issue tickets on its broker;
4. upgrade N -> N+1 with the tickets of the day in the engine and their events in the
   outbox: nothing lost, migrations ran, doctor passes on N+1; one more ticket;
5. ``hall rollback``: N again, every ticket and event still there.

Prints the bundle's size and the time from blank root to provisioned device, and one
JSON line with the numbers at the end.  Exit 0 when every step held.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packaging"))
import build_bundle  # noqa: E402

NETNS = "hall-bundle-test"
DEVICE_ARGS = [
    "--non-interactive",
    "--role", "kiosk",
    "--queue-host",
    "--hall", "demo-hall",
    "--device", "kiosk-1",
    "--hall-config", "/root/hall.yaml",
    "--generate-staff-pin",
    "--no-detect",
    "--printer", "serial:/run/hall-sim/printer?baud=9600",
    "--idcard", "/run/hall-sim/idcard",
    "--citizencard", "none",
    "--scanner", "none",
]  # fmt: skip

# In the chroot: the simulators, Mosquitto and the engine, as systemd would start them.
START = r"""
set -e
export PATH=/opt/hall-edge/.venv/bin:/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p /run/hall-sim /run/mosquitto && chown mosquitto: /run/mosquitto
# what stays running must not hold the caller's pipes open
exec </dev/null >>/run/hall-sim/start.log 2>&1
pkill_pid() { [ -f "$1" ] && kill "$(cat "$1")" 2>/dev/null || true; }
pkill_pid /run/hall-sim/engine.pid; pkill_pid /run/hall-sim/printer.pid
pkill_pid /run/hall-sim/idcard.pid; pkill_pid /run/mosquitto/mosquitto.pid
pkill_pid /run/hall-sim/printer.sleep; pkill_pid /run/hall-sim/idcard.sleep
sleep 1
sim() {  # a simulator kept running on a pty (its stdin never ends)
    mkfifo "/run/hall-sim/$1.in" 2>/dev/null || true
    (hall "$1" sim --link "/run/hall-sim/$1" <"/run/hall-sim/$1.in" >"/run/hall-sim/$1.log" 2>&1 &
     echo $! >"/run/hall-sim/$1.pid")
    (sleep infinity >"/run/hall-sim/$1.in" & echo $! >"/run/hall-sim/$1.sleep")
}
sim printer
sim idcard
mosquitto -c /etc/mosquitto/mosquitto.conf -d
set -a; . /etc/hall/engine.env; set +a
cd /var/lib/hall
(hall engine $HALL_ARGS >/run/hall-sim/engine.log 2>&1 & echo $! >/run/hall-sim/engine.pid)
for i in $(seq 100); do
    [ -e /run/hall-sim/printer ] && [ -e /run/hall-sim/idcard ] && break; sleep 0.1
done
"""

# In the chroot: take tickets through the broker as the kiosk does, and count.
CLIENT = r"""
import json, sqlite3, sys, time
from sync.mqtt import MqttLink
from sync import topics, outbox
take = int(sys.argv[1])
password = open("/etc/hall/broker.password").read().strip()
link = MqttLink(host="127.0.0.1", port=1883, hall_id="demo-hall", device_id="kiosk-1",
                username="kiosk-1", password=password, presence=False)
link.start(wait=10)
codes = []
deadline = time.monotonic() + 60
while len(codes) < take:
    try:
        answer = link.request(topics.command("demo-hall", "kiosk-1"),
                              {"cmd": "issue", "queue": "B"}, timeout=5)
    except Exception as exc:  # the engine may still be starting
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
        continue
    assert answer.get("ok") is True, answer
    codes.append(answer["result"]["ticket"]["code"] if "result" in answer else answer)
link.stop()
db = sqlite3.connect("file:/var/lib/hall/engine.db?mode=ro", uri=True)
print(json.dumps({"taken": codes,
                  "tickets": db.execute("SELECT count(*) FROM tickets").fetchone()[0],
                  "codes": [r[0] for r in db.execute("SELECT code FROM tickets ORDER BY code")],
                  "events": [r[0] for r in db.execute("SELECT id FROM outbox ORDER BY seq")],
                  "outbox": outbox.count(db),
                  "schema": db.execute("PRAGMA user_version").fetchone()[0]}))
"""


def log(message: str) -> None:
    print(f"bundle-test: {message}", flush=True)


def sh(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, **kwargs)  # type: ignore[call-overload]


def mirror() -> str:
    text = Path("/etc/apt/sources.list.d/debian.sources").read_text()
    match = re.search(r"^URIs:\s*(\S+/debian)\s*$", text, re.M)
    return match.group(1) if match else "http://deb.debian.org/debian"


class Chroot:
    def __init__(self, root: Path) -> None:
        self.root = root

    def run(self, script: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``script`` in the chroot, inside the namespace that has only loopback."""
        result = subprocess.run(
            ["ip", "netns", "exec", NETNS, "chroot", str(self.root), "/bin/bash", "-c", script],
            text=True,
            capture_output=True,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"},
            check=False,
        )
        if check and result.returncode != 0:
            raise SystemExit(
                f"bundle-test: failed in the chroot ({result.returncode}):\n{script}\n"
                f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
            )
        return result

    def mount(self) -> None:
        for fs, target, opts in (
            ("proc", "proc", []),
            ("devtmpfs", "dev", []),
            ("devpts", "dev/pts", ["-o", "newinstance,ptmxmode=0666"]),
            ("tmpfs", "run", []),
        ):
            (self.root / target).mkdir(parents=True, exist_ok=True)
            sh(["mount", "-t", fs, *opts, fs, str(self.root / target)])
        ptmx = self.root / "dev" / "ptmx"
        if not ptmx.exists():
            ptmx.symlink_to("pts/ptmx")

    def umount(self) -> None:
        for target in ("run", "dev/pts", "dev", "proc"):
            subprocess.run(["umount", "-l", str(self.root / target)], check=False)


def hall_config(path: Path) -> None:
    """The demo hall, open all day every day (the test runs at any hour)."""
    import yaml

    data = yaml.safe_load((ROOT / "assets" / "halls" / "demo.yaml").read_text())
    data["hours"].update(
        weekdays=[1, 2, 3, 4, 5, 6, 7],
        sessions=[["00:00", "23:59"]],
        stop_issuing_before_close_min=0,
        holidays=[],
        extra_workdays=[],
    )
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def next_version(version: str) -> str:
    parts = version.split(".")
    return ".".join([*parts[:-1], str(int(parts[-1]) + 1)])


def unpack(bundle: Path, root: Path) -> str:
    with tarfile.open(bundle) as tar:
        tar.extractall(root / "root", filter="tar")
    return f"/root/{bundle.name.removesuffix('.tar')}"


def counts(ch: Chroot, take: int) -> dict[str, object]:
    result = ch.run(f"/opt/hall-edge/.venv/bin/python - {take} <<'EOF'\n{CLIENT}\nEOF")
    return json.loads(result.stdout.strip().splitlines()[-1])


def doctor(ch: Chroot, expect_version: str) -> str:
    result = ch.run(
        "/opt/hall-edge/.venv/bin/hall doctor --timeout 5 --min-free-mb 100", check=False
    )
    if result.returncode != 0 or f"hall-edge {expect_version}" not in result.stdout:
        raise SystemExit(f"bundle-test: hall doctor failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="the offline bundle on a blank Debian 12")
    p.add_argument("--work", default=str(ROOT / "build" / "bundle-test"))
    p.add_argument("--keep", action="store_true", help="keep the root afterwards")
    args = p.parse_args(argv)
    work = Path(args.work)
    numbers: dict[str, object] = {}
    started = time.monotonic()
    version = build_bundle.project_version()
    newer = next_version(version)
    dist = work / "dist"
    for v in (version, newer):
        build_bundle.main(["--out", str(dist), "--version", v, "--no-apt-update"])
    bundle_n = dist / f"hall-edge-{version}-bookworm-amd64.tar"
    bundle_n1 = dist / f"hall-edge-{newer}-bookworm-amd64.tar"
    numbers["bundle_mb"] = round(bundle_n.stat().st_size / 1e6)
    numbers["build_s"] = round(time.monotonic() - started)
    log(f"bundles: {bundle_n.name} {numbers['bundle_mb']} MB, {bundle_n1.name}")

    root = work / "root"
    if root.exists():
        Chroot(root).umount()
        shutil.rmtree(root)
    t = time.monotonic()
    sh(["debootstrap", "--variant=minbase", "bookworm", str(root), mirror()],
       stdout=subprocess.DEVNULL)  # fmt: skip
    numbers["debootstrap_s"] = round(time.monotonic() - t)
    log(f"blank Debian 12 minbase in {numbers['debootstrap_s']} s")
    subprocess.run(["ip", "netns", "delete", NETNS], check=False, capture_output=True)
    sh(["ip", "netns", "add", NETNS])
    sh(["ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up"])
    links = sh(["ip", "netns", "exec", NETNS, "ip", "-o", "link"], capture_output=True).stdout
    assert [line.split(":")[1].strip() for line in links.splitlines()] == ["lo"], links
    ch = Chroot(root)
    ch.mount()
    try:
        # ------------------------------------------------------------ N on a blank box
        t0 = time.monotonic()
        shutil.copy2(bundle_n, root / "root" / bundle_n.name)
        folder = unpack(root / "root" / bundle_n.name, root)
        hall_config(root / "root" / "hall.yaml")
        out = ch.run(f"cd {folder} && ./install {' '.join(DEVICE_ARGS)}")
        ch.run(START)
        first = counts(ch, 3)
        numbers["blank_to_provisioned_s"] = round(time.monotonic() - t0)
        report = doctor(ch, version)
        # the screens' Qt finds every library it needs in what the bundle installed
        qt = ch.run(
            "cd /opt/hall-edge/current/venv/lib/python3.11/site-packages/PySide6 && "
            "find . -name '*.so*' -exec ldd {} + 2>/dev/null | grep 'not found' | sort -u; "
            "QT_QPA_PLATFORM=offscreen /opt/hall-edge/.venv/bin/python -c "
            "'from PySide6 import QtWidgets, QtMultimedia, QtGui; "
            "app = QtWidgets.QApplication([]); "
            'print("qt ok", len(QtGui.QFontDatabase.families()))\''
        )
        missing = sorted(
            {line.split()[0] for line in qt.stdout.splitlines() if "not found" in line}
        )
        numbers["qt_libs_missing"] = missing
        assert "qt ok" in qt.stdout, qt.stdout + qt.stderr
        log(f"Qt starts offscreen; libraries no Qt module finds: {missing or 'none'}")
        log(f"installed {version} and provisioned in {numbers['blank_to_provisioned_s']} s "
            f"(offline); tickets {first['taken']}")  # fmt: skip
        print(textwrap.indent(out.stdout[-1500:], "    | "))
        print(textwrap.indent(report, "    | "))
        assert first["outbox"] > 0, first  # no center: the events wait in the outbox
        # ------------------------------------------------------------ N -> N+1
        t1 = time.monotonic()
        shutil.copy2(bundle_n1, root / "root" / bundle_n1.name)
        folder1 = unpack(root / "root" / bundle_n1.name, root)
        up = ch.run(f"cd {folder1} && ./install")
        ch.run(START)  # what systemd's start of the units would do
        numbers["upgrade_s"] = round(time.monotonic() - t1)
        after = counts(ch, 0)
        # the same tickets and the very same waiting events, one by one
        assert (after["codes"], after["events"]) == (first["codes"], first["events"]), (
            first,
            after,
        )
        assert "数据库已备份 databases backed up" in up.stdout, up.stdout
        version_out = ch.run("/opt/hall-edge/.venv/bin/hall --version").stdout
        assert newer in version_out, version_out
        doctor(ch, newer)
        more = counts(ch, 1)
        assert more["tickets"] == first["tickets"] + 1, more
        log(f"upgraded to {newer} in {numbers['upgrade_s']} s: {after['tickets']} tickets, "
            f"{after['outbox']} outbox events kept; ticket {more['taken']} on {newer}")  # fmt: skip
        # ------------------------------------------------------------ rollback
        back = ch.run("/opt/hall-edge/.venv/bin/hall rollback")
        ch.run(START)
        assert version in ch.run("/opt/hall-edge/.venv/bin/hall --version").stdout
        doctor(ch, version)
        final = counts(ch, 0)
        assert final["codes"] == more["codes"], (more, final)
        assert final["events"][: len(more["events"])] == more["events"], (more, final)
        log(f"rolled back to {version}: {final['tickets']} tickets, {final['outbox']} events")
        print(textwrap.indent(back.stdout[-800:], "    | "))
    finally:
        ch.run("for f in /run/hall-sim/*.pid /run/hall-sim/*.sleep /run/mosquitto/*.pid; do "
               "[ -f $f ] && kill $(cat $f) 2>/dev/null; done; true", check=False)  # fmt: skip
        ch.umount()
        subprocess.run(["ip", "netns", "delete", NETNS], check=False)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    numbers["total_s"] = round(time.monotonic() - started)
    print(json.dumps({"bench": "bundle", **numbers}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
