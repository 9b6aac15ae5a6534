"""What is said for a call, as clip names (pure): "叮咚 请 A001 号 到 3 号窗口 办理".

Ticket codes are read letter by letter and digit by digit, as halls do
("A 零 零 一"), so a citizen can match them against the ticket.  Window
numbers are read as numbers ("十二号窗口").  A recall starts with "再次呼叫"
(in place of "请").
"""

from __future__ import annotations

from hall.ui.voice.clips import CLIPS, digit_clip, letter_clip


class PhraseError(ValueError):
    """A code or window that cannot be said with the clips of a pack."""


def spell(text: str) -> list[str]:
    """Letters and digits one by one: ``"A001"`` -> letter_a, digit_0, digit_0, digit_1."""
    out = []
    for char in text.strip().upper():
        if "A" <= char <= "Z":
            out.append(letter_clip(char))
        elif char.isdigit() and char.isascii():
            out.append(digit_clip(char))
        else:
            raise PhraseError(f"cannot say {char!r} in {text!r}: only letters A-Z and digits")
    if not out:
        raise PhraseError("nothing to say")
    return out


def number(n: int) -> list[str]:
    """A number the Chinese way, 0-999: 12 -> 十 二, 20 -> 二 十, 105 -> 一 百 零 五."""
    if not 0 <= n <= 999:
        raise PhraseError(f"{n} is outside 0-999")
    if n < 10:
        return [digit_clip(n)]
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    out: list[str] = []
    if hundreds:
        out += [digit_clip(hundreds), "bai"]
        if rest == 0:
            return out
        if tens == 0:
            return [*out, digit_clip(0), digit_clip(ones)]
        out += [digit_clip(tens), "shi"]  # 一百一十五: the "一" before 十 is said here
    else:
        out += ([] if tens == 1 else [digit_clip(tens)]) + ["shi"]  # 十二, not 一十二
    if ones:
        out.append(digit_clip(ones))
    return out


def window_number(window: str) -> list[str]:
    """Window "3" -> 三; "12" -> 十二; other ids ("A2") are spelled."""
    window = window.strip()
    if window.isdigit() and window.isascii() and int(window) <= 999:
        return number(int(window))
    return spell(window)


def phrase_for_call(code: str, window: str, *, recall: bool = False, times: int = 1) -> list[str]:
    """叮咚 请 <code> 号 到 <window> 号 窗口 办理 (after the chime, ``times`` times).

    A recall says 再次呼叫 in place of 请 ("再次呼叫 A001 号到 3 号窗口办理"), so it
    is hardly longer than the call.
    """
    if times < 1:
        raise PhraseError("times must be at least 1")
    rest = [*spell(code), "hao", "dao", *window_number(window), "hao", "chuangkou", "banli"]
    body = rest if recall else ["qing", *rest]
    head = ["chime", *(["again"] if recall else [])]
    phrase = head + body * times
    missing = [c for c in phrase if c not in CLIPS]
    assert not missing, f"phrase uses clips that are not declared: {missing}"
    return phrase
