"""io.kestra.plugin.notifications.teams: TeamsIncomingWebhook and TeamsExecution (the webhook also
under the name of Kestra's newer Microsoft 365 plugin)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..base import Prop, TaskContext
from .summary import EXECUTION_PROPS, Summary, summarise
from .webhook import Webhook, required_payload, url_prop


class TeamsIncomingWebhook(Webhook):
    """Send a Microsoft Teams message through an incoming webhook (`payload`, sent as it is)."""

    type = "io.kestra.plugin.notifications.teams.TeamsIncomingWebhook"
    aliases: ClassVar[tuple[str, ...]] = ("io.kestra.plugin.microsoft365.teams.TeamsIncomingWebhook",)
    service = "Microsoft Teams"
    properties = {
        **Webhook.properties,
        "url": url_prop("Microsoft Teams", "TEAMS_WEBHOOK"),
        "payload": Prop("string", description="The Teams message (a MessageCard or an Adaptive Card message) as "
                                              "JSON text, sent as it is."),
    }

    def message(self, ctx: TaskContext) -> Any:
        return required_payload(ctx)


def execution_card(summary: Summary, theme_color: str | None, title: str | None,
                   subtitle: str | None) -> dict[str, Any]:
    """Kestra's Teams summary: a MessageCard with the outcome as its summary and the facts."""
    section: dict[str, Any] = {}
    if title is not None:
        section["activityTitle"] = title
    if subtitle is not None:
        section["activitySubtitle"] = subtitle
    facts = [*summary.facts(), ("Final task ID", summary.last_task or "")]
    section["facts"] = [{"name": name, "value": str(value)} for name, value in facts]
    section["markdown"] = True
    return {
        "@type": "MessageCard",
        "@context": "http://schema.org/extensions",
        "themeColor": theme_color or "",
        "summary": f"*<{summary.link or ''}|{summary.title}>*\n> {summary.outcome()}",
        "sections": [section],
    }


class TeamsExecution(TeamsIncomingWebhook):
    """Send a Microsoft Teams message summarising an execution (flow, id, state, duration, failed task)."""

    type = "io.kestra.plugin.notifications.teams.TeamsExecution"
    aliases: ClassVar[tuple[str, ...]] = ()  # the newer plugin's name belongs to the webhook only
    properties = {
        **TeamsIncomingWebhook.properties,
        **EXECUTION_PROPS,
        "payload": Prop("string", description="Ignored: the summary is the message."),
        "themeColor": Prop("string", default="0076D7", description="Theme colour of the card (hex RGB)."),
        "activityTitle": Prop("string", description="Activity title of the card's section."),
        "activitySubtitle": Prop("string", description="Activity subtitle of the card's section."),
    }

    def message(self, ctx: TaskContext) -> Any:
        return execution_card(summarise(ctx), ctx.get("themeColor"), ctx.get("activityTitle"),
                              ctx.get("activitySubtitle"))
