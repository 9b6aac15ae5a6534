"""The ``hall`` command: one entry point for every role of a hall-edge device.

This package holds only what every role shares and that belongs to no single
device family: the command-line dispatcher, the benchmark registry, the single
Qt import point and personal-data masking.  Domain code lives in ``kiosk/``,
``counter/``, ``drivers/`` and ``sync/``.
"""

__version__ = "0.1.0"
