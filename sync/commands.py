"""Commands from the center, and how roles plug in what they can do.

The center sends ``{"cmd": "reprint", "args": {...}}`` to
``hall/{hall}/dev/{device}/sync/cmd`` with an MQTT v5 response topic and
correlation data; the sync agent answers ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": {"code", "message", "message_zh"}}``.

The agent answers ``health`` itself.  Everything else goes through a
:class:`CommandRegistry`: a name -> handler table a role fills in.  Roles run
in their own processes, so the usual handler is :func:`forward_to_role`, which
relays the command over the hall plane to ``hall/{hall}/dev/{device}/control``
where the role app answers with :func:`serve_control`::

    # in the kiosk app
    serve_control(link, {"reprint": lambda args: printer.reprint(args["ticket_id"])})

    # the agent (hall sync --forward reprint,message,reload)
    registry.register("reprint", forward_to_role(hall_link))
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync import topics

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Commands the contract documents; roles may add more names.
KNOWN = ("health", "reload", "reprint", "message")


class CommandError(Exception):
    """A command failed in a way the center should see (code + English + Chinese)."""

    def __init__(self, code: str, message: str, message_zh: str = "设备无法执行该指令") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_zh = message_zh

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "message_zh": self.message_zh}


@dataclass(frozen=True)
class Command:
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    @classmethod
    def from_payload(cls, payload: Any) -> Command:
        if not isinstance(payload, dict):
            raise CommandError("bad_request", "a command must be a JSON object", "指令格式错误")
        name = payload.get("cmd")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise CommandError("bad_request", f"invalid command name {name!r:.40}", "指令格式错误")
        args = payload.get("args", {})
        if not isinstance(args, dict):
            raise CommandError("bad_request", "'args' must be an object", "指令格式错误")
        cid = payload.get("id")
        return cls(name, args, cid if isinstance(cid, str) else None)


Handler = Callable[[Command], Any]


def ok(result: Any = None) -> dict[str, Any]:
    return {"ok": True, "result": result}


def failed(error: CommandError) -> dict[str, Any]:
    return {"ok": False, "error": error.to_dict()}


class CommandRegistry:
    """Name -> handler.  A handler returns a JSON-able result or raises CommandError."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str, handler: Handler) -> None:
        if not NAME_RE.match(name):
            raise ValueError(f"invalid command name {name!r}")
        self._handlers[name] = handler

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def __contains__(self, name: object) -> bool:
        return name in self._handlers

    def handle(self, command: Command) -> dict[str, Any]:
        handler = self._handlers.get(command.name)
        if handler is None:
            return failed(
                CommandError(
                    "unknown_command",
                    f"this device has no handler for {command.name!r} "
                    f"(it knows {', '.join(self.names()) or 'only health'})",
                    "设备不支持该指令",
                )
            )
        try:
            return ok(handler(command))
        except CommandError as exc:
            log.warning("command %s failed: %s", command.name, exc.message)
            return failed(exc)
        except Exception as exc:
            log.exception("command %s crashed", command.name)
            return failed(CommandError("internal", f"{type(exc).__name__}: {exc}", "设备内部错误"))


def forward_to_role(link: Any, *, timeout: float = 5.0) -> Handler:
    """Relay a command to the device's role app over the hall plane (``.../control``).

    ``link`` is the agent's :class:`sync.mqtt.MqttLink` to the hall broker.
    """

    def handler(command: Command) -> Any:
        from sync.mqtt import LinkError

        topic = topics.control(link.hall_id, link.device_id)
        payload: dict[str, Any] = {"cmd": command.name, "args": command.args}
        if command.id:
            payload["id"] = command.id
        try:
            answer = link.request(topic, payload, timeout=timeout)
        except LinkError as exc:
            raise CommandError(
                "role_unavailable",
                f"the {link.device_id} app did not answer {command.name} on the hall plane: {exc}",
                "设备应用未响应",
            ) from None
        if not isinstance(answer, dict) or "ok" not in answer:
            raise CommandError(
                "bad_answer", f"the role app answered {answer!r:.80}", "设备应答异常"
            )
        if not answer["ok"]:
            err = answer.get("error") or {}
            raise CommandError(
                str(err.get("code", "failed")),
                str(err.get("message", "")),
                str(err.get("message_zh", "设备无法执行该指令")),
            )
        return answer.get("result")

    return handler


def run_program(argv: Sequence[str], *, timeout: float = 30.0) -> Handler:
    """A handler that runs a program (e.g. ``systemctl reload hall-engine``)."""

    def handler(command: Command) -> Any:
        try:
            done = subprocess.run(
                list(argv), capture_output=True, text=True, timeout=timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CommandError("program_failed", f"{argv[0]}: {exc}", "设备命令执行失败") from None
        if done.returncode != 0:
            raise CommandError(
                "program_failed",
                f"{' '.join(argv)} exited with {done.returncode}: {done.stderr.strip()[:200]}",
                "设备命令执行失败",
            )
        return {"exit": 0, "output": done.stdout.strip()[:500]}

    return handler


def serve_control(link: Any, handlers: Mapping[str, Callable[[dict[str, Any]], Any]]) -> None:
    """For role apps: answer the sync agent's control requests on the hall plane.

    ``handlers`` maps a command name to ``fn(args) -> result``; raise
    :class:`CommandError` to refuse with a reason.
    """

    def on_request(message: Any) -> dict[str, Any]:
        try:
            command = Command.from_payload(message.payload)
        except CommandError as exc:
            return failed(exc)
        fn = handlers.get(command.name)
        if fn is None:
            return failed(
                CommandError(
                    "unknown_command", f"{link.device_id} cannot {command.name}", "设备不支持该指令"
                )
            )
        try:
            return ok(fn(command.args))
        except CommandError as exc:
            return failed(exc)
        except Exception as exc:
            log.exception("control command %s failed", command.name)
            return failed(CommandError("internal", f"{type(exc).__name__}: {exc}", "设备内部错误"))

    link.serve(topics.control(link.hall_id, link.device_id), on_request)
