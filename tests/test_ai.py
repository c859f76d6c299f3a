"""io.kestra.plugin.ai.*: ChatCompletion, rag.IngestDocument and rag.ChatCompletion against local
stand-ins of the OpenAI and Gemini HTTP APIs (tests/ai_standin.py), through the real SDKs."""

from __future__ import annotations

import json
import sys

import pytest

import nb_orchestra
from nb_orchestra.errors import FlowValidationError
from nb_orchestra.plugins.ai.splitters import Splitter
from nb_orchestra.store.kv import StoreKV

from .ai_standin import Server, StandIn
from .conftest import flow_text, load_fixture, messages, put_text, run_fixture

GEMINI_KEY = "AIza-gemini-key-that-must-not-leak"
OPENAI_KEY = "sk-openai-key-that-must-not-leak"
RELEASE_URL = "https://raw.githubusercontent.com/kestra-io/docs/refs/heads/main/src/contents/blogs/release-1-1/index.md"


@pytest.fixture
def standin():
    server = Server()
    StoreKV().set("tests", "OPENAI_API_KEY", OPENAI_KEY)
    StoreKV().set("tests", "GEMINI_API_KEY", GEMINI_KEY)
    yield server.standin
    server.close()


def leaks(ex, key: str) -> list[str]:
    """Where ``key`` shows in an execution's logs or outputs."""
    places = [f"log: {m}" for m in messages(ex) if key in m]
    return places + (["outputs"] if key in json.dumps(ex.outputs, default=str) else [])


def error_of(ex, task_id: str) -> str:
    return "\n".join(messages(ex, task_id, "ERROR"))


def with_gemini_at(text: str, url: str) -> str:
    """A course flow with the Gemini endpoint substituted through pluginDefaults (the flow's text kept)."""
    return text + (f"\npluginDefaults:\n  - type: io.kestra.plugin.ai.provider.GoogleGemini\n"
                   f"    values:\n      baseUrl: {url}\n")


# -- the course's flows --------------------------------------------------------------------------------

def test_course_chat_without_rag_runs_unchanged_against_gemini(standin: StandIn):
    StoreKV().set("zoomcamp", "GEMINI_API_KEY", GEMINI_KEY)
    standin.answer = "Kestra 1.1 brought a stand-in feature."
    ex = nb_orchestra.run(with_gemini_at(load_fixture("valid/course_ai/10_chat_without_rag.yaml"), standin.url))

    assert ex.state == "SUCCESS", error_of(ex, "chat_without_rag")
    assert "Kestra 1.1 brought a stand-in feature." in messages(ex, "log_results")[0]
    request = standin.last(":generateContent")
    assert request.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert request.headers["x-goog-api-key"] == GEMINI_KEY
    assert request.body["contents"] == [{"role": "user", "parts": [{"text": (
        "Which features were released in Kestra 1.1? \nPlease list at least 5 major features with brief "
        "descriptions.\n")}]}]
    assert "systemInstruction" not in request.body
    assert request.body["generationConfig"]["thinkingConfig"] == {"thinking_budget": 0}  # Kestra's default
    out = ex.outputs["chat_without_rag"]
    assert out["textOutput"] == "Kestra 1.1 brought a stand-in feature."
    assert out["tokenUsage"] == {"inputTokenCount": 13, "outputTokenCount": 8, "totalTokenCount": 21}
    assert out["finishReason"] == "STOP"
    assert isinstance(out["requestDuration"], int)
    assert leaks(ex, GEMINI_KEY) == []


