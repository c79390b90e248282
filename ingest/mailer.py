"""One SMTP sender: settings from CAPACITY_SMTP_* and CAPACITY_MAIL_FROM, build a message, send it.

`send_message` sorts every failure into `MailRetryable` (the server is unreachable, disconnects or answers
4xx: try again later) or `MailRefused` (a 5xx answer or a failed login: trying again will not help). Messages
name the server as host:port and the SMTP code, never the password. One connection per message.
"""
from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Sequence

from queries import settings as app_settings
from queries.errors import CapacityError
from queries.text import printable

SECURITY = ("starttls", "tls", "none")
TIMEOUT_SECONDS = 20.0
SERVER_TEXT_SHOWN = 200   # characters of the server's answer kept in a message
_WHITESPACE = re.compile(r"\s+")
CONTENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")   # as mail_image checks it: safe in a header and a file name
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class MailRetryable(CapacityError):
    """A temporary problem (no connection, time-out, disconnect, a 4xx answer): the message may be sent again."""

    def __init__(self, nl: str, en: str, code: int | None = None) -> None:
        super().__init__(nl, en)
        self.code = code


class MailRefused(CapacityError):
    """A final refusal (a 5xx answer, a failed login, a server without what the settings ask): do not retry."""

    def __init__(self, nl: str, en: str, code: int | None = None) -> None:
        super().__init__(nl, en)
        self.code = code


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send mail; the password never shows in a repr."""

    host: str
    port: int
    security: str
    user: str
    password: str = field(repr=False)
    mail_from: str
    timeout: float = TIMEOUT_SECONDS

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def smtp_settings() -> SmtpSettings | None:
    """The mail settings, or None when CAPACITY_SMTP_HOST is empty (no mail is sent)."""
    host = app_settings.get("smtp_host").strip()
    if not host:
        return None
    port_text = app_settings.get("smtp_port").strip()
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise CapacityError(f"CAPACITY_SMTP_PORT moet een poortnummer zijn (1-65535), niet '{printable(port_text)}'.",
                            f"CAPACITY_SMTP_PORT must be a port number (1-65535), not '{printable(port_text)}'.")
    security = app_settings.get("smtp_security").strip().lower()
    if security not in SECURITY:
        raise CapacityError(
            f"CAPACITY_SMTP_SECURITY moet starttls, tls of none zijn, niet '{printable(security)}'.",
            f"CAPACITY_SMTP_SECURITY must be starttls, tls or none, not '{printable(security)}'.")
    user = app_settings.get("smtp_user").strip()
    if user and security == "none":
        raise CapacityError(
            "Met CAPACITY_SMTP_SECURITY=none zou het wachtwoord onversleuteld over het netwerk gaan; kies starttls "
            "of tls, of laat CAPACITY_SMTP_USER leeg.",
            "With CAPACITY_SMTP_SECURITY=none the password would cross the network unencrypted; choose starttls or "
            "tls, or leave CAPACITY_SMTP_USER empty.")
    mail_from = app_settings.get("mail_from").strip()
    if not mail_from:
        raise CapacityError("CAPACITY_SMTP_HOST is ingesteld maar CAPACITY_MAIL_FROM is leeg; geef de afzender, "
                            "bijvoorbeeld 'Capaciteit <noreply@example.nl>'.",
                            "CAPACITY_SMTP_HOST is set but CAPACITY_MAIL_FROM is empty; give the sender, for "
                            "example 'Capaciteit <noreply@example.nl>'.")
    if not address_domain(mail_from) or any(c in mail_from for c in "\r\n"):
        raise CapacityError(f"CAPACITY_MAIL_FROM is geen e-mailadres: '{printable(mail_from)}'.",
                            f"CAPACITY_MAIL_FROM is not an e-mail address: '{printable(mail_from)}'.")
    return SmtpSettings(host, int(port_text), security, user, app_settings.get("smtp_password"), mail_from)


def build_message(sender: str, recipient: str, subject: str, text: str, html: str | None = None,
                  images: Sequence[tuple[str, bytes]] = ()) -> EmailMessage:
    """A UTF-8 message with Date and Message-ID; multipart/alternative (text, then HTML) when html is given, the
    HTML multipart/related with each (content id, PNG) of `images` inline, shown by <img src="cid:CONTENT_ID">."""
    if any(c in value for value in (sender, recipient, subject) for c in "\r\n"):
        raise CapacityError("Een afzender, ontvanger of onderwerp mag geen regeleinde bevatten.",
                            "A sender, recipient or subject must not contain a line break.")
    check_images(images, html)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=address_domain(sender) or "localhost")
    message.set_content(text, charset="utf-8")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8")
        _add_inline(message.get_payload()[1], images)
    return message


def check_images(images: Sequence[tuple[str, bytes]], html: str | None) -> None:
    """Refuse inline images that could not be shown: without an HTML body, a bad or repeated content id, no PNG."""
    if images and html is None:
        raise CapacityError("Afbeeldingen in een e-mail hebben een HTML-tekst nodig om in te staan.",
                            "Images in an e-mail need an HTML body to appear in.")
    seen: set[str] = set()
    for content_id, png in images:
        shown = printable(content_id)[:SERVER_TEXT_SHOWN]
        if not CONTENT_ID.fullmatch(content_id) or content_id in seen:
            raise CapacityError(
                f"Ongeldige of dubbele Content-ID voor een afbeelding: '{shown}' (uniek per bericht; 1 tot 64 "
                "letters, cijfers, punten, streepjes of liggende streepjes).",
                f"Invalid or repeated Content-ID for an image: '{shown}' (unique per message; 1 to 64 letters, "
                "digits, dots, hyphens or underscores).")
        if not png.startswith(PNG_SIGNATURE):
            raise CapacityError(f"De afbeelding '{shown}' is geen PNG.", f"The image '{shown}' is not a PNG.")
        seen.add(content_id)


def _add_inline(html_part: EmailMessage, images: Sequence[tuple[str, bytes]]) -> None:
    """Attach each PNG to the HTML part (which becomes multipart/related), inline and named <content id>.png."""
    for content_id, png in images:
        html_part.add_related(png, maintype="image", subtype="png", cid=f"<{content_id}>",
                              filename=f"{content_id}.png", disposition="inline")


def send_message(settings: SmtpSettings, message: EmailMessage) -> None:
    """Hand the message to the mail server; MailRetryable or MailRefused when that did not happen."""
    try:
        client = _connect(settings)
    except (smtplib.SMTPException, OSError) as error:
        raise _classified(settings, error) from error
    try:
        if settings.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if settings.user:
            client.login(settings.user, settings.password)
        refused = client.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise _classified(settings, error) from error
    finally:
        _close(client)
    if refused:   # some recipients refused, others accepted: with one recipient a message never gets here
        code, answer = next(iter(refused.values()))
        raise _refused(settings, code, answer)


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.security == "tls":
        return smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                context=ssl.create_default_context())
    return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)


def _close(client: smtplib.SMTP) -> None:
    """Say goodbye; the message is already handed over (or not), so no failure here changes the outcome."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _classified(settings: SmtpSettings, error: Exception) -> MailRetryable | MailRefused:
    """The failure as a retryable or final error with the server, the SMTP code and the server's answer."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = list(error.recipients.values())
        final = [(code, answer) for code, answer in answers if code >= 500]
        return _refused(settings, *final[0]) if final else _temporary(settings, *answers[0])
    if isinstance(error, smtplib.SMTPResponseException):   # also a failed login (535) and a refused sender
        if error.smtp_code >= 500:
            return _refused(settings, error.smtp_code, error.smtp_error)
        return _temporary(settings, error.smtp_code, error.smtp_error)
    if isinstance(error, smtplib.SMTPNotSupportedError):
        what = printable(str(error))[:SERVER_TEXT_SHOWN]
        return MailRefused(
            f"De mailserver {settings.where} kan niet wat de instellingen vragen ({what}); pas "
            "CAPACITY_SMTP_SECURITY of CAPACITY_SMTP_USER aan.",
            f"The mail server {settings.where} does not offer what the settings ask ({what}); change "
            "CAPACITY_SMTP_SECURITY or CAPACITY_SMTP_USER.")
    what = _server_text(settings, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
    return MailRetryable(f"De mailserver {settings.where} is niet bereikbaar of verbrak de verbinding ({what}); "
                         "het bericht wordt later opnieuw verstuurd.",
                         f"The mail server {settings.where} cannot be reached or disconnected ({what}); the "
                         "message will be sent again later.")


def _temporary(settings: SmtpSettings, code: int, answer: bytes | str) -> MailRetryable:
    text = _server_text(settings, answer)
    return MailRetryable(f"De mailserver {settings.where} antwoordde {code} (tijdelijk): {text}",
                         f"The mail server {settings.where} answered {code} (temporary): {text}", code)


def _refused(settings: SmtpSettings, code: int, answer: bytes | str) -> MailRefused:
    text = _server_text(settings, answer)
    return MailRefused(f"De mailserver {settings.where} weigerde het bericht met {code}: {text}",
                       f"The mail server {settings.where} refused the message with {code}: {text}", code)


def _server_text(settings: SmtpSettings, answer: bytes | str) -> str:
    """The server's answer on one line, shortened, with the password (should a server echo it) blotted out."""
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer
    if settings.password:
        text = text.replace(settings.password, "***")
    return printable(_WHITESPACE.sub(" ", text).strip())[:SERVER_TEXT_SHOWN]


def address_domain(address: str) -> str:
    """The domain of an address such as 'Name <user@example.nl>' ('' when there is none)."""
    local, at, domain = parseaddr(address)[1].rpartition("@")
    return domain if local and at else ""
