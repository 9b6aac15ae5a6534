"""The one place that imports Qt.  Everything else does ``from hall.ui.qt import ...``.

Keeping Qt behind one module lets the domain code import without Qt and lets
us switch bindings or set platform defaults in one place.
"""

from __future__ import annotations

import os
from types import ModuleType

# A headless machine (CI, a box with no screen) gets the offscreen platform
# unless the caller chose one.
if (
    not os.environ.get("QT_QPA_PLATFORM")
    and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    and not os.path.exists("/dev/fb0")
):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import (
    QObject,
    QPoint,
    QRect,
    QSize,
    Qt,
    QThread,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QFont, QFontDatabase, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

__all__ = [
    "QApplication",
    "QColor",
    "QFont",
    "QFontDatabase",
    "QGridLayout",
    "QHBoxLayout",
    "QImage",
    "QLabel",
    "QObject",
    "QPainter",
    "QPixmap",
    "QPoint",
    "QPushButton",
    "QRect",
    "QSize",
    "QStackedWidget",
    "QThread",
    "QTimer",
    "QVBoxLayout",
    "QWidget",
    "Qt",
    "QtCore",
    "QtGui",
    "QtWidgets",
    "Signal",
    "Slot",
]


def qt_multimedia() -> ModuleType:
    """QtMultimedia (PySide6-Addons), imported on first use: loading it probes audio backends."""
    from PySide6 import QtMultimedia

    return QtMultimedia
