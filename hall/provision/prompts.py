"""Questions on a terminal: defaults, numbered menus, yes/no, hidden passwords; a bad
answer is explained and asked again."""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from hall.provision.layout import EXIT_CONFIG, ProvisionError, WizardAborted

log = logging.getLogger(__name__)


class Prompter:
    """Questions on a terminal (or any text stream): defaults, menus, checks, asked again."""

    MAX_TRIES = 8

    def __init__(self, stdin: TextIO, stdout: TextIO) -> None:
        self.stdin = stdin
        self.out = stdout

    def _line(self, prompt: str) -> str:
        self.out.write(prompt)
        self.out.flush()
        line = self.stdin.readline()
        if not line:
            self.out.write("\n")
            raise WizardAborted()
        return line.strip()

    def ask(
        self,
        question: str,
        default: str | None = None,
        *,
        check: Callable[[str], Any] | None = None,
        optional: bool = False,
    ) -> Any:
        """An answer (Enter takes ``default``; with ``optional``, ``-`` means none)."""
        shown = f" [{default}]" if default not in (None, "") else (" [-]" if optional else "")
        for _ in range(self.MAX_TRIES):
            answer = self._line(f"{question}{shown}: ")
            if answer == "":
                if default not in (None, ""):
                    answer = str(default)
                elif optional:
                    return None
                else:
                    self.out.write("  ✗ 请输入 an answer is needed\n")
                    continue
            if optional and answer in ("-", "none", "无"):
                return None
            if check is None:
                return answer
            try:
                return check(answer)
            except ValueError as exc:
                self.out.write(f"  ✗ {exc}\n")
        raise ProvisionError(f"no valid answer to {question!r}", EXIT_CONFIG)

    def choose(self, question: str, options: Sequence[tuple[Any, str]], default: Any = None) -> Any:
        """A numbered menu; the answer is a number or the value itself."""
        self.out.write(question + "\n")
        default_no = None
        for i, (value, label) in enumerate(options, 1):
            mark = " *" if value == default else ""
            if value == default:
                default_no = str(i)
            self.out.write(f"  {i}) {label}{mark}\n")
        by_name = {str(v): v for v, _ in options}

        def pick(answer: str) -> Any:
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return options[int(answer) - 1][0]
            if answer in by_name:
                return by_name[answer]
            from hall.core.schema import did_you_mean

            hint = did_you_mean(answer, by_name)
            hint = f" ({hint})" if hint else ""
            raise ValueError(f"请选择 1..{len(options)}  choose 1..{len(options)}{hint}")

        return self.ask("选择 choose", default_no, check=pick)

    def confirm(self, question: str, default: bool = True) -> bool:
        def yes_no(answer: str) -> bool:
            a = answer.lower()
            if a in ("y", "yes", "是", "好", "1"):
                return True
            if a in ("n", "no", "否", "不", "0"):
                return False
            raise ValueError("请回答 y 或 n  answer y or n")

        return bool(self.ask(f"{question} (y/n)", "y" if default else "n", check=yes_no))

    def secret(self, question: str) -> str | None:
        """A password (hidden on a terminal); Enter: none / keep."""
        if self.stdin is sys.stdin and sys.stdin.isatty():
            answer = getpass.getpass(f"{question} [Enter: -]: ", stream=self.out)
        else:
            answer = self._line(f"{question} [Enter: -]: ")
        return answer.strip() or None
