"""io.kestra.plugin.notifications.google: GoogleChatIncomingWebhook and GoogleChatExecution (also
under the names of Kestra's newer Google Workspace plugin, ``io.kestra.plugin.googleworkspace.chat.*``)."""

from __future__ import annotations

from typing import Any

from ..base import Prop, TaskContext
from .summary import EXECUTION_PROPS, Summary, summarise
from .webhook import Webhook, required_payload, url_prop


class GoogleChatIncomingWebhook(Webhook):
    """Send a Google Chat message through an incoming webhook (`payload`, sent as it is)."""

    type = "io.kestra.plugin.notifications.google.GoogleChatIncomingWebhook"
    aliases = ("io.kestra.plugin.googleworkspace.chat.GoogleChatIncomingWebhook",)
    service = "Google Chat"
    properties = {
        **Webhook.properties,
        "url": url_prop("Google Chat", "GOOGLE_WEBHOOK"),
        "payload": Prop("string", description="The Google Chat message as JSON text (e.g. `{\"text\": \"...\"}`), "
                                              "sent as it is."),
    }

    def message(self, ctx: TaskContext) -> Any:
        return required_payload(ctx)


def execution_text(summary: Summary) -> str:
    """Kestra's Google Chat summary: one line of facts, then the linked title and the outcome."""
    return (f"Kestra Google notification: Namespace {summary.namespace}, Flow ID {summary.flow_id}, "
            f"Execution ID {summary.execution_id}, Execution Status {summary.state}, Final task ID "
            f"{summary.last_task or ''}. *<{summary.link or ''}|{summary.title}>*\n> {summary.outcome()}")


class GoogleChatExecution(GoogleChatIncomingWebhook):
    """Send a Google Chat message summarising an execution (flow, id, state, duration, failed task)."""

    type = "io.kestra.plugin.notifications.google.GoogleChatExecution"
    aliases = ("io.kestra.plugin.googleworkspace.chat.GoogleChatExecution",)
    properties = {
        **GoogleChatIncomingWebhook.properties,
        **EXECUTION_PROPS,
        "payload": Prop("string", description="Ignored: the summary is the message."),
        "text": Prop("string", description="When set, the message text instead of the summary."),
    }

    def message(self, ctx: TaskContext) -> Any:
        text = ctx.get("text")
        return {"text": text if text is not None else execution_text(summarise(ctx))}
