"""The bottom floor of hall-edge: what every other floor may import and that imports none of them.

``hall.core`` -> ``drivers``, ``sync`` -> the engine -> Qt plumbing -> apps -> the
``hall`` command.  Modules here depend on the standard library and kept libraries
only (never on ``kiosk``, ``counter``, ``drivers``, ``sync`` or the rest of ``hall``).

* :mod:`hall.core.schema`: one way to declare and check configuration.
"""