def test_course_chat_with_rag_runs_against_the_standins(standin: StandIn):
    """The flow's document URL is the one thing changed (to the stand-in's copy): no internet in tests."""
    StoreKV().set("zoomcamp", "GEMINI_API_KEY", GEMINI_KEY)
    standin.documents["release-1-1.md"] = "Kestra 1.1 adds plugin versioning and a new flow editor."
    text = load_fixture("valid/course_ai/11_chat_with_rag.yaml")
    assert RELEASE_URL in text
    text = with_gemini_at(text.replace(RELEASE_URL, f"{standin.url}/docs/release-1-1.md"), standin.url)
    ex = nb_orchestra.run(text)

    assert ex.state == "SUCCESS", error_of(ex, "ingest_release_notes") + error_of(ex, "chat_with_rag")
    assert ex.outputs["ingest_release_notes"]["ingestedDocuments"] == 1
    assert ex.outputs["ingest_release_notes"]["embeddingStoreOutputs"] == {"kvName": "11_chat_with_rag-embedding-store"}
    found, stored = StoreKV().get("zoomcamp", "11_chat_with_rag-embedding-store")
    assert found and json.loads(stored)["entries"][0]["embedded"]["text"].startswith("Kestra 1.1 adds")
    embeds = standin.received("gemini-embedding-001:batchEmbedContents")
    assert len(embeds) == 2  # the document, then the prompt
    chat = standin.last("gemini-2.5-flash:generateContent")
    assert "helpful assistant that answers questions about Kestra" in chat.body["systemInstruction"]["parts"][0]["text"]
    user = chat.body["contents"][0]["parts"][0]["text"]
    assert user.startswith("Which features were released in Kestra 1.1?")
    assert user.endswith("Answer using the following information:\n"
                         "Kestra 1.1 adds plugin versioning and a new flow editor.")
    assert messages(ex, "log_results")[0].startswith("✅ RAG Response (with retrieved context):\nStand-in answer.")
    assert leaks(ex, GEMINI_KEY) == []


# -- ChatCompletion ------------------------------------------------------------------------------------

def test_gemini_request_carries_the_system_instruction_and_configuration(standin: StandIn):
    ex = run_fixture("valid/ai/gemini_chat.yaml", inputs={"server": standin.url})

    assert ex.state == "SUCCESS", error_of(ex, "chat")
    body = standin.last(":generateContent").body
    assert body["systemInstruction"]["parts"] == [{"text": "You are terse."}]
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Which features were released in Kestra 1.1?"}]}]
    config = body["generationConfig"]
    assert (config["temperature"], config["topK"], config["topP"], config["seed"], config["maxOutputTokens"]) == \
        (0.3, 20, 0.9, 7, 100)


def test_openai_chat_sends_the_conversation_with_the_system_message_first(standin: StandIn):
    ex = run_fixture("valid/ai/openai_chat.yaml", inputs={"server": standin.url})

    assert ex.state == "SUCCESS", error_of(ex, "chat")
    request = standin.last("/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert request.body["model"] == "gpt-5-mini"
    assert request.body["messages"] == [
        {"role": "system", "content": "You answer in one word."},
        {"role": "user", "content": "Name a river."},
        {"role": "assistant", "content": "The Loire."},
        {"role": "user", "content": "Another one, after THE LOIRE."},
    ]
    assert (request.body["temperature"], request.body["seed"], request.body["max_completion_tokens"]) == (0.5, 42, 50)
    out = ex.outputs["chat"]
    assert (out["textOutput"], out["aiResponse"], out["finishReason"]) == ("Stand-in answer.",) * 2 + ("STOP",)
    assert out["tokenUsage"] == {"inputTokenCount": 11, "outputTokenCount": 7, "totalTokenCount": 18}
    assert messages(ex, "log") == ["Stand-in answer."]
    assert leaks(ex, OPENAI_KEY) == []


def test_json_response_format_gives_json_output(standin: StandIn):
    standin.answer = '{"name": "John"}'
    ex = run_fixture("valid/ai/openai_json.yaml", inputs={"server": standin.url})

    assert ex.state == "SUCCESS", error_of(ex, "extract")
    assert standin.last("/v1/chat/completions").body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "strict": True,
                        "schema": {"type": "object", "properties": {"name": {"type": "string"}}}}}
    assert ex.outputs["extract"]["jsonOutput"] == {"name": "John"}
    assert "textOutput" not in ex.outputs["extract"]
    assert messages(ex, "log") == ["John"]


def test_ollama_goes_through_its_openai_compatible_api(standin: StandIn):
    ex = run_fixture("valid/ai/ollama_chat.yaml", inputs={"server": standin.url})

    assert ex.state == "SUCCESS", error_of(ex, "chat")
    request = standin.last("/v1/chat/completions")
    assert request.body["model"] == "llama3"
    assert ex.outputs["chat"]["textOutput"] == "Stand-in answer."


def chat_flow(provider: str) -> str:
    return flow_text(f"""
        tasks:
          - id: chat
            type: io.kestra.plugin.ai.completion.ChatCompletion
            provider: {provider}
            messages: [{{type: USER, content: hi}}]
        """)


def test_a_missing_api_key_names_the_property():
    ex = nb_orchestra.run(chat_flow("{type: io.kestra.plugin.ai.provider.GoogleGemini, modelName: gemini-2.5-flash}"))

    assert ex.state == "FAILED"
    assert error_of(ex, "chat") == ("provider.apiKey is required for GoogleGemini "
                                    "(e.g. \"{{ kv('GEMINI_API_KEY') }}\")")


