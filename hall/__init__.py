"""hall-edge's shared floors and its command.

* :mod:`hall.core` (the ground floor): clock, redaction, logging, atomic files,
  SQLite helpers, the configuration schema, PINs, statistics, systemd
  notifications, the version.  Imports nothing else of ours.
* :mod:`hall.ui` (above the engine): what every screen app shares: the single Qt
  import point, the Qt-MQTT link, the app lifecycle and watchdog, the voice.
* The rest (the top floor): the ``hall`` command and what composes the roles:
  ``cli``, ``demo``, ``doctor``, ``provision``, ``bench``, ``device_config``.

Domain code lives in ``drivers/``, ``sync/``, ``kiosk/`` and ``counter/``; the
floors are checked by import-linter (``.importlinter``).
"""

from hall.core.version import __version__

__all__ = ["__version__"]
