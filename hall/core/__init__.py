"""The bottom floor of hall-edge: what every other floor may import and that imports none of them.

``hall.core`` -> ``drivers``, ``sync`` -> the engine -> Qt plumbing -> apps -> the
``hall`` command.  Modules here depend on the standard library and kept libraries
only (never on ``kiosk``, ``counter``, ``drivers``, ``sync`` or the rest of ``hall``).

* :mod:`hall.core.schema`: one way to declare and check configuration.
* :mod:`hall.core.clock`: the injected clock (system and fake).
* :mod:`hall.core.privacy`, :mod:`hall.core.logs`: masking and redacting logs.
* :mod:`hall.core.pins`: PINs stored only as salted scrypt hashes.
* :mod:`hall.core.appliance`: systemd readiness, watchdog and stopping.
* :mod:`hall.core.stats`: percentiles.
* :mod:`hall.core.version`: the version.
"""
