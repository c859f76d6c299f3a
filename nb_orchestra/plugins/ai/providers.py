"""The model providers (``io.kestra.plugin.ai.provider.*``) and the two calls every task makes of one:
a chat turn and the embedding of texts.

A provider is a map under a task property (``provider``, ``chatProvider``, ``embeddingProvider``) with
Kestra's ``type``; its properties are Kestra's: ``modelName``, ``apiKey``, ``baseUrl`` (Kestra's base URL
of the API, e.g. ``https://generativelanguage.googleapis.com/v1beta``), Ollama's ``endpoint``. The API key
joins the execution's secrets as soon as it is read, and every error message is masked with it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ...secrets import mask
from ..base import TaskContext, TaskFailure
from ..extras import require

GEMINI = "GoogleGemini"
OPENAI = "OpenAI"
OLLAMA = "Ollama"
_PREFIXES = ("io.kestra.plugin.ai.provider.", "io.kestra.plugin.langchain4j.provider.")
# Each provider's own properties (besides type); the common ones are Kestra's ModelProvider's.
_COMMON = ("modelName", "baseUrl", "clientPem", "caPem")
PROVIDER_PROPERTIES: dict[str, tuple[str, ...]] = {
    GEMINI: (*_COMMON, "apiKey", "embeddingModelConfiguration"),
    OPENAI: (*_COMMON, "apiKey"),
    OLLAMA: (*_COMMON, "endpoint"),
}
_DEFAULT_BASE_URL = {GEMINI: "https://generativelanguage.googleapis.com/v1beta", OPENAI: "https://api.openai.com/v1"}
_VERSION_SEGMENT = re.compile(r"^(?P<base>.*?)/(?P<version>v\d+(?:alpha|beta)?\d*)/?$")
_TIMEOUT_SECONDS = 120.0  # Kestra's default when the task has no timeout
_MESSAGE_CHARS = 300


def provider_name(type_name: Any) -> str | None:
    """``GoogleGemini`` for ``io.kestra.plugin.ai.provider.GoogleGemini`` (or its langchain4j alias)."""
    for prefix in _PREFIXES:
        if isinstance(type_name, str) and type_name.startswith(prefix):
            name = type_name[len(prefix):]
            return name if name in PROVIDER_PROPERTIES else None
    return None


def check_provider(raw: Any, prop: str) -> list[tuple[str, str]]:
    """Save-time problems of a provider map: an unknown type, unknown properties."""
    if not isinstance(raw, Mapping):
        return []
    name = provider_name(raw.get("type"))
    if name is None:
        known = ", ".join(f"io.kestra.plugin.ai.provider.{n}" for n in PROVIDER_PROPERTIES)
        return [(prop, f"{prop}.type '{raw.get('type')}' is not a supported provider (supported: {known})")]
    allowed = PROVIDER_PROPERTIES[name]
    return [(prop, f"No property '{key}' exists in provider {name}") for key in raw
            if key != "type" and key not in allowed]


@dataclass(frozen=True)
class Provider:
    """A provider map of a task, rendered and checked."""

    name: str
    prop: str            # the task property it came from, for messages
    model: str
    api_key: str | None
    base_url: str
    # Gemini's embeddingModelConfiguration: taskType and outputDimensionality are applied.
    embedding_options: Mapping[str, Any] = field(default_factory=dict)

    def failure(self, text: str) -> TaskFailure:
        """A short failure naming the provider, with the key masked."""
        return TaskFailure(mask(f"{self.prop} ({self.name}): {text}", [self.api_key] if self.api_key else []))


def read_provider(ctx: TaskContext, prop: str) -> Provider:
    """The provider under task property ``prop``, rendered; its API key joins the execution's secrets."""
    raw = ctx.get(prop)
    if not isinstance(raw, Mapping):
        raise TaskFailure(f"property '{prop}' is required: a provider map with a type")
    name = provider_name(raw.get("type"))
    if name is None:
        raise TaskFailure(check_provider(raw, prop)[0][1])
    api_key = raw.get("apiKey")
    if api_key not in (None, ""):
        api_key = str(api_key)
        ctx.execution.secrets.add(api_key)
    else:
        api_key = None
    for unsupported in ("clientPem", "caPem"):
        if raw.get(unsupported):
            raise TaskFailure(f"{prop}.{unsupported} is not supported here: use {prop}.apiKey")
    if api_key is None and name != OLLAMA:
        example = "GEMINI_API_KEY" if name == GEMINI else "OPENAI_API_KEY"
        raise TaskFailure(f"{prop}.apiKey is required for {name} (e.g. \"{{{{ kv('{example}') }}}}\")")
    model = raw.get("modelName")
    if not model:
        raise TaskFailure(f"{prop}.modelName is required for {name}")
    base_url = raw.get("baseUrl") or _DEFAULT_BASE_URL.get(name)
    if name == OLLAMA:
        endpoint = raw.get("baseUrl") or raw.get("endpoint")
        if not endpoint:
            raise TaskFailure(f"{prop}.endpoint is required for Ollama (e.g. http://localhost:11434)")
        base_url = str(endpoint).rstrip("/") + "/v1"  # Ollama's OpenAI-compatible API
    options = raw.get("embeddingModelConfiguration") or {}
    if not isinstance(options, Mapping):
        raise TaskFailure(f"{prop}.embeddingModelConfiguration must be a map")
    return Provider(name, prop, str(model), api_key, str(base_url).rstrip("/"), options)