def test_topk_is_refused_for_openai_as_kestra_does(standin: StandIn):
    provider = ("{type: io.kestra.plugin.ai.provider.OpenAI, modelName: m, apiKey: k, "
                f"baseUrl: '{standin.url}/v1'}}")
    ex = nb_orchestra.run(chat_flow(provider).replace("messages:", "configuration: {topK: 3}\n    messages:"))

    assert ex.state == "FAILED"
    assert error_of(ex, "chat") == "provider: OpenAI models do not support setting the topK parameter"
    assert standin.requests == []


@pytest.mark.parametrize("provider, status, expected", [
    ("OpenAI", 401, "the API at {url}/v1 answered 401 (check the API key): stand-in refused"),
    ("GoogleGemini", 500, "the API at {url}/v1beta answered 500: stand-in refused"),
])
def test_a_refusal_is_one_short_message_without_the_key(standin: StandIn, provider, status, expected):
    standin.fail = status
    key = OPENAI_KEY if provider == "OpenAI" else GEMINI_KEY
    version = "v1" if provider == "OpenAI" else "v1beta"
    ex = nb_orchestra.run(chat_flow(f"{{type: io.kestra.plugin.ai.provider.{provider}, modelName: m, apiKey: '{key}', "
                                    f"baseUrl: '{standin.url}/{version}'}}"))

    assert ex.state == "FAILED"
    assert error_of(ex, "chat") == f"provider ({provider}): " + expected.format(url=standin.url)
    assert leaks(ex, key) == []


def test_the_missing_sdk_names_the_extra(standin: StandIn, monkeypatch):
    monkeypatch.setitem(sys.modules, "openai", None)
    ex = run_fixture("valid/ai/openai_chat.yaml", inputs={"server": standin.url})

    assert ex.state == "FAILED"
    assert error_of(ex, "chat") == "AI tasks need the openai package: pip install 'nb-orchestra[ai]'"


def test_an_unknown_provider_is_refused_when_the_flow_loads():
    with pytest.raises(FlowValidationError) as error:
        nb_orchestra.load_flow(chat_flow("{type: io.kestra.plugin.ai.provider.Nope, modelName: m}"))
    assert "provider.type 'io.kestra.plugin.ai.provider.Nope' is not a supported provider" in str(error.value)


def test_tools_and_other_embedding_stores_are_refused_when_the_flow_loads():
    text = flow_text("""
        tasks:
          - id: chat
            type: io.kestra.plugin.ai.completion.ChatCompletion
            provider: {type: io.kestra.plugin.ai.provider.OpenAI, modelName: m, apiKey: k, temperature: 1}
            messages: [{type: USER, content: hi}]
            tools: [{type: io.kestra.plugin.ai.tool.GoogleCustomWebSearch}]
          - id: ingest
            type: io.kestra.plugin.ai.rag.IngestDocument
            provider: {type: io.kestra.plugin.ai.provider.OpenAI, modelName: m, apiKey: k}
            embeddings: {type: io.kestra.plugin.ai.embeddings.PGVector}
            fromDocuments: [{content: x}]
        """)
    with pytest.raises(FlowValidationError) as error:
        nb_orchestra.load_flow(text)
    problems = str(error.value)
    assert "No property 'temperature' exists in provider OpenAI" in problems
    assert "property 'tools': tools are not supported here" in problems
    assert ("embeddings.type 'io.kestra.plugin.ai.embeddings.PGVector' is not supported: only "
            "io.kestra.plugin.ai.embeddings.KestraKVStore is") in problems


# -- RAG -----------------------------------------------------------------------------------------------

def stored_entries(namespace: str, key: str) -> list[dict]:
    found, value = StoreKV().get(namespace, key)
    assert found
    return json.loads(value)["entries"]


