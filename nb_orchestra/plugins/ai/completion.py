"""io.kestra.plugin.ai.completion.ChatCompletion: one chat turn of a conversation with a model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..base import Prop, TaskContext, TaskFailure, TaskPlugin
from .providers import Message, ai_outputs, chat, chat_settings, check_provider, read_provider

PROVIDER_DESCRIPTION = (
    "The model provider: a map with `type` (io.kestra.plugin.ai.provider.GoogleGemini, OpenAI or Ollama), "
    "`modelName`, `apiKey` (masked; e.g. `{{ kv('GEMINI_API_KEY') }}`), `baseUrl` (the API's base URL, for a "
    "gateway or a local server); Ollama takes `endpoint` instead of a key.")
CONFIGURATION_DESCRIPTION = (
    "Kestra's ChatConfiguration: `temperature`, `topK` (not with OpenAI), `topP`, `seed`, `maxToken`, "
    "`responseFormat` ({type: TEXT or JSON, jsonSchema, jsonSchemaDescription, strictJson}), `thinkingEnabled`, "
    "`thinkingBudgetTokens`, `returnThinking`, `logRequests`, `logResponses`.")

AI_OUTPUTS: dict[str, str] = {
    "textOutput": "The answer, for the TEXT response format (the default).",
    "jsonOutput": "The answer parsed as a JSON object, for the JSON response format.",
    "tokenUsage": "{inputTokenCount, outputTokenCount, totalTokenCount} as the provider reported them.",
    "finishReason": "Why the model stopped: STOP, LENGTH, CONTENT_FILTER, TOOL_EXECUTION or OTHER.",
    "requestDuration": "Duration of the model request, in milliseconds.",
    "thinking": "The model's reasoning text, when asked for (returnThinking) and returned.",
    "toolExecutions": "Tool calls made (always empty: tools are not supported here).",
    "intermediateResponses": "Intermediate responses (always empty without tools).",
    "guardrailViolated": "Always false (guardrails are not supported here).",
}

# Properties of Kestra's task that need what this package does not have (tools, MCP, guardrails...).
_REFUSED = {
    "tools": "tools are not supported here",
    "guardrails": "guardrails are not supported here",
    "observability": "observability export (Langfuse) is not supported here",
}


def refused_props(task: Any, names: Mapping[str, str]) -> list[tuple[str, str]]:
    """A problem for each refused property the task sets."""
    return [(name, f"property '{name}': {reason}") for name, reason in names.items()
            if task.props.get(name) not in (None, [], {})]


def read_prompt(ctx: TaskContext) -> str:
    """``prompt`` rendered; it must say something."""
    prompt = str(ctx.get("prompt") or "")
    if not prompt.strip():
        raise TaskFailure("property 'prompt' must not be empty")
    return prompt


def prompt_messages(ctx: TaskContext, user_text: str) -> list[Message]:
    """The task's ``systemMessage`` (when set), then ``user_text`` as the user's message."""
    system = ctx.get("systemMessage")
    return [*([Message("SYSTEM", str(system))] if system else []), Message("USER", user_text)]


def read_messages(raw: Any) -> list[Message]:
    """``messages`` as Kestra checks them: text content, one system message at most, the last the user's."""
    if not isinstance(raw, list) or not raw:
        raise TaskFailure("property 'messages' must be a non-empty list of {type, content}")
    messages = []
    for index, item in enumerate(raw):
        where = f"messages[{index}]"
        if not isinstance(item, Mapping):
            raise TaskFailure(f"{where} must be a map with type and content")
        role = str(item.get("type") or "").upper()
        if role not in ("SYSTEM", "USER", "AI"):
            raise TaskFailure(f"{where}.type must be SYSTEM, USER or AI, not '{item.get('type')}'")
        messages.append(Message(role, _message_text(item, where)))
    if sum(m.role == "SYSTEM" for m in messages) > 1:
        raise TaskFailure("property 'messages': only one system message is allowed")
    if messages[-1].role != "USER":
        raise TaskFailure("property 'messages': the last message must be a user message")
    # The system message goes first, wherever it was written (Kestra gives it to the model apart).
    return sorted(messages, key=lambda m: m.role != "SYSTEM")


def _message_text(item: Mapping[str, Any], where: str) -> str:
    content, blocks = item.get("content"), item.get("contentBlocks")
    has_text = content is not None and str(content).strip() != ""
    if has_text == bool(blocks):
        raise TaskFailure(f"{where}: exactly one of `content` or `contentBlocks` must be provided")
    if has_text:
        return str(content)
    if not isinstance(blocks, list):
        raise TaskFailure(f"{where}.contentBlocks must be a list")
    texts = []
    for block in blocks:
        kind = str((block or {}).get("type") or "TEXT").upper() if isinstance(block, Mapping) else "?"
        if kind != "TEXT":
            raise TaskFailure(f"{where}.contentBlocks: only TEXT blocks are supported here, not {kind}")
        if not str(block.get("text") or "").strip():
            raise TaskFailure(f"{where}.contentBlocks: TEXT blocks require a non-empty `text`")
        texts.append(str(block["text"]))
    return "\n".join(texts)


class ChatCompletion(TaskPlugin):
    """Send a conversation (`messages`) to a model (`provider`) and output its answer as `textOutput`."""

    type = "io.kestra.plugin.ai.completion.ChatCompletion"
    aliases = ("io.kestra.plugin.langchain4j.ChatCompletion", "io.kestra.plugin.langchain4j.completion.ChatCompletion")
    blocking = True
    example = """\
id: chat
namespace: company.team

tasks:
  - id: ask
    type: io.kestra.plugin.ai.completion.ChatCompletion
    provider:
      type: io.kestra.plugin.ai.provider.GoogleGemini
      modelName: gemini-2.5-flash
      apiKey: "{{ kv('GEMINI_API_KEY') }}"
    messages:
      - type: SYSTEM
        content: Answer in one sentence.
      - type: USER
        content: What is a workflow orchestrator?

  - id: answer
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.ask.textOutput }}"
"""
    properties = {
        "messages": Prop("list", required=True, description=(
            "The conversation: maps of `type` (SYSTEM, USER or AI) and `content` (or `contentBlocks` of TEXT "
            "blocks); one system message at most, the last message the user's.")),
        "provider": Prop("map", required=True, description=PROVIDER_DESCRIPTION),
        "configuration": Prop("map", default={}, description=CONFIGURATION_DESCRIPTION),
        **{name: Prop("any", description=f"Refused: {reason}.") for name, reason in _REFUSED.items()},
    }
    outputs = {**AI_OUTPUTS, "aiResponse": "Deprecated: the same as textOutput."}

    def check(self, task: Any) -> list[tuple[str, str]]:
        return [*check_provider(task.props.get("provider"), "provider"), *refused_props(task, _REFUSED)]

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        provider = read_provider(ctx, "provider")
        messages = read_messages(ctx.get("messages"))
        settings = chat_settings(ctx.get("configuration"), "configuration")
        answer = chat(ctx, provider, messages, settings)
        ctx.log("DEBUG", f"AI Response: {answer.text}")
        outputs = ai_outputs(answer, settings, provider)
        if "textOutput" in outputs:
            outputs["aiResponse"] = outputs["textOutput"]
        return outputs
