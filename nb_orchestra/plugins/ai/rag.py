"""io.kestra.plugin.ai.rag: IngestDocument (documents -> embeddings in a store) and ChatCompletion
(a prompt answered with the stored passages closest to it), over Kestra's KestraKVStore.

KestraKVStore keeps the whole store as one KV entry of the flow's namespace, under ``kvName``
(``{{ flow.id }}-embedding-store`` by default): a JSON text laid out as langchain4j's in-memory store
serialises itself, ``{"entries": [{"id", "embedding": {"vector"}, "embedded": {"text", "metadata":
{"metadata"}}}]}``. Retrieval is langchain4j's: cosine similarity as a score in [0, 1] ((cos + 1) / 2),
at most ``maxResults`` passages scoring at least ``minScore``, appended to the user's prompt under
"Answer using the following information:".
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..base import Prop, TaskContext, TaskFailure, TaskPlugin
from ..files import stored_file
from .completion import (
    AI_OUTPUTS,
    CONFIGURATION_DESCRIPTION,
    PROVIDER_DESCRIPTION,
    prompt_messages,
    read_prompt,
    refused_props,
)
from .providers import Provider, ai_outputs, chat, chat_settings, check_provider, embed, read_provider
from .splitters import read_splitter

KV_STORE_TYPES = ("io.kestra.plugin.ai.embeddings.KestraKVStore",
                  "io.kestra.plugin.langchain4j.embeddings.KestraKVStore")
_STORE_KEYS = frozenset({"type", "kvName"})
EMBEDDINGS_DESCRIPTION = (
    "The embedding store: `{type: io.kestra.plugin.ai.embeddings.KestraKVStore}` keeps the embeddings in the "
    "namespace's KV store under `kvName` (default `{{ flow.id }}-embedding-store`); other stores are not supported.")
_INJECTION = "\n\nAnswer using the following information:\n"  # langchain4j's DefaultContentInjector


# -- the KV embedding store ----------------------------------------------------------------------------

def check_store(raw: Any) -> list[tuple[str, str]]:
    """Problems of an ``embeddings`` map: a store other than KestraKVStore, unknown properties."""
    if not isinstance(raw, Mapping):
        return []
    if raw.get("type") not in KV_STORE_TYPES:
        return [("embeddings", f"embeddings.type '{raw.get('type')}' is not supported: only {KV_STORE_TYPES[0]} is")]
    return [("embeddings", f"No property '{key}' exists in KestraKVStore") for key in raw if key not in _STORE_KEYS]


@dataclass
class KVEmbeddingStore:
    """The entries of a KestraKVStore, loaded from the namespace's KV store and saved back whole."""

    namespace: str
    key: str
    entries: list[dict[str, Any]]

    @classmethod
    def open(cls, ctx: TaskContext, raw: Any, drop: bool) -> KVEmbeddingStore:
        problems = check_store(raw) if isinstance(raw, Mapping) else [("", "property 'embeddings' is required")]
        if problems:
            raise TaskFailure(problems[0][1])
        flow = ctx.variables.get("flow") or {}
        key = str(raw.get("kvName") or f"{flow.get('id')}-embedding-store")
        namespace = str(flow.get("namespace"))
        entries: list[dict[str, Any]] = []
        found, value = ctx.kv(namespace).get(key)
        if found and not drop:
            entries = _entries(value, key)
        return cls(namespace, key, entries)

    def add(self, vectors: Sequence[Sequence[float]], segments: Sequence[tuple[str, dict[str, Any]]]) -> None:
        for vector, (text, metadata) in zip(vectors, segments, strict=True):
            self.entries.append({"id": str(uuid.uuid4()), "embedding": {"vector": list(vector)},
                                 "embedded": {"text": text, "metadata": {"metadata": metadata}}})

    def save(self, ctx: TaskContext) -> None:
        ctx.kv(self.namespace).set(self.key, json.dumps({"entries": self.entries}, ensure_ascii=False))

    def search(self, vector: Sequence[float], max_results: int, min_score: float) -> list[tuple[float, dict[str, Any]]]:
        """The best entries for ``vector``: (score, entry), best first."""
        scored = [(_relevance(vector, entry["embedding"]["vector"]), entry) for entry in self.entries]
        kept = [pair for pair in scored if pair[0] >= min_score]
        return sorted(kept, key=lambda pair: pair[0], reverse=True)[:max_results]


