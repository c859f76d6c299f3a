"""io.kestra.plugin.notifications.sendgrid: SendGridMailSend and SendGridMailExecution, a POST of
SendGrid's v3 ``mail/send`` JSON with httpx.

The API's base URL is ``https://api.sendgrid.com/v3`` unless the environment variable
``NB_ORCHESTRA_SENDGRID_URL`` names another (a local server in tests, a proxy): the flow stays as
Kestra runs it. The API key is a secret: never in logs or errors.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from ..base import Prop, TaskContext, TaskPlugin
from .attachments import Attachment, attachments_prop, read_attachments
from .summary import EXECUTION_PROPS, PLAIN_TEXT_FALLBACK, summarise, summary_html
from .webhook import RequestOptions, post

API_URL_VARIABLE = "NB_ORCHESTRA_SENDGRID_URL"
DEFAULT_API_URL = "https://api.sendgrid.com/v3"


def api_url() -> str:
    """SendGrid's API base URL: ``$NB_ORCHESTRA_SENDGRID_URL``, else SendGrid's own."""
    return (os.environ.get(API_URL_VARIABLE) or DEFAULT_API_URL).rstrip("/")


def _files(attachments: list[Attachment], disposition: str) -> list[dict[str, Any]]:
    return [{"content": base64.b64encode(item.data).decode("ascii"), "type": item.content_type,
             "filename": item.name, "disposition": disposition} for item in attachments]


class SendGridMailSend(TaskPlugin):
    """Send a mail with SendGrid's v3 API (base URL from $NB_ORCHESTRA_SENDGRID_URL, default SendGrid's)."""

    type = "io.kestra.plugin.notifications.sendgrid.SendGridMailSend"
    blocking = True
    properties = {
        "sendgridApiKey": Prop("string", required=True, description="The SendGrid API key (a secret: never shown "
                                                                    "in logs or errors)."),
        "from": Prop("string", required=True, description="The sender's address."),
        "to": Prop("list", required=True, description="Recipient addresses."),
        "cc": Prop("list", description="Carbon-copy addresses."),
        "subject": Prop("string", description="The subject."),
        "htmlContent": Prop("string", description="The body as HTML."),
        "textContent": Prop("string", description="The body as plain text."),
        "attachments": attachments_prop("list", "Files attached to the mail"),
        "embeddedImages": attachments_prop("list", "Images sent inline, for the HTML body"),
    }
    outputs = {
        "body": "The API's response body.",
        "headers": "The API's response headers (name -> value).",
        "statusCode": "The API's response code.",
    }

    def contents(self, ctx: TaskContext) -> tuple[str | None, str | None]:
        """The plain text and HTML bodies."""
        return ctx.get("textContent"), ctx.get("htmlContent")

    def mail(self, ctx: TaskContext) -> dict[str, Any]:
        """The JSON body of ``POST /mail/send`` as SendGrid's Java library builds it (empty parts left out)."""
        personalization: dict[str, Any] = {"to": [{"email": str(a)} for a in ctx.get("to")]}
        cc = ctx.get("cc") or []
        if cc:
            personalization["cc"] = [{"email": str(a)} for a in cc]
        subject = ctx.get("subject")
        if subject is not None:
            personalization["subject"] = subject
        mail: dict[str, Any] = {"from": {"email": ctx.get("from")}, "personalizations": [personalization]}
        text, html = self.contents(ctx)
        content = ([{"type": "text/plain", "value": text}] if text is not None else []) + \
            ([{"type": "text/html", "value": html}] if html is not None else [])
        if content:
            mail["content"] = content
        files = _files(read_attachments(ctx.get("attachments"), "attachments"), "attachment") + \
            _files(read_attachments(ctx.get("embeddedImages"), "embeddedImages"), "inline")
        if files:
            mail["attachments"] = files
        return mail

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        key = ctx.get("sendgridApiKey")
        mail = self.mail(ctx)
        ctx.log("DEBUG", f"Sending an email to {', '.join(ctx.get('to'))}")
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Accept": "application/json"}
        response = post(f"{api_url()}/mail/send", json.dumps(mail, ensure_ascii=False).encode("utf-8"), headers,
                        RequestOptions(), hidden=[key])
        return {"body": response.text, "headers": dict(response.headers.items()), "statusCode": response.status_code}


class SendGridMailExecution(SendGridMailSend):
    """Send a SendGrid mail summarising an execution (flow, id, state, duration, failed task)."""

    type = "io.kestra.plugin.notifications.sendgrid.SendGridMailExecution"
    properties = {
        **SendGridMailSend.properties,
        **EXECUTION_PROPS,
        "htmlContent": Prop("string", description="Ignored: the summary is the HTML body."),
        "textContent": Prop("string", description="Ignored: the plain text part says to read the HTML one."),
    }

    def contents(self, ctx: TaskContext) -> tuple[str | None, str | None]:
        return PLAIN_TEXT_FALLBACK, summary_html(summarise(ctx))
