"""A real SMTP server on loopback (aiosmtpd) with STARTTLS or implicit TLS on a self-signed
certificate (made with ``cryptography``), optional AUTH, and controllable refusals::

    with FakeSMTP(tls="starttls", users={"alerts": "pw"}) as smtp:
        smtp.smarthost       # "127.0.0.1:PORT"
        smtp.ca_file         # the certificate to trust (tls_config.ca_file)
        smtp.messages        # [ReceivedMail(...)] with .message (email.message.Message)

Plain connections are refused AUTH (``538`` encryption required) and, with
``require_starttls``, everything but EHLO/STARTTLS (``530``). ``reject`` makes RCPT fail with
``550 5.1.1``; :meth:`fail_next` answers the next DATA with a chosen code (``451`` =
temporary)."""

from __future__ import annotations

import ssl
import tempfile
import threading
import warnings
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from watchkeeper.testing.server import free_port
from watchkeeper.testing.tls import self_signed


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    tls: bool
    user: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        if not isinstance(parsed, EmailMessage):
            raise TypeError("not an EmailMessage")
        return parsed

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return "" if body is None else str(body.get_content())  # type: ignore[attr-defined]


class _Handler:
    def __init__(self, owner: FakeSMTP) -> None:
        self.owner = owner

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.owner.reject:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        failure = self.owner._take_failure()
        if failure:
            return failure
        mail = ReceivedMail(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=envelope.original_content or envelope.content,
            tls=session.ssl is not None or self.owner.tls == "implicit",
            user=session.auth_data if isinstance(session.auth_data, str) else None,
        )
        with self.owner.lock:
            self.owner.messages.append(mail)
        return f"250 2.0.0 Ok: queued as WK{len(self.owner.messages):05d}"


class _Controller(Controller):
    def factory(self) -> Any:
        # implicit TLS: the connection is encrypted though aiosmtpd does not count it as TLS
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return super().factory()  # type: ignore[no-untyped-call]


class FakeSMTP:
    def __init__(
        self,
        *,
        tls: Literal["starttls", "implicit", "none"] = "starttls",
        users: dict[str, str] | None = None,
        require_starttls: bool = True,
        reject: set[str] | None = None,
        port: int = 0,
    ) -> None:
        self.tls = tls
        self.users = users
        self.reject = reject or set()
        self.lock = threading.Lock()
        self.messages: list[ReceivedMail] = []
        self._failures: list[str] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="wk-smtp-")
        self.cert_file, self.key_file = self_signed(Path(self._tmp.name), days=2, name="smtp")
        self.port = port or free_port()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        kwargs: dict[str, Any] = {
            "hostname": "127.0.0.1",
            "port": self.port,
            "auth_require_tls": True,
            "ready_timeout": 10.0,
        }
        if users is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True)
        if tls == "starttls":
            kwargs.update(tls_context=context, require_starttls=require_starttls)
        elif tls == "implicit":
            # the whole connection is TLS; aiosmtpd only counts STARTTLS as "TLS" for AUTH
            kwargs.update(ssl_context=context, auth_require_tls=False)
        self.controller = _Controller(_Handler(self), **kwargs)

    @property
    def ca_file(self) -> str:
        return str(self.cert_file)

    @property
    def smarthost(self) -> str:
        return f"127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget what was received, planned refusals and rejected recipients."""
        with self.lock:
            self.messages.clear()
            self._failures.clear()
        self.reject.clear()

    def fail_next(self, reply: str = "451 4.3.0 Try again later", *, times: int = 1) -> None:
        with self.lock:
            self._failures.extend([reply] * times)

    def _take_failure(self) -> str | None:
        with self.lock:
            return self._failures.pop(0) if self._failures else None

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.users is None:
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        ok = self.users.get(user) == password
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    def start(self) -> FakeSMTP:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
        self._tmp.cleanup()

    def __enter__(self) -> FakeSMTP:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
