"""io.kestra.plugin.notifications.mail: MailSend and MailExecution, over SMTP with the standard
library (``smtplib``, ``email``, imported when a mail is sent); also accepted as Kestra's newer
``io.kestra.plugin.email.*``.

``transportStrategy`` as simple-java-mail reads it: SMTPS (the default) speaks TLS from the first
byte, SMTP_TLS requires STARTTLS, SMTP upgrades with STARTTLS when the server offers it (without
checking the certificate, as opportunistic TLS does), SMTP_OAUTH2 authenticates with XOAUTH2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...secrets import SecretValues, mask
from ..base import Prop, TaskContext, TaskFailure, TaskPlugin
from .attachments import attachments_prop, read_attachments
from .summary import EXECUTION_PROPS, PLAIN_TEXT_FALLBACK, summarise, summary_html

if TYPE_CHECKING:
    import ssl
    from email.message import EmailMessage

STRATEGIES = ("SMTP", "SMTPS", "SMTP_TLS", "SMTP_OAUTH2")
_DEFAULT_PORTS = {"SMTP": 25, "SMTPS": 465, "SMTP_TLS": 587, "SMTP_OAUTH2": 587}


def addresses(text: str | None) -> list[tuple[str, str]]:
    """``"a@x.org; Bo <b@y.org>"`` -> [(name, address)...]: separated by semicolons (or commas)."""
    from email.utils import getaddresses

    if not text:
        return []
    return [(name, addr) for name, addr in getaddresses([text.replace(";", ",")]) if addr]


@dataclass(frozen=True)
class Server:
    """Where and how a mail is handed over."""

    host: str
    port: int
    strategy: str
    username: str | None
    credential: str | None
    timeout: float
    verify_identity: bool
    trusted_hosts: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def tls(self, opportunistic: bool = False) -> ssl.SSLContext:
        import ssl

        context = ssl.create_default_context()
        if opportunistic or self.host in self.trusted_hosts:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif not self.verify_identity:
            context.check_hostname = False
        return context

    def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> None:
        """Hand ``message`` over; every failure is a short TaskFailure without the credential."""
        import smtplib
        import ssl

        try:
            self._send(message, sender, recipients)
        except smtplib.SMTPAuthenticationError as exc:
            raise self._failure(f"SMTP authentication of '{self.username}' refused by {self.where}: "
                                f"{exc.smtp_code} {_text(exc.smtp_error)}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise self._failure(f"{self.where} refused the recipients {', '.join(exc.recipients)}") from None
        except smtplib.SMTPResponseException as exc:
            raise self._failure(f"{self.where} answered {exc.smtp_code} {_text(exc.smtp_error)}") from None
        except smtplib.SMTPException as exc:
            raise self._failure(f"sending mail through {self.where} failed: {exc}") from None
        except TimeoutError:
            raise self._failure(f"timed out after {self.timeout:g}s talking to {self.where}") from None
        except ssl.SSLError as exc:
            raise self._failure(f"TLS with {self.where} failed: {exc.reason or exc}") from None
        except OSError as exc:
            raise self._failure(f"cannot reach SMTP server {self.where}: {exc.strerror or exc}") from None

    def _send(self, message: EmailMessage, sender: str, recipients: list[str]) -> None:
        import smtplib

        client: smtplib.SMTP
        if self.strategy == "SMTPS":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.tls())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.strategy in ("SMTP_TLS", "SMTP_OAUTH2"):
                client.starttls(context=self.tls())
            elif self.strategy == "SMTP":
                client.ehlo_or_helo_if_needed()
                if client.has_extn("starttls"):
                    client.starttls(context=self.tls(opportunistic=True))
            if self.strategy == "SMTP_OAUTH2":
                token = f"user={self.username or ''}\x01auth=Bearer {self.credential}\x01\x01"
                client.ehlo_or_helo_if_needed()
                client.auth("XOAUTH2", lambda challenge=None: token, initial_response_ok=True)
            elif self.username:
                client.login(self.username, self.credential or "")
            client.send_message(message, from_addr=sender, to_addrs=recipients)

    def _failure(self, message: str) -> TaskFailure:
        return TaskFailure(mask(message, SecretValues([self.credential] if self.credential else [])))


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _required(ctx: TaskContext, name: str) -> Any:
    value = ctx.get(name)
    if value is None or value == "":
        raise TaskFailure(f"property '{name}' is required")
    return value


class MailSend(TaskPlugin):
    """Send a mail over SMTP: plain text and/or HTML, cc, attachments from `kestra://` files."""

    type = "io.kestra.plugin.notifications.mail.MailSend"
    aliases = ("io.kestra.plugin.email.MailSend",)
    blocking = True
    properties = {
        "host": Prop("string", description="The SMTP server's host."),
        "port": Prop("int", description="The SMTP server's port (default: 465 for SMTPS, 587 for SMTP_TLS, 25 for "
                                        "SMTP)."),
        "username": Prop("string", description="User name to authenticate with (no authentication when absent)."),
        "password": Prop("string", description="Password of `username` (a secret: never shown in logs or errors)."),
        "transportStrategy": Prop("enum", default="SMTPS", choices=STRATEGIES, description=(
            "SMTPS: TLS from the start; SMTP_TLS: STARTTLS required; SMTP: plain, STARTTLS when offered; "
            "SMTP_OAUTH2: STARTTLS and XOAUTH2 with `accessToken` (or `password`).")),
        "sessionTimeout": Prop("int", default=10000, description="Network timeout in milliseconds."),
        "verifyServerIdentity": Prop("bool", default=True, description="Check that the server's certificate names "
                                                                        "`host`."),
        "trustedHosts": Prop("list", description="Hosts whose TLS certificates are trusted without verification."),
        "accessToken": Prop("string", description="OAuth2 access token for SMTP_OAUTH2 (a secret)."),
        "from": Prop("string", description="The sender's address."),
        "to": Prop("string", description="Recipient address(es), separated by semicolons (RFC 2822 addresses)."),
        "cc": Prop("string", description="Carbon-copy address(es), separated by semicolons."),
        "subject": Prop("string", description="The subject."),
        "htmlTextContent": Prop("string", description="The body as HTML (offered next to the plain text)."),
        "plainTextContent": Prop("string", description="The body as plain text (default: \"Please view this email "
                                                       "in a modern email client\")."),
        "attachments": attachments_prop("any", "Files attached to the mail"),
        "embeddedImages": attachments_prop("any", "Images the HTML body shows as `cid:<name>`"),
    }

    def contents(self, ctx: TaskContext) -> tuple[str, str | None]:
        """The plain text and HTML bodies."""
        plain = ctx.get("plainTextContent")
        return (PLAIN_TEXT_FALLBACK if plain is None else plain), ctx.get("htmlTextContent")

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        to, cc = addresses(_required(ctx, "to")), addresses(ctx.get("cc"))
        senders = addresses(_required(ctx, "from"))
        if not to or not senders:
            raise TaskFailure(f"property '{'to' if not to else 'from'}' holds no e-mail address")
        message = self.compose(ctx, senders[0], to, cc)
        server = self.server(ctx)
        ctx.log("DEBUG", f"Sending an email to {message['To']}")
        server.send(message, senders[0][1], [addr for _name, addr in to + cc])
        ctx.info(f"Mail sent to {len(to) + len(cc)} recipient(s) through {server.where}")
        return None

    def compose(self, ctx: TaskContext, sender: tuple[str, str], to: list[tuple[str, str]],
                cc: list[tuple[str, str]]) -> EmailMessage:
        from email.message import EmailMessage
        from email.utils import formataddr, formatdate, make_msgid

        plain, html = self.contents(ctx)
        message = EmailMessage()
        message["From"] = formataddr(sender)
        message["To"] = ", ".join(formataddr(pair) for pair in to)
        if cc:
            message["Cc"] = ", ".join(formataddr(pair) for pair in cc)
        subject = ctx.get("subject")
        if subject is not None:
            message["Subject"] = subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid()
        message["Return-Receipt-To"] = formataddr(sender)
        message.set_content(plain)
        if html is not None:
            message.add_alternative(html, subtype="html")
        images = read_attachments(ctx.get("embeddedImages"), "embeddedImages")
        holder = message.get_body(("html",)) if html is not None else None
        for image in images:
            main, sub = image.main_and_sub_type
            (holder or message).add_related(image.data, main, sub, cid=f"<{image.name}>", filename=image.name,
                                            disposition="inline")
        for attachment in read_attachments(ctx.get("attachments"), "attachments"):
            main, sub = attachment.main_and_sub_type
            message.add_attachment(attachment.data, main, sub, filename=attachment.name)
        return message

    def server(self, ctx: TaskContext) -> Server:
        strategy = ctx.get("transportStrategy")
        if strategy not in STRATEGIES:
            raise TaskFailure(f"property 'transportStrategy': '{strategy}' is not one of {', '.join(STRATEGIES)}")
        token = ctx.get("accessToken") if strategy == "SMTP_OAUTH2" else None
        credential = token or ctx.get("password")
        if strategy == "SMTP_OAUTH2" and credential is None:
            raise TaskFailure("When using SMTP_OAUTH2, either 'accessToken' or 'password' must be provided")
        return Server(host=_required(ctx, "host"), port=ctx.get("port") or _DEFAULT_PORTS[strategy],
                      strategy=strategy, username=ctx.get("username"), credential=credential,
                      timeout=ctx.get("sessionTimeout") / 1000, verify_identity=ctx.get("verifyServerIdentity"),
                      trusted_hosts=tuple(str(h) for h in ctx.get("trustedHosts") or ()))


class MailExecution(MailSend):
    """Send a mail summarising an execution (flow, id, state, duration, failed task) over SMTP."""

    type = "io.kestra.plugin.notifications.mail.MailExecution"
    aliases = ("io.kestra.plugin.email.MailExecution",)
    properties = {
        **MailSend.properties,
        **EXECUTION_PROPS,
        "htmlTextContent": Prop("string", description="Ignored: the summary is the HTML body."),
        "plainTextContent": Prop("string", description="Ignored: the plain text part says to read the HTML one."),
    }

    def contents(self, ctx: TaskContext) -> tuple[str, str | None]:
        return PLAIN_TEXT_FALLBACK, summary_html(summarise(ctx))
