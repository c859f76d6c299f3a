"""io.kestra.plugin.ai.agent.AIAgent, without tools: a system message and a prompt, one answer.

Kestra's agent earns its name with tools, content retrievers and memory; none of them is supported
here, and a flow that sets one is refused when it loads, naming the property.
"""

from __future__ import annotations

from typing import Any

from ..base import Prop, TaskContext, TaskPlugin
from .completion import (
    AI_OUTPUTS,
    CONFIGURATION_DESCRIPTION,
    PROVIDER_DESCRIPTION,
    prompt_messages,
    read_prompt,
    refused_props,
)
from .providers import ai_outputs, chat, chat_settings, check_provider, read_provider

_REFUSED = {
    "tools": "tools are not supported here",
    "contentRetrievers": "content retrievers are not supported here",
    "memory": "agent memory is not supported here",
    "guardrails": "guardrails are not supported here",
    "observability": "observability export (Langfuse) is not supported here",
    "outputFiles": "output files need tools, which are not supported here",
}


class AIAgent(TaskPlugin):
    """Ask a model (`provider`) a `prompt` under a `systemMessage`; tools, retrievers and memory are not supported."""

    type = "io.kestra.plugin.ai.agent.AIAgent"
    blocking = True
    example = """\
id: agent
namespace: company.team

tasks:
  - id: summarise
    type: io.kestra.plugin.ai.agent.AIAgent
    provider:
      type: io.kestra.plugin.ai.provider.OpenAI
      modelName: gpt-4o-mini
      apiKey: "{{ secret('OPENAI_API_KEY') }}"
    systemMessage: You summarise texts in one sentence.
    prompt: Summarise what an orchestrator does.
"""
    properties = {
        "prompt": Prop("string", required=True, description="The input prompt for the model."),
        "systemMessage": Prop("string", description="The system message for the model."),
        "provider": Prop("map", required=True, description=PROVIDER_DESCRIPTION),
        "configuration": Prop("map", default={}, description=CONFIGURATION_DESCRIPTION),
        "maxSequentialToolsInvocations": Prop("int", description="Accepted; without tools there is none."),
        **{name: Prop("any", description=f"Refused: {reason}.") for name, reason in _REFUSED.items()},
    }
    outputs = AI_OUTPUTS

    def check(self, task: Any) -> list[tuple[str, str]]:
        return [*check_provider(task.props.get("provider"), "provider"), *refused_props(task, _REFUSED)]

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        provider = read_provider(ctx, "provider")
        settings = chat_settings(ctx.get("configuration"), "configuration")
        answer = chat(ctx, provider, prompt_messages(ctx, read_prompt(ctx)), settings)
        ctx.log("DEBUG", f"Generated completion: {answer.text}")
        return ai_outputs(answer, settings, provider)
