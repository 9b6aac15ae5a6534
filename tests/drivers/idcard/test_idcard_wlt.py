"""The optional WLT photo decoder: absent is fine, broken is a warning, never a failure.

A stand-in vendor library is compiled from C here (gcc is in the Makefile's
Debian packages) with the same entry point as ``libwlt.so``.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.idcard import wlt
from drivers.idcard.reader import SamReader
from drivers.idcard.sim import SamSimulator, make_card

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

FAKE_LIBWLT = r"""
#include <string.h>
/* Like the vendor's unpack(): 1 = ok; writes a 102x126 24-bit BMP. */
int unpack(char *wlt, char *bmp, int with_header) {
    unsigned int size = 38862, offset = 54;
    if ((unsigned char)wlt[0] == 0xEE) return -3;      /* "bad data" */
    memset(bmp, 0, size);
    bmp[0] = 'B'; bmp[1] = 'M';
    memcpy(bmp + 2, &size, 4);
    memcpy(bmp + 10, &offset, 4);
    memcpy(bmp + 54, wlt, 16);                           /* proof we saw the input */
    return with_header == 1 ? 1 : -1;
}
"""


def compile_lib(tmp_path: Path, source: str, name: str) -> Path:
    src = tmp_path / f"{name}.c"
    src.write_text(source)
    lib = tmp_path / f"{name}.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True, timeout=60)
    return lib


@pytest.fixture(scope="module")
def libwlt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_lib(tmp_path_factory.mktemp("wlt"), FAKE_LIBWLT, "libwlt")


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SamSimulator]:
    with SamSimulator(link_path=tmp_path / "hall-idcard") as s:
        yield s


def test_no_library_configured_means_no_photo(
    sim: SamSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(wlt.ENV_LIB, raising=False)
    assert wlt.load_decoder() is None
    sim.insert(make_card())
    with SamReader(str(sim.link_path), timeout=0.3) as reader:
        assert reader.read_card().photo is None


def test_library_from_the_environment_decodes_the_photo(
    sim: SamSimulator, libwlt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(wlt.ENV_LIB, str(libwlt))
    card = make_card()
    sim.insert(card)
    with SamReader(str(sim.link_path), timeout=0.3) as reader:
        photo = reader.read_card().photo
    assert photo is not None
    assert photo[:2] == b"BM" and len(photo) == wlt.BMP_SIZE
    assert photo[54:70] == card.photo_wlt[:16]


def test_library_refusing_the_data_is_a_warning(
    libwlt: Path, caplog: pytest.LogCaptureFixture
) -> None:
    decoder = wlt.load_decoder(libwlt)
    assert decoder is not None
    with caplog.at_level(logging.WARNING, logger="drivers.idcard.wlt"):
        assert decoder.decode(b"\xee" * 1024) is None
    assert "returned -3" in caplog.text


@pytest.mark.parametrize("what", ["not a library", "missing symbol", "missing file"])
def test_bad_library_is_a_warning_and_no_photo(
    what: str,
    tmp_path: Path,
    sim: SamSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if what == "not a library":
        path = tmp_path / "libwlt.so"
        path.write_bytes(b"this is not an ELF file")
    elif what == "missing symbol":
        path = compile_lib(tmp_path, "int something_else(void) { return 0; }\n", "libother")
    else:
        path = tmp_path / "nowhere" / "libwlt.so"
    with caplog.at_level(logging.WARNING, logger="drivers.idcard.wlt"):
        assert wlt.load_decoder(path) is None
        sim.insert(make_card())
        with SamReader(str(sim.link_path), timeout=0.3, wlt_lib=path) as reader:
            card = reader.read_card()
    assert card.photo is None and card.name == "张三"
    assert str(path) in caplog.text and "not be decoded" in caplog.text
