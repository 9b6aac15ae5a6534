"""Optional photo decoder: the card's photo (WLT) needs the vendor's closed library.

Nothing requires it.  With no library configured the card's ``photo`` is
``None``; with a library that fails to load or to decode, a warning is
logged and ``photo`` is ``None``.  The library is configured by path (a
parameter, or the environment variable ``HALL_WLT_LIB``) and is expected to
export the usual Linux ``libwlt.so`` entry point::

    int unpack(char *wlt /* 1024 bytes */, char *bmp /* out */, int bmp_header);

returning 1 on success and writing a 102 x 126, 24-bit BMP (38862 bytes with
its header).  ``HALL_WLT_SYMBOL`` names a different entry point with the same
signature.
"""

from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

ENV_LIB = "HALL_WLT_LIB"
ENV_SYMBOL = "HALL_WLT_SYMBOL"
DEFAULT_SYMBOL = "unpack"
BMP_SIZE = 54 + (102 * 3 + 2) * 126  # header + rows padded to 4 bytes = 38862


class WltDecoder:
    """A loaded vendor library.  Raises ``OSError`` / ``AttributeError`` if it cannot load."""

    def __init__(self, path: str | os.PathLike[str], *, symbol: str = DEFAULT_SYMBOL) -> None:
        self.path = str(path)
        self.symbol = symbol
        self._lib = ctypes.CDLL(self.path)
        func = getattr(self._lib, symbol)
        func.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
        func.restype = ctypes.c_int
        self._func = func

    def decode(self, wlt: bytes) -> bytes | None:
        """The photo as BMP bytes, or ``None`` (with a warning) if the library fails."""
        src = ctypes.create_string_buffer(wlt, max(len(wlt), 1024))
        dst = ctypes.create_string_buffer(BMP_SIZE)
        rc = self._func(src, dst, 1)
        if rc != 1:
            log.warning("WLT decoder %s:%s returned %d; no photo", self.path, self.symbol, rc)
            return None
        bmp = dst.raw
        if not bmp.startswith(b"BM"):
            log.warning("WLT decoder %s returned no BMP image; no photo", self.path)
            return None
        size = int.from_bytes(bmp[2:6], "little")
        return bmp[:size] if 54 < size <= BMP_SIZE else bmp


def load_decoder(
    path: str | os.PathLike[str] | None = None, *, symbol: str | None = None
) -> WltDecoder | None:
    """The configured decoder, or ``None`` if none is configured or it cannot load."""
    path = path or os.environ.get(ENV_LIB) or None
    if not path:
        return None
    symbol = symbol or os.environ.get(ENV_SYMBOL) or DEFAULT_SYMBOL
    if not Path(path).is_file():
        log.warning("WLT decoder library %s does not exist; ID photos will not be decoded", path)
        return None
    try:
        return WltDecoder(path, symbol=symbol)
    except (OSError, AttributeError) as exc:
        log.warning("cannot load WLT decoder %s (%s); ID photos will not be decoded", path, exc)
        return None