def test_rag_gives_the_model_the_passage_that_matches_the_question(standin: StandIn):
    ex = run_fixture("valid/ai/rag_openai.yaml", inputs={"server": standin.url})

    assert ex.state == "SUCCESS", error_of(ex, "ingest") + error_of(ex, "answer")
    assert ex.outputs["ingest"] == {"ingestedDocuments": 3, "inputTokenCount": 15, "totalTokenCount": 15,
                                    "embeddingStoreOutputs": {"kvName": "test-embedding-store"}}
    entries = stored_entries("tests", "test-embedding-store")
    assert [e["embedded"]["metadata"]["metadata"] for e in entries] == [
        {"topic": "cats", "index": "0"}, {"topic": "rockets", "index": "0"}, {"topic": "bread", "index": "0"}]
    assert all(len(e["embedding"]["vector"]) == 64 and e["id"] for e in entries)

    embeddings = standin.received("/v1/embeddings")
    assert [r.body["input"] for r in embeddings] == [
        [e["embedded"]["text"] for e in entries], ["Which fuel does the rocket engine burn to reach orbit?"]]
    chat = standin.last("/v1/chat/completions").body
    assert chat["messages"] == [
        {"role": "system", "content": "Answer from the documents only."},
        {"role": "user", "content": "Which fuel does the rocket engine burn to reach orbit?\n\n"
                                    "Answer using the following information:\n"
                                    "The rocket engine burns liquid oxygen and kerosene to reach orbit."}]
    out = ex.outputs["answer"]
    assert out["textOutput"] == out["completion"] == "Stand-in answer."
    assert out["sources"] == [{"content": "The rocket engine burns liquid oxygen and kerosene to reach orbit.",
                               "metadata": {"topic": "rockets", "index": "0"}}]
    assert leaks(ex, OPENAI_KEY) == []


def test_passages_under_min_score_are_left_out(standin: StandIn):
    ex = run_fixture("valid/ai/rag_openai.yaml", inputs={"server": standin.url, "minScore": 0.99})

    assert ex.state == "SUCCESS", error_of(ex, "answer")
    user = standin.last("/v1/chat/completions").body["messages"][-1]
    assert user == {"role": "user", "content": "Which fuel does the rocket engine burn to reach orbit?"}
    assert ex.outputs["answer"]["sources"] == []


def ask_store(standin: StandIn, prompt: str):
    """A rag.ChatCompletion of ``prompt`` on the flow's KV store, with the OpenAI stand-in."""
    provider = f"{{type: io.kestra.plugin.ai.provider.OpenAI, modelName: m, apiKey: k, baseUrl: '{standin.url}/v1'}}"
    return nb_orchestra.run(flow_text(f"""
        tasks:
          - id: answer
            type: io.kestra.plugin.ai.rag.ChatCompletion
            chatProvider: {provider}
            embeddings: {{type: io.kestra.plugin.ai.embeddings.KestraKVStore}}
            prompt: {prompt}
        """))


def test_a_store_never_filled_is_said_and_the_prompt_goes_alone(standin: StandIn):
    ex = ask_store(standin, "Which fuel does the rocket engine burn to reach orbit?")

    assert ex.state == "SUCCESS", error_of(ex, "answer")
    assert standin.received("/v1/embeddings") == []
    assert messages(ex, "answer", "WARN") == [
        "The embedding store 'test-embedding-store' of namespace tests is empty: the prompt goes to the model "
        "without passages (ingest documents first with rag.IngestDocument)"]
    assert standin.last("/v1/chat/completions").body["messages"][-1]["content"] == \
        "Which fuel does the rocket engine burn to reach orbit?"


def test_drop_empties_the_store_before_ingesting(standin: StandIn):
    run_fixture("valid/ai/rag_openai.yaml", inputs={"server": standin.url, "drop": False})
    run_fixture("valid/ai/rag_openai.yaml", inputs={"server": standin.url, "drop": False})
    assert len(stored_entries("tests", "test-embedding-store")) == 6

    ex = run_fixture("valid/ai/rag_openai.yaml", inputs={"server": standin.url, "drop": True})
    assert ex.state == "SUCCESS"
    assert len(stored_entries("tests", "test-embedding-store")) == 3


def test_ingest_reads_files_uris_and_urls_and_splits_them(standin: StandIn, isolated_home):
    standin.documents["release.md"] = ("Kestra 1.1 is out.\n\nIt brings plugin versioning to every namespace. "
                                       "It also brings a new editor. Flows are easier to write.")
    notes = put_text(isolated_home, "notes.txt", "Gamma notes.")
    ex = run_fixture("valid/ai/ingest_sources.yaml", inputs={"server": standin.url, "notes": notes})

    assert ex.state == "SUCCESS", error_of(ex, "ingest")
    assert ex.outputs["ingest"] == {"ingestedDocuments": 4, "embeddingStoreOutputs": {"kvName": "my-store"}}
    entries = stored_entries("tests", "my-store")
    texts = [e["embedded"]["text"] for e in entries]
    assert texts[:3] == ["Alpha document.", "Beta document.", "Gamma notes."]
    assert texts[3:] == ["Kestra 1.1 is out.",
                         "It brings plugin versioning to every namespace.",
                         "It also brings a new editor. Flows are easier to write."]
    assert all(len(text) <= 60 for text in texts)
    metadata = [e["embedded"]["metadata"]["metadata"] for e in entries]
    assert metadata[0]["file_name"] == "a.md" and metadata[1]["file_name"] == "b.md"
    assert metadata[3:] == [{"url": f"{standin.url}/docs/release.md", "index": str(i)} for i in range(3)]
    request = standin.last(":batchEmbedContents")
    assert request.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    options = {(r["taskType"], r["outputDimensionality"]) for r in request.body["requests"]}
    assert options == {("RETRIEVAL_DOCUMENT", 64)}


