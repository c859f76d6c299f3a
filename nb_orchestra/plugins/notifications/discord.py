"""io.kestra.plugin.notifications.discord: DiscordIncomingWebhook and DiscordExecution (also accepted
under the names of Kestra's newer Discord plugin, ``io.kestra.plugin.discord.*``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..base import Prop, TaskContext, TaskFailure
from .summary import EXECUTION_PROPS, Summary, summarise
from .webhook import Webhook, parse_json, required_payload, url_prop


class DiscordIncomingWebhook(Webhook):
    """Send a Discord message through an incoming webhook (`payload`: the message as JSON)."""

    type = "io.kestra.plugin.notifications.discord.DiscordIncomingWebhook"
    aliases = ("io.kestra.plugin.discord.DiscordIncomingWebhook",)
    service = "Discord"
    properties = {
        **Webhook.properties,
        "url": url_prop("Discord", "DISCORD_WEBHOOK"),
        "payload": Prop("string", description="The Discord message as JSON text (`content`, `embeds`...)."),
    }

    def message(self, ctx: TaskContext) -> Any:
        return parse_json(required_payload(ctx), "payload")


def execution_embed(summary: Summary) -> dict[str, Any]:
    """Kestra's Discord summary embed: the facts as its description, the outcome as its footer."""
    description = (f"Namespace: {summary.namespace}\nFlow ID: {summary.flow_id}\nExecution ID: "
                   f"{summary.execution_id}\nExecution Status: {summary.state} \nFinal task ID: "
                   f"{summary.last_task or ''} ")
    if summary.link:
        description += f"\n\n[Link to the Execution page]({summary.link})"
    return {"description": description, "footer": {"text": summary.outcome()}}


def _embed(raw: Any, avatar_url: str | None, index: int) -> dict[str, Any]:
    """One entry of ``embedList`` as Discord reads it."""
    if not isinstance(raw, Mapping):
        raise TaskFailure(f"property 'embedList': entry {index} must be a map")
    embed: dict[str, Any] = {}
    for key, name in (("title", "title"), ("description", "description"), ("websiteUrl", "url")):
        if raw.get(key) is not None:
            embed[name] = raw[key]
    if raw.get("thumbnail") is not None:
        embed["thumbnail"] = {"url": raw["thumbnail"]}
    if raw.get("authorName") is not None:
        embed["author"] = {"name": raw["authorName"], "url": raw.get("websiteUrl"), "icon_url": avatar_url}
    color = raw.get("color")
    if color is not None:
        try:
            red, green, blue = (int(c) for c in color[:3]) if len(color) >= 3 else (0, 0, 0)
        except (TypeError, ValueError):
            raise TaskFailure(f"property 'embedList': entry {index}: color must be [red, green, blue]") from None
        embed["color"] = (red << 16) + (green << 8) + blue
    if raw.get("footer") is not None:
        embed["footer"] = {"text": raw["footer"]}
    return embed


class DiscordExecution(DiscordIncomingWebhook):
    """Send a Discord message summarising an execution (flow, id, state, duration, failed task)."""

    type = "io.kestra.plugin.notifications.discord.DiscordExecution"
    aliases = ("io.kestra.plugin.discord.DiscordExecution",)
    properties = {
        **DiscordIncomingWebhook.properties,
        **EXECUTION_PROPS,
        "payload": Prop("string", description="When set (not blank), sent instead of the summary."),
        "username": Prop("string", description="Name the webhook posts under."),
        "avatarUrl": Prop("string", description="Avatar URL the webhook posts with."),
        "content": Prop("string", description="Message content, above the summary embed."),
        "embedList": Prop("list", description="Embeds, each {title, description, websiteUrl, thumbnail, authorName, "
                                              "color: [r, g, b], footer}; the first also holds the summary."),
    }

    def message(self, ctx: TaskContext) -> Any:
        payload = ctx.get("payload")
        if payload is not None and str(payload).strip():
            return parse_json(payload, "payload")
        summary_embed = execution_embed(summarise(ctx))
        message: dict[str, Any] = {}
        username, avatar_url = ctx.get("username"), ctx.get("avatarUrl")
        if username is not None:
            message["username"] = username
        if avatar_url is not None:
            message["avatar_url"] = avatar_url
        message["tts"] = False
        embeds = [_embed(raw, avatar_url, i) for i, raw in enumerate(ctx.get("embedList") or [])]
        if embeds:
            embeds[0].update(summary_embed)
        message["embeds"] = embeds or [summary_embed]
        content = ctx.get("content")
        if content is not None:
            message["content"] = content
        return message