def _entries(value: Any, key: str) -> list[dict[str, Any]]:
    """The stored entries, each checked: a vector of numbers and a text (a KV value anyone may write)."""
    def usable(entry: Any) -> bool:
        vector = entry.get("embedding", {}).get("vector") if isinstance(entry, dict) else None
        return (isinstance(vector, list) and all(isinstance(x, (int, float)) for x in vector)
                and isinstance(entry.get("embedded", {}).get("text"), str))

    try:
        data = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        data = None
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(usable(entry) for entry in entries):
        raise TaskFailure(f"the KV entry '{key}' is not an embedding store (drop: true starts a new one)")
    return entries


def _relevance(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity as langchain4j's relevance score: (cos + 1) / 2."""
    if len(a) != len(b):
        raise TaskFailure(f"the store holds embeddings of {len(b)} dimensions, the embedding model gives {len(a)}: "
                          "ingest again with the same embedding model (drop: true)")
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return (dot / norms + 1) / 2 if norms else 0.0


# -- IngestDocument ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Document:
    text: str
    metadata: dict[str, Any]


def _documents(ctx: TaskContext) -> list[Document]:
    """The documents of every source, in Kestra's order: fromPath, fromDocuments, fromInternalURIs,
    fromExternalURLs."""
    documents = []
    path = ctx.get("fromPath")
    if path:
        documents.extend(_directory_documents(ctx.working_dir, str(path)))
    for index, item in enumerate(ctx.get("fromDocuments") or []):
        if (not isinstance(item, Mapping) or item.get("content") is None
                or not isinstance(item.get("metadata") or {}, Mapping)):
            raise TaskFailure(f"fromDocuments[{index}] must be a map with content (and optional metadata)")
        documents.append(Document(str(item["content"]), dict(item.get("metadata") or {})))
    for uri in ctx.get("fromInternalURIs") or []:
        documents.append(Document(stored_file(uri, "fromInternalURIs").read_text("utf-8", "replace"), {}))
    for url in ctx.get("fromExternalURLs") or []:
        documents.append(Document(_download(str(url)), {"url": str(url)}))
    return documents


def _directory_documents(work: Path, name: str) -> list[Document]:
    root = (work / name).resolve()
    if not root.is_relative_to(work.resolve()):
        raise TaskFailure(f"property 'fromPath': '{name}' is outside the task's working directory")
    if not root.exists():
        raise TaskFailure(f"property 'fromPath': no '{name}' in the task's working directory")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return [Document(p.read_text("utf-8", "replace"), {"file_name": p.name, "absolute_directory_path": str(p.parent)})
            for p in files]


def _download(url: str) -> str:
    import httpx

    from ..core.http import http_errors

    with http_errors(url, None, None), httpx.Client(timeout=60, follow_redirects=True, trust_env=False) as client:
        response = client.get(url)
    if response.status_code >= 400:
        raise TaskFailure(f"property 'fromExternalURLs': {url} answered {response.status_code}")
    return response.text


class IngestDocument(TaskPlugin):
    """Embed documents (texts, files, URLs) with an embedding model and keep them in an embedding store."""

    type = "io.kestra.plugin.ai.rag.IngestDocument"
    aliases = ("io.kestra.plugin.langchain4j.rag.IngestDocument",)
    blocking = True
    example = """\
id: ingest
namespace: company.team

tasks:
  - id: ingest
    type: io.kestra.plugin.ai.rag.IngestDocument
    provider:
      type: io.kestra.plugin.ai.provider.GoogleGemini
      modelName: gemini-embedding-001
      apiKey: "{{ kv('GEMINI_API_KEY') }}"
    embeddings:
      type: io.kestra.plugin.ai.embeddings.KestraKVStore
    drop: true
    fromDocuments:
      - content: Kestra flows are written in YAML.
"""
    properties = {
        "provider": Prop("map", required=True, description=PROVIDER_DESCRIPTION + " Must name an embedding model."),
        "embeddings": Prop("map", required=True, description=EMBEDDINGS_DESCRIPTION),
        "fromPath": Prop("string", description="A file or directory of the task's working directory; each file "
                                               "(recursively) is a document."),
        "fromInternalURIs": Prop("list", description="kestra:// URIs of documents."),
        "fromExternalURLs": Prop("list", description="URLs of documents, downloaded as text."),
        "fromDocuments": Prop("list", description="Inline documents: maps of `content` and optional `metadata`."),
        "metadata": Prop("map", description="Accepted and, as in Kestra, not applied (use fromDocuments' metadata)."),
        "documentSplitter": Prop("map", description=(
            "{splitter: RECURSIVE (default), PARAGRAPH, LINE, SENTENCE or WORD; maxSegmentSizeInChars, "
            "maxOverlapSizeInChars}; without it each document is one segment.")),
        "drop": Prop("bool", default=False, description="Empty the store before ingesting."),
        "bulkSize": Prop("int", default=500, description="Documents embedded per batch."),
    }
    outputs = {
        "ingestedDocuments": "How many documents were ingested.",
        "inputTokenCount": "Tokens the embedding model read, when it reports them.",
        "outputTokenCount": "Output tokens, when reported.",
        "totalTokenCount": "Total tokens, when reported.",
        "embeddingStoreOutputs": "What the store gives: {kvName} for KestraKVStore.",
    }

    def check(self, task: Any) -> list[tuple[str, str]]:
        return [*check_provider(task.props.get("provider"), "provider"), *check_store(task.props.get("embeddings"))]

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        provider = read_provider(ctx, "provider")
        splitter = read_splitter(ctx.get("documentSplitter"))
        bulk = max(1, int(ctx.get("bulkSize") or 500))
        store = KVEmbeddingStore.open(ctx, ctx.get("embeddings"), bool(ctx.get("drop")))
        documents = _documents(ctx)
        tokens = 0
        for start in range(0, len(documents), bulk):
            segments: list[tuple[str, dict[str, Any]]] = []
            for document in documents[start:start + bulk]:
                texts = splitter.split(document.text) if splitter else [document.text]
                segments.extend((text, {**document.metadata, "index": str(i)}) for i, text in enumerate(texts))
            if segments:
                vectors, usage = embed(provider, [text for text, _ in segments])
                store.add(vectors, segments)
                tokens += (usage or {}).get("totalTokenCount") or 0
        store.save(ctx)
        ctx.info(f"Ingested {len(documents)} documents into '{store.key}' ({len(store.entries)} segments in the store)")
        outputs: dict[str, Any] = {"ingestedDocuments": len(documents), "embeddingStoreOutputs": {"kvName": store.key}}
        if tokens:
            outputs.update(inputTokenCount=tokens, totalTokenCount=tokens)
        return outputs


# -- rag.ChatCompletion --------------------------------------------------------------------------------

_RAG_REFUSED = {
    "contentRetrievers": "content retrievers (web search...) are not supported here: use `embeddings`",
    "tools": "tools are not supported here",
    "memory": "chat memory is not supported here",
    "guardrails": "guardrails are not supported here",
}


def _retrieval_settings(raw: Any) -> tuple[int, float]:
    raw = raw or {}
    try:
        return int(raw.get("maxResults", 3)), float(raw.get("minScore", 0.0))
    except (TypeError, ValueError, AttributeError):
        raise TaskFailure("contentRetrieverConfiguration: maxResults must be a number, minScore a number "
                          "between 0 and 1") from None


class ChatCompletion(TaskPlugin):
    """Answer a `prompt` with a model, given the passages of an embedding store closest to it (RAG)."""

    type = "io.kestra.plugin.ai.rag.ChatCompletion"
    aliases = ("io.kestra.plugin.langchain4j.rag.ChatCompletion",)
    blocking = True
    example = """\
id: rag
namespace: company.team

tasks:
  - id: answer
    type: io.kestra.plugin.ai.rag.ChatCompletion
    chatProvider:
      type: io.kestra.plugin.ai.provider.GoogleGemini
      modelName: gemini-2.5-flash
      apiKey: "{{ kv('GEMINI_API_KEY') }}"
    embeddingProvider:
      type: io.kestra.plugin.ai.provider.GoogleGemini
      modelName: gemini-embedding-001
      apiKey: "{{ kv('GEMINI_API_KEY') }}"
    embeddings:
      type: io.kestra.plugin.ai.embeddings.KestraKVStore
    prompt: In which language are Kestra flows written?
"""
    properties = {
        "prompt": Prop("string", required=True, description="The user's question."),
        "systemMessage": Prop("string", description="Instructions that set the assistant's role and limits."),
        "chatProvider": Prop("map", required=True, description=PROVIDER_DESCRIPTION),
        "embeddingProvider": Prop("map", description="The provider of the embedding model the store was filled "
                                                     "with (the chat provider when absent)."),
        "embeddings": Prop("map", required=True, description=EMBEDDINGS_DESCRIPTION),
        "chatConfiguration": Prop("map", default={}, description=CONFIGURATION_DESCRIPTION),
        "contentRetrieverConfiguration": Prop("map", default={"maxResults": 3, "minScore": 0.0}, description=(
            "`maxResults` (3): passages given to the model at most; `minScore` (0): the least relevance "
            "(0 to 1) of a passage.")),
        **{name: Prop("any", description=f"Refused: {reason}.") for name, reason in _RAG_REFUSED.items()},
    }
    outputs = {
        **AI_OUTPUTS,
        "sources": "The passages given to the model: [{content, metadata}].",
        "completion": "Deprecated: the same as textOutput.",
    }

    def check(self, task: Any) -> list[tuple[str, str]]:
        return [*check_provider(task.props.get("chatProvider"), "chatProvider"),
                *check_provider(task.props.get("embeddingProvider"), "embeddingProvider"),
                *check_store(task.props.get("embeddings")), *refused_props(task, _RAG_REFUSED)]

    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        chat_provider = read_provider(ctx, "chatProvider")
        embedding_provider = (read_provider(ctx, "embeddingProvider") if ctx.get("embeddingProvider")
                              else chat_provider)
        settings = chat_settings(ctx.get("chatConfiguration"), "chatConfiguration")
        prompt = read_prompt(ctx)
        passages = _retrieve(ctx, embedding_provider, prompt)
        user_text = (prompt + _INJECTION + "\n\n".join(p["text"] for p in passages)) if passages else prompt
        answer = chat(ctx, chat_provider, prompt_messages(ctx, user_text), settings)
        ctx.log("DEBUG", f"Generated completion: {answer.text}")
        outputs = ai_outputs(answer, settings, chat_provider)
        outputs["sources"] = [{"content": p["text"], "metadata": (p.get("metadata") or {}).get("metadata") or {}}
                              for p in passages]
        if "textOutput" in outputs:
            outputs["completion"] = outputs["textOutput"]
        return outputs


def _retrieve(ctx: TaskContext, provider: Provider, prompt: str) -> list[dict[str, Any]]:
    """The stored passages closest to ``prompt`` (their ``embedded`` parts), best first."""
    store = KVEmbeddingStore.open(ctx, ctx.get("embeddings"), drop=False)
    max_results, min_score = _retrieval_settings(ctx.get("contentRetrieverConfiguration"))
    if not store.entries:
        ctx.log("WARN", f"The embedding store '{store.key}' of namespace {store.namespace} is empty: the prompt "
                        "goes to the model without passages (ingest documents first with rag.IngestDocument)")
        return []
    vectors, _ = embed(provider, [prompt])
    found = store.search(vectors[0], max_results, min_score)
    ctx.log("DEBUG", f"Retrieved {len(found)} passages (scores {', '.join(f'{s:.3f}' for s, _ in found)})")
    return [entry["embedded"] for _, entry in found]
