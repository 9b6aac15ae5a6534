"""What a person would notice on a kiosk screen that a screenshot alone does not prove:
text cut off, text hidden behind a scroll bar, text drawn over other text."""

from __future__ import annotations

from hall.ui.qt import QLabel, QPoint, QPushButton, QRect, QtWidgets, QWidget


def _rect(widget: QWidget, window: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def _shown(widget: QWidget) -> bool:
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def layout_problems(window: QWidget) -> list[str]:
    """Every visible text of ``window`` that a person could not read whole."""
    problems: list[str] = []
    for area in window.findChildren(QtWidgets.QScrollArea):
        bar = area.verticalScrollBar()
        if area.isVisible() and bar.maximum() > 0:
            hidden = [
                w.text()[:16]
                for w in area.widget().findChildren(QLabel)
                if w.isVisible() and w.text() and w.visibleRegion().boundingRect() != w.rect()
            ]
            problems.append(f"scrolls by {bar.maximum()} px, hiding {hidden}")
    labels = [w for w in window.findChildren(QLabel) if _shown(w) and w.text()]
    whole = window.rect()
    for w in labels:
        r = _rect(w, window)
        if not whole.contains(r):
            problems.append(f"{w.text()[:20]!r} reaches outside the window ({r})")
        if w.wordWrap():
            need = w.heightForWidth(w.width())
            if need > w.height() + 1:
                problems.append(f"{w.text()[:20]!r} cut: needs {need} px high, has {w.height()}")
        elif w.sizeHint().width() > w.width() + 1:
            problems.append(
                f"{w.text()[:20]!r} cut: needs {w.sizeHint().width()} px wide, has {w.width()}"
            )
    for b in window.findChildren(QPushButton):
        if _shown(b) and b.text() and b.sizeHint().width() > b.width() + 1:
            problems.append(f"button {b.text()!r} cut: needs {b.sizeHint().width()} px")
    for n, a in enumerate(labels):
        ra = _rect(a, window)
        for b in labels[n + 1 :]:
            if a.isAncestorOf(b) or b.isAncestorOf(a):
                continue
            overlap = ra.intersected(_rect(b, window))
            if overlap.width() > 2 and overlap.height() > 2:
                problems.append(f"{a.text()[:16]!r} overlaps {b.text()[:16]!r}")
    return problems


def fully_visible(widget: QWidget) -> bool:
    """The whole widget can be seen (and tapped) without scrolling."""
    return widget.isVisible() and widget.visibleRegion().boundingRect() == widget.rect()
