"""io.kestra.plugin.notifications.slack: SlackIncomingWebhook and SlackExecution.

Also accepted under the names of Kestra's newer Slack plugin (``io.kestra.plugin.slack.*`` and the
``io.kestra.plugin.slack.notifications.*`` spelling of the blueprints), whose properties are the same.
"""

from __future__ import annotations

import re
from typing import Any

from ..base import Prop, TaskContext, TaskFailure
from .summary import EXECUTION_PROPS, Summary, summarise
from .webhook import Webhook, parse_json, url_prop

_MARKDOWN = ((re.compile(r"\*\*(.*?)\*\*"), r"*\1*"),   # bold
             (re.compile(r"__(.*?)__"), r"_\1_"),        # italic
             (re.compile(r"\[(.*?)\]\((.*?)\)"), r"<\2|\1>"))  # links


def to_mrkdwn(text: str) -> str:
    """Markdown's bold, italic and links in Slack's mrkdwn, as Kestra converts ``messageText``."""
    for pattern, replacement in _MARKDOWN:
        text = pattern.sub(replacement, text)
    return text


class SlackIncomingWebhook(Webhook):
    """Send a Slack message through an incoming webhook: `payload` (JSON) or `messageText`."""

    type = "io.kestra.plugin.notifications.slack.SlackIncomingWebhook"
    aliases = ("io.kestra.plugin.slack.SlackIncomingWebhook",
               "io.kestra.plugin.slack.notifications.SlackIncomingWebhook")
    service = "Slack"
    properties = {
        **Webhook.properties,
        "url": url_prop("Slack", "SLACK_WEBHOOK"),
        "payload": Prop("string", description="The Slack message as JSON text (e.g. `{\"text\": \"...\"}` or blocks); "
                                              "wins over `messageText`."),
        "messageText": Prop("string", description="The message as text with Markdown (sent as `{\"text\": ...}` in "
                                                  "Slack's mrkdwn), or as a JSON object sent as it is."),
    }

    def message(self, ctx: TaskContext) -> Any:
        payload = ctx.get("payload")
        if payload is not None:
            return parse_json(payload, "payload")
        text = ctx.get("messageText")
        if text is None:
            raise TaskFailure("Either 'messageText' or 'payload' must be provided")
        try:
            return parse_json(text, "messageText")
        except TaskFailure:
            return {"text": to_mrkdwn(text)}


def execution_message(summary: Summary) -> dict[str, Any]:
    """Kestra's Slack summary: a text, a section (with a Details button when there is a link), and an
    attachment listing the facts, coloured by state."""
    title = f"<{summary.link}|{summary.title}>" if summary.link else summary.title
    text = f"*{title}*\n> {summary.outcome()}"
    section: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if summary.link:
        section["accessory"] = {"type": "button", "text": {"type": "plain_text", "text": "Details"},
                                "url": summary.link}
    blocks = [section]
    if summary.custom_message is not None:
        blocks.insert(0, {"type": "section", "text": {"type": "mrkdwn", "text": summary.custom_message}})
    facts = [*summary.facts(), *summary.custom_fields.items(), ("Final task ID", summary.last_task)]
    colour = {"SUCCESS": "good", "WARNING": "warning"}.get(summary.state, "danger")
    started = int(summary.start_date.timestamp()) if summary.start_date else None
    return {
        "text": text,
        "blocks": blocks,
        "attachments": [{"color": colour, "fields": [{"title": name, "value": value, "short": True}
                                                      for name, value in facts], "ts": started}],
    }


class SlackExecution(SlackIncomingWebhook):
    """Send a Slack message summarising an execution (flow, id, state, duration, failed task)."""

    type = "io.kestra.plugin.notifications.slack.SlackExecution"
    aliases = ("io.kestra.plugin.slack.SlackExecution", "io.kestra.plugin.slack.notifications.SlackExecution")
    properties = {
        **SlackIncomingWebhook.properties,
        **EXECUTION_PROPS,
        "payload": Prop("string", description="Ignored: the summary is the message."),
        "messageText": Prop("string", description="Ignored: the summary is the message."),
        "channel": Prop("string", description="Channel to post to (legacy webhooks only; new ones are tied to one)."),
        "username": Prop("string", description="Author shown on the message (legacy webhooks only)."),
        "iconUrl": Prop("string", description="URL of the icon shown on the message (legacy webhooks only)."),
        "iconEmoji": Prop("string", description="Emoji shown as the icon of the message (legacy webhooks only)."),
    }

    def message(self, ctx: TaskContext) -> Any:
        message = execution_message(summarise(ctx))
        for prop, key in (("channel", "channel"), ("username", "username"), ("iconUrl", "icon_url"),
                          ("iconEmoji", "icon_emoji")):
            value = ctx.get(prop)
            if value is not None:
                message[key] = value
        return message
