"""Voice announcements from a pack of clips: "叮咚 请 A001 号 到 3 号窗口 办理".

``clips`` lists every clip (file name, text, what espeak-ng is given);
``phrases`` turns a call into clip names (pure); ``pack`` loads a pack and
joins clips into one WAV (pure, ``wave`` module); ``generate`` builds the
default pack with espeak-ng and sox; ``announcer`` queues and plays phrases
with QtMultimedia.
"""
