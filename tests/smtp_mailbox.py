"""A real SMTP server for tests, on a free port of 127.0.0.1, that keeps every message it is sent.

    from smtp_mailbox import Mailbox       # tests/ is on pytest's pythonpath

    with Mailbox() as box:                 # listening once this returns
        env = {"UPTAKE_SMTP_HOST": box.host, "UPTAKE_SMTP_PORT": str(box.port)}
        ...                                # something (another process, too) sends mail
        mail = box.wait_for("ann@example.org", subject="Confirm", timeout=30)
        mail.subject, mail.text, mail.links  # parsed with the `email` package

It is aiosmtpd's Controller (an asyncio SMTP server in a thread of this process): the code under
test talks real SMTP to it, so what is checked is what would leave for a mail server. Nothing is
relayed anywhere. `wait_for` blocks on a condition (no polling sleeps) until a matching message
arrives or the timeout passes (AssertionError listing what did arrive).

It can also misbehave as real servers do, to test what the sender does then: `refuse` is a set of
addresses whose RCPT TO it answers 550 (the message is not accepted for them), and `accept_limit`
(when not None) is how many more messages it accepts before answering every MAIL FROM with
421 "shutting down" (a server going away half-way through a run).
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from dataclasses import dataclass, field

__all__ = ["Mail", "Mailbox"]

_URL = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class Mail:
    """One message as received: the envelope (sender, recipients) and the parsed message."""

    sender: str
    recipients: tuple[str, ...]  # the envelope's RCPT TO addresses, lower case
    to: str  # the To: header
    subject: str
    text: str  # the text/plain body ('' when there is none)
    html: str  # the text/html body ('' when there is none)
    raw: bytes = field(repr=False)

    @property
    def links(self) -> list[str]:
        """Every http(s) address in the text body, in order."""
        return [u.rstrip(".,;)") for u in _URL.findall(self.text)]

    def is_to(self, address: str) -> bool:
        a = address.strip().lower()
        return a in self.recipients or a in self.to.lower()


def _parse(sender: str, recipients: list[str], raw: bytes) -> Mail:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts = {}
    for kind in ("plain", "html"):
        part = msg.get_body(preferencelist=(kind,))
        parts[kind] = part.get_content() if part is not None else ""
    return Mail(sender=sender, recipients=tuple(r.lower() for r in recipients), to=str(msg.get("To", "")),
                subject=str(msg.get("Subject", "")).strip(), text=parts["plain"], html=parts["html"], raw=raw)


class _Handler:
    def __init__(self, box: Mailbox):
        self.box = box

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # aiosmtpd's hook
        if self.box.accept_limit is not None and self.box.accept_limit <= 0:
            return "421 4.3.2 Service shutting down (test server)"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # aiosmtpd's hook
        if address.lower() in self.box.refuse:
            return "550 5.1.1 Mailbox unavailable (refused by the test server)"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook, names fixed by it
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        self.box._add(_parse(envelope.mail_from or "", list(envelope.rcpt_tos), raw))
        if self.box.accept_limit is not None:
            self.box.accept_limit -= 1
        return "250 Message accepted for delivery"


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Mailbox:
    """An SMTP server on `host`:`port` (a free port chosen by `start`) collecting messages.

    start() / stop(), or use it as a context manager. `messages` is a snapshot of everything
    received so far; `wait_for(address, ...)` returns the first message to that address (matching
    `subject`, a substring, if given) that arrived after `since` (an index into `messages`, e.g.
    `len(box.messages)` taken before the action that sends), waiting up to `timeout` seconds;
    `clear()` forgets what was received. Thread-safe: the server runs in its own thread."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.port: int | None = None
        self._messages: list[Mail] = []
        self._arrived = threading.Condition()
        self._controller = None
        self.refuse: set[str] = set()  # lower-case addresses whose RCPT TO is answered 550
        self.accept_limit: int | None = None  # messages still accepted before 421 to every MAIL FROM

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> Mailbox:
        from aiosmtpd.controller import Controller

        if self._controller is not None:
            return self
        last: Exception | None = None
        for _ in range(5):  # a free port can be taken between choosing it and binding it: try another
            port = _free_port(self.host)
            controller = Controller(_Handler(self), hostname=self.host, port=port, server_hostname="localhost",
                                    ready_timeout=10)
            try:
                controller.start()
            except Exception as exc:  # noqa: BLE001 - retried on another port, raised below
                last = exc
                continue
            self._controller, self.port = controller, port
            return self
        raise RuntimeError(f"could not start an SMTP server on {self.host}: {last}")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Mailbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- messages -------------------------------------------------------------------------------------

    def _add(self, mail: Mail) -> None:
        with self._arrived:
            self._messages.append(mail)
            self._arrived.notify_all()

    @property
    def messages(self) -> list[Mail]:
        with self._arrived:
            return list(self._messages)

    def clear(self) -> None:
        with self._arrived:
            self._messages.clear()

    def to(self, address: str) -> list[Mail]:
        """Every message received so far for `address`."""
        return [m for m in self.messages if m.is_to(address)]

    def wait_for(self, address: str, *, subject: str | None = None, since: int = 0,
                 timeout: float = 30.0) -> Mail:
        def match() -> Mail | None:
            for m in self._messages[since:]:
                if m.is_to(address) and (subject is None or subject.lower() in m.subject.lower()):
                    return m
            return None

        deadline = time.monotonic() + timeout
        with self._arrived:
            while (found := match()) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(m.recipients, m.subject) for m in self._messages]
                    raise AssertionError(f"no message to {address}"
                                         f"{f' with {subject!r} in its subject' if subject else ''} within "
                                         f"{timeout:g} s; received: {seen}")
                self._arrived.wait(left)
            return found