@pytest.mark.parametrize("kind, size, overlap, text, segments", [
    ("SENTENCE", 40, 20, "One two three. Four five. Six seven eight nine. Ten.",
     ["One two three. Four five.", "Four five. Six seven eight nine. Ten."]),  # a whole sentence overlaps
    ("RECURSIVE", 30, 0, "Para one is short.\n\nPara two is a bit longer than thirty chars.",
     ["Para one is short.", "Para two is a bit longer than", "thirty chars."]),  # paragraphs, then words
    ("RECURSIVE", 10, 3, "abcdefghijklmnopqrstuvwxyz", ["abcdefghij", "hijklmnopq", "opqrstuvwx", "vwxyz"]),
])
def test_the_document_splitter_packs_pieces_with_overlap(kind, size, overlap, text, segments):
    assert Splitter(kind, size, overlap).split(text) == segments


# -- AIAgent -------------------------------------------------------------------------------------------

def agent_flow(provider: str, extra: str = "") -> str:
    return flow_text(f"""
        tasks:
          - id: agent
            type: io.kestra.plugin.ai.agent.AIAgent
            provider: {provider}
            systemMessage: You summarise.
            prompt: Summarise {{{{ 'Kestra 1.1' }}}}.
            {extra}
        """)


def test_the_agent_without_tools_is_one_chat_turn(standin: StandIn):
    ex = nb_orchestra.run(agent_flow(f"{{type: io.kestra.plugin.ai.provider.GoogleGemini, modelName: gemini-2.5-flash, "
                                     f"apiKey: '{GEMINI_KEY}', baseUrl: '{standin.url}'}}"))

    assert ex.state == "SUCCESS", error_of(ex, "agent")
    body = standin.last(":generateContent").body
    assert body["systemInstruction"]["parts"] == [{"text": "You summarise."}]
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Summarise Kestra 1.1."}]}]
    assert ex.outputs["agent"]["textOutput"] == "Stand-in answer."
    assert leaks(ex, GEMINI_KEY) == []


def test_agent_tools_are_refused_when_the_flow_loads():
    with pytest.raises(FlowValidationError) as error:
        nb_orchestra.load_flow(agent_flow("{type: io.kestra.plugin.ai.provider.OpenAI, modelName: m, apiKey: k}",
                                          "tools: [{type: io.kestra.plugin.ai.tool.DockerMcpClient}]"))
    assert "property 'tools': tools are not supported here" in str(error.value)


@pytest.mark.parametrize("stored", ['{"entries": [{}]}', '{"entries": [{"embedding": {"vector": ["x"]}, '
                                    '"embedded": {"text": "t"}}]}', "not json"])
def test_a_kv_value_that_is_no_embedding_store_is_one_line(standin: StandIn, stored):
    StoreKV().set("tests", "test-embedding-store", stored)
    ex = ask_store(standin, "Which fuel?")
    assert error_of(ex, "answer") == ("the KV entry 'test-embedding-store' is not an embedding store "
                                      "(drop: true starts a new one)")


def test_document_metadata_that_is_no_map_is_named(standin: StandIn):
    provider = f"{{type: io.kestra.plugin.ai.provider.OpenAI, modelName: m, apiKey: k, baseUrl: '{standin.url}/v1'}}"
    ex = nb_orchestra.run(flow_text(f"""
        tasks:
          - id: ingest
            type: io.kestra.plugin.ai.rag.IngestDocument
            provider: {provider}
            embeddings: {{type: io.kestra.plugin.ai.embeddings.KestraKVStore}}
            fromDocuments:
              - content: a text
                metadata: just text
        """))
    assert error_of(ex, "ingest") == "fromDocuments[0] must be a map with content (and optional metadata)"
