"""Every clip of a voice pack, as data: file name, what it says, what espeak-ng is given.

A pack is a folder of ``<name>.wav`` files, one per clip below.  The default
pack is generated with espeak-ng at build time (``hall.ui.voice.generate``);
a recorded pack uses the same file names (see ``assets/voice/README.md``).

``say`` is the text given to espeak-ng.  It is written in pinyin with tone
numbers: Debian 12's espeak-ng 1.51 turns characters into pinyin correctly but
its ``cmn`` voice then reads the pinyin as English ("qing three" for 请,
espeak-ng issue #1236), and pinyin also avoids wrong readings of characters
with several pronunciations.  Letters are said the way Chinese speakers say
the English letter names (A 诶, B 比, ... W 达不溜).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Clip:
    name: str  # file name without .wav: ASCII, stable, what a recorded pack must provide
    text: str  # what the clip says, for people (README, the technician's test)
    say: str  # input for espeak-ng (pinyin with tone numbers); "" = not speech (the chime)
    kind: str  # chime | word | letter | digit | number | prompt


_WORDS = (
    Clip("qing", "请", "qing3", "word"),
    Clip("hao", "号", "hao4", "word"),
    Clip("dao", "到", "dao4", "word"),
    Clip("chuangkou", "窗口", "chuang1 kou3", "word"),
    Clip("banli", "办理", "ban4 li3", "word"),
    Clip("again", "再次呼叫", "zai4 ci4 hu1 jiao4", "word"),
)

# How Chinese speakers say the English letter names.
_LETTER_SAY = {
    "A": ("诶", "ei1"),
    "B": ("比", "bi4"),
    "C": ("西", "xi1"),
    "D": ("迪", "di4"),
    "E": ("伊", "yi4"),
    "F": ("艾弗", "ai4 fu2"),
    "G": ("吉", "ji4"),
    "H": ("艾尺", "ai4 chi3"),
    "I": ("艾", "ai4"),
    "J": ("杰", "jie4"),
    "K": ("开", "kai4"),
    "L": ("艾勒", "ai4 le4"),
    "M": ("艾姆", "ai4 mu3"),
    "N": ("恩", "en1"),
    "O": ("欧", "ou1"),
    "P": ("批", "pi1"),
    "Q": ("克由", "kiu1"),
    "R": ("阿尔", "a1 er3"),
    "S": ("艾斯", "ai4 si1"),
    "T": ("替", "ti4"),
    "U": ("优", "you1"),
    "V": ("维", "wei1"),
    "W": ("达不溜", "da2 bu5 liu1"),
    "X": ("艾克斯", "ai4 ke4 si1"),
    "Y": ("歪", "wai4"),
    "Z": ("贼", "zei4"),
}
_LETTERS = tuple(
    Clip(f"letter_{letter.lower()}", f"{letter}（{text}）", say, "letter")
    for letter, (text, say) in _LETTER_SAY.items()
)

_DIGIT_SAY = (
    ("零", "ling2"),
    ("一", "yi1"),
    ("二", "er4"),
    ("三", "san1"),
    ("四", "si4"),
    ("五", "wu3"),
    ("六", "liu4"),
    ("七", "qi1"),
    ("八", "ba1"),
    ("九", "jiu3"),
)
_DIGITS = tuple(Clip(f"digit_{n}", text, say, "digit") for n, (text, say) in enumerate(_DIGIT_SAY))
_NUMBER_WORDS = (
    Clip("shi", "十", "shi2", "number"),
    Clip("bai", "百", "bai3", "number"),
)

# Spoken by the kiosk and the evaluator.
PROMPTS = (
    Clip(
        "welcome",
        "欢迎光临，请选择办理的业务",
        "huan1 ying2 guang1 lin2, qing3 xuan3 ze2 ban4 li3 de5 ye4 wu4",
        "prompt",
    ),
    Clip(
        "swipe_id",
        "请刷身份证或社保卡",
        "qing3 shua1 shen1 fen4 zheng4 huo4 she4 bao3 ka3",
        "prompt",
    ),
    Clip(
        "take_ticket",
        "请取走您的号票，留意叫号",
        "qing3 qu3 zou3 nin2 de5 hao4 piao4, liu2 yi4 jiao4 hao4",
        "prompt",
    ),
    Clip(
        "paper_out",
        "打印机缺纸，请联系工作人员",
        "da3 yin4 ji1 que1 zhi3, qing3 lian2 xi4 gong1 zuo4 ren2 yuan2",
        "prompt",
    ),
    Clip("outside_hours", "现在不是取号时间", "xian4 zai4 bu2 shi4 qu3 hao4 shi2 jian1", "prompt"),
    Clip(
        "please_rate",
        "请对本次服务进行评价",
        "qing3 dui4 ben3 ci4 fu2 wu4 jin4 xing2 ping2 jia4",
        "prompt",
    ),
    Clip("thanks", "谢谢您的评价", "xie4 xie5 nin2 de5 ping2 jia4", "prompt"),
)

CHIME = Clip("chime", "叮咚（提示音）", "", "chime")

ALL_CLIPS: tuple[Clip, ...] = (CHIME, *_WORDS, *_LETTERS, *_DIGITS, *_NUMBER_WORDS, *PROMPTS)
CLIPS: MappingProxyType[str, Clip] = MappingProxyType({c.name: c for c in ALL_CLIPS})

# The format every clip of a pack has, so clips join without conversion.
SAMPLE_RATE = 22050
CHANNELS = 1
SAMPLE_WIDTH = 2  # bytes: 16-bit signed PCM


def letter_clip(letter: str) -> str:
    return f"letter_{letter.lower()}"


def digit_clip(digit: str | int) -> str:
    return f"digit_{digit}"
