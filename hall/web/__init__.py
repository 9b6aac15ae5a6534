"""The hall's web role (``hall web``): the citizen's live queue page and the manager's console.

An app on the same floor as the kiosk and the counter apps: it talks to the queue
engine over the hall plane like every other device and imports neither of them.
"""