# -- a chat turn ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChatSettings:
    """Kestra's ChatConfiguration, read from its map."""

    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None
    max_tokens: int | None = None
    json_output: bool = False
    json_schema: dict[str, Any] | None = None
    json_schema_description: str | None = None
    strict_json: bool = False
    thinking_enabled: bool = False
    thinking_budget: int | None = None
    return_thinking: bool | None = None
    log_requests: bool = False
    log_responses: bool = False


CONFIGURATION_KEYS = frozenset({
    "temperature", "topK", "topP", "seed", "maxToken", "responseFormat", "thinkingEnabled", "thinkingBudgetTokens",
    "returnThinking", "logRequests", "logResponses", "promptCaching"})
_RESPONSE_FORMAT_KEYS = frozenset({"type", "jsonSchema", "jsonSchemaDescription", "strictJson"})


def chat_settings(raw: Any, prop: str) -> ChatSettings:
    """A ChatConfiguration map (rendered) as settings; wrong keys or values fail naming ``prop``."""
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise TaskFailure(f"property '{prop}' must be a map")
    unknown = sorted(set(raw) - CONFIGURATION_KEYS)
    if unknown:
        raise TaskFailure(f"{prop}: unknown key '{unknown[0]}' (known: {', '.join(sorted(CONFIGURATION_KEYS))})")
    response = raw.get("responseFormat") or {}
    if not isinstance(response, Mapping) or set(response) - _RESPONSE_FORMAT_KEYS:
        raise TaskFailure(f"{prop}.responseFormat must be a map of {', '.join(sorted(_RESPONSE_FORMAT_KEYS))}")
    kind = str(response.get("type") or "TEXT").upper()
    if kind not in ("TEXT", "JSON"):
        raise TaskFailure(f"{prop}.responseFormat.type must be TEXT or JSON, not '{kind}'")
    if kind == "TEXT" and response.get("jsonSchema") is not None:
        raise TaskFailure(f"{prop}.responseFormat: `jsonSchema` is only allowed when `type` is `JSON`")
    if kind == "TEXT" and _flag(response.get("strictJson"), f"{prop}.responseFormat.strictJson"):
        raise TaskFailure(f"{prop}.responseFormat: `strictJson` is only allowed when `type` is `JSON`")

    def number(key: str, cast: type) -> Any:
        value = raw.get(key)
        if value is None:
            return None
        try:
            return cast(value)
        except (TypeError, ValueError):
            raise TaskFailure(f"{prop}.{key} must be a number, not '{value}'") from None

    return ChatSettings(
        temperature=number("temperature", float), top_k=number("topK", int), top_p=number("topP", float),
        seed=number("seed", int), max_tokens=number("maxToken", int), json_output=kind == "JSON",
        json_schema=response.get("jsonSchema"), json_schema_description=response.get("jsonSchemaDescription"),
        strict_json=_flag(response.get("strictJson"), f"{prop}.responseFormat.strictJson"),
        thinking_enabled=_flag(raw.get("thinkingEnabled"), f"{prop}.thinkingEnabled"),
        thinking_budget=number("thinkingBudgetTokens", int),
        return_thinking=(None if raw.get("returnThinking") is None
                         else _flag(raw["returnThinking"], f"{prop}.returnThinking")),
        log_requests=_flag(raw.get("logRequests"), f"{prop}.logRequests"),
        log_responses=_flag(raw.get("logResponses"), f"{prop}.logResponses"),
    )


