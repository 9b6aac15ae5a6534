"""The hall's web role (``hall web``): the citizen's live queue page and the manager's console.

An app on the same floor as the kiosk and the counter apps: it talks to the queue
engine over the hall plane like every other device and imports neither of them.

``gateway`` (the MQTT link as device web-1, the debounced refresh and fan-out), ``app``
(the Starlette routes, sessions' cookies, CSRF, security headers), ``sessions``, ``texts``
(the citizen's words), ``server`` (uvicorn, systemd ready and watchdog), ``cli``
(``hall web``, ``hall web hash-password``).  See docs/web.md.
"""