def _flag(value: Any, name: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise TaskFailure(f"{name} must be true or false, not '{value}'")


@dataclass(frozen=True)
class Message:
    """One message of the conversation: role SYSTEM, USER or AI."""

    role: str
    text: str


@dataclass
class ChatAnswer:
    """What a chat turn gave: Kestra's AIOutput fields."""

    text: str
    finish_reason: str | None
    token_usage: dict[str, int | None] | None
    thinking: str | None = None
    request_duration: int = 0  # milliseconds, set by chat()


def chat(ctx: TaskContext, provider: Provider, messages: Sequence[Message], settings: ChatSettings) -> ChatAnswer:
    """One chat turn: the system message (at most one) and the conversation, the last message the user's."""
    if settings.log_requests:
        ctx.info("LLM request: " + json.dumps([{"type": m.role, "content": m.text} for m in messages],
                                              ensure_ascii=False))
    started = time.monotonic()
    with _sdk_errors(provider):
        if provider.name == GEMINI:
            answer = _gemini_chat(provider, messages, settings)
        else:
            answer = _openai_chat(provider, messages, settings)
    answer.request_duration = int((time.monotonic() - started) * 1000)
    if settings.log_responses:
        ctx.info(f"LLM response: {answer.text}")
    return answer


def ai_outputs(answer: ChatAnswer, settings: ChatSettings, provider: Provider) -> dict[str, Any]:
    """Kestra's AIOutput of an answer: textOutput or jsonOutput (by response format), tokenUsage,
    finishReason, requestDuration, thinking; empty tool executions and intermediate responses."""
    outputs: dict[str, Any] = {"toolExecutions": [], "intermediateResponses": [], "guardrailViolated": False,
                               "requestDuration": answer.request_duration}
    if settings.json_output:
        try:
            outputs["jsonOutput"] = json.loads(answer.text)
        except ValueError:
            raise provider.failure(f"the answer is not the JSON asked for by responseFormat: {answer.text[:200]}") \
                from None
    else:
        outputs["textOutput"] = answer.text
    for key, value in (("tokenUsage", answer.token_usage), ("finishReason", answer.finish_reason),
                       ("thinking", answer.thinking)):
        if value is not None:
            outputs[key] = value
    return outputs


_OPENAI_ROLES = {"SYSTEM": "system", "USER": "user", "AI": "assistant"}
_OPENAI_FINISH = {"stop": "STOP", "length": "LENGTH", "tool_calls": "TOOL_EXECUTION", "function_call": "TOOL_EXECUTION",
                  "content_filter": "CONTENT_FILTER"}


def _openai_client(provider: Provider) -> Any:
    openai = require("openai", "ai", "AI")
    # Ollama's OpenAI-compatible API wants a key but ignores it.
    return openai.OpenAI(api_key=provider.api_key or "ollama", base_url=provider.base_url,
                         timeout=_TIMEOUT_SECONDS, max_retries=2)


def _openai_chat(provider: Provider, messages: Sequence[Message], settings: ChatSettings) -> ChatAnswer:
    if settings.top_k is not None:
        raise TaskFailure(f"{provider.prop}: {provider.name} models do not support setting the topK parameter")
    request: dict[str, Any] = {"model": provider.model,
                               "messages": [{"role": _OPENAI_ROLES[m.role], "content": m.text} for m in messages]}
    for key, value in (("temperature", settings.temperature), ("top_p", settings.top_p), ("seed", settings.seed),
                       ("max_completion_tokens", settings.max_tokens)):
        if value is not None:
            request[key] = value
    if settings.json_output:
        if settings.json_schema is None:
            request["response_format"] = {"type": "json_object"}
        else:
            schema: dict[str, Any] = {"name": "output", "schema": settings.json_schema, "strict": settings.strict_json}
            if settings.json_schema_description:
                schema["description"] = settings.json_schema_description
            request["response_format"] = {"type": "json_schema", "json_schema": schema}
    with _openai_client(provider) as client:
        response = client.chat.completions.create(**request)
    choice = response.choices[0]
    usage = response.usage
    return ChatAnswer(
        text=choice.message.content or "",
        finish_reason=_OPENAI_FINISH.get(choice.finish_reason or "", "OTHER" if choice.finish_reason else None),
        token_usage=None if usage is None else _usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
        thinking=getattr(choice.message, "reasoning_content", None) if settings.return_thinking else None,
    )


_GEMINI_FINISH = {"STOP": "STOP", "MAX_TOKENS": "LENGTH", "SAFETY": "CONTENT_FILTER", "RECITATION": "CONTENT_FILTER",
                  "BLOCKLIST": "CONTENT_FILTER", "PROHIBITED_CONTENT": "CONTENT_FILTER", "SPII": "CONTENT_FILTER",
                  "MALFORMED_FUNCTION_CALL": "OTHER"}


def _gemini_client(provider: Provider) -> Any:
    require("google.genai", "ai", "AI")
    from google import genai
    from google.genai import types

    # Kestra's baseUrl carries the API version (.../v1beta); the SDK wants them apart.
    match = _VERSION_SEGMENT.match(provider.base_url)
    base, version = (match["base"], match["version"]) if match else (provider.base_url, "v1beta")
    options = types.HttpOptions(base_url=base + "/", api_version=version, timeout=int(_TIMEOUT_SECONDS * 1000))
    return genai.Client(api_key=provider.api_key, http_options=options)


def _gemini_chat(provider: Provider, messages: Sequence[Message], settings: ChatSettings) -> ChatAnswer:
    from google.genai import types

    system = next((m.text for m in messages if m.role == "SYSTEM"), None)
    contents = [types.Content(role="model" if m.role == "AI" else "user", parts=[types.Part(text=m.text)])
                for m in messages if m.role != "SYSTEM"]
    budget = settings.thinking_budget
    if not settings.thinking_enabled and budget is None:
        budget = 0  # Kestra turns Gemini's thinking off unless asked for
    return_thinking = True if settings.return_thinking is None else settings.return_thinking
    config = types.GenerateContentConfig(
        system_instruction=system, temperature=settings.temperature, top_k=settings.top_k, top_p=settings.top_p,
        seed=settings.seed, max_output_tokens=settings.max_tokens,
        thinking_config=types.ThinkingConfig(thinking_budget=budget,
                                             include_thoughts=settings.thinking_enabled or None),
        response_mime_type="application/json" if settings.json_output else None,
        response_json_schema=settings.json_schema,
    )
    # The client is kept in a variable: once collected it closes its connection, even mid-call.
    with _gemini_client(provider) as client:
        response = client.models.generate_content(model=provider.model, contents=contents, config=config)
    candidate = (response.candidates or [None])[0]
    parts = (candidate.content.parts if candidate and candidate.content else None) or []
    text = "".join(part.text or "" for part in parts if not part.thought)
    thoughts = "".join(part.text or "" for part in parts if part.thought)
    reason = candidate.finish_reason if candidate else None
    reason_name = getattr(reason, "value", reason)
    usage = response.usage_metadata
    return ChatAnswer(
        text=text,
        finish_reason=None if reason_name is None else _GEMINI_FINISH.get(str(reason_name), "OTHER"),
        token_usage=None if usage is None else _usage(usage.prompt_token_count, usage.candidates_token_count,
                                                      usage.total_token_count),
        thinking=(thoughts or None) if return_thinking else None,
    )


def _usage(inputs: int | None, outputs: int | None, total: int | None) -> dict[str, int | None]:
    return {"inputTokenCount": inputs, "outputTokenCount": outputs, "totalTokenCount": total}


# -- embeddings ----------------------------------------------------------------------------------------

_EMBED_BATCH = 100  # Gemini's batchEmbedContents takes at most 100 texts


def embed(provider: Provider, texts: Sequence[str]) -> tuple[list[list[float]], dict[str, int | None] | None]:
    """The embedding vector of each text, and the token usage when the provider reports one."""
    vectors: list[list[float]] = []
    used = 0
    with _sdk_errors(provider):
        for start in range(0, len(texts), _EMBED_BATCH):
            batch = list(texts[start:start + _EMBED_BATCH])
            if provider.name == GEMINI:
                with _gemini_client(provider) as gemini:
                    response = gemini.models.embed_content(model=provider.model, contents=batch,
                                                           config=_gemini_embedding_config(provider))
                vectors.extend(list(e.values or []) for e in response.embeddings or [])
            else:
                with _openai_client(provider) as openai:
                    result = openai.embeddings.create(model=provider.model, input=batch)
                vectors.extend(list(item.embedding) for item in sorted(result.data, key=lambda item: item.index))
                used += result.usage.prompt_tokens if result.usage else 0
    if len(vectors) != len(texts):
        raise provider.failure(f"asked for {len(texts)} embeddings, got {len(vectors)}")
    return vectors, (_usage(used, None, used) if used else None)


def _gemini_embedding_config(provider: Provider) -> Any:
    from google.genai import types

    options = provider.embedding_options
    dimensions = options.get("outputDimensionality")
    try:
        dimensions = None if dimensions is None else int(dimensions)
    except (TypeError, ValueError):
        raise TaskFailure(f"{provider.prop}.embeddingModelConfiguration.outputDimensionality must be a number") \
            from None
    return types.EmbedContentConfig(task_type=options.get("taskType"), output_dimensionality=dimensions)


# -- errors --------------------------------------------------------------------------------------------

@contextmanager
def _sdk_errors(provider: Provider) -> Iterator[None]:
    """The SDKs' errors (refusals, network trouble) as one short TaskFailure naming the provider."""
    try:
        yield
    except TaskFailure:
        raise
    except Exception as exc:  # each SDK has its own error tree; none is imported unless used
        raise provider.failure(_describe(exc, provider)) from None


def _describe(exc: Exception, provider: Provider) -> str:
    status = getattr(exc, "status_code", None) or getattr(exc, "code", None)
    detail = getattr(exc, "message", None) or str(exc)
    if isinstance(getattr(exc, "body", None), Mapping):  # openai: the error object of the response
        detail = exc.body.get("message") or detail  # type: ignore[attr-defined]
    detail = " ".join(str(detail).split())[:_MESSAGE_CHARS]
    where = provider.base_url
    if isinstance(status, int):
        hint = " (check the API key)" if status in (401, 403) else ""
        return f"the API at {where} answered {status}{hint}: {detail}"
    name = type(exc).__name__
    if "Connect" in name or "Timeout" in name:
        return f"cannot reach {where}: {detail}"
    return f"request to {where} failed ({name}): {detail}"
