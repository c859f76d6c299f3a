"""Local stand-ins of the AI providers' documented HTTP APIs, for tests/test_ai.py.

One threaded HTTP server on 127.0.0.1 answers, in the shapes the providers document:

- OpenAI (and Ollama's OpenAI-compatible API): ``POST /v1/chat/completions``, ``POST /v1/embeddings``;
- Google Gemini: ``POST /v1beta/models/{model}:generateContent``, ``:embedContent``, ``:batchEmbedContents``;
- plain documents: ``GET /docs/{name}`` serves ``StandIn.documents[name]`` (fromExternalURLs).

Every request is recorded (path, headers with lower-case names, JSON body) for assertions. Embeddings
are deterministic: the words of a text hashed into a small vector, so texts sharing words are close and
retrieval predictable. While ``fail`` is set, every model request is answered with that HTTP status.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIMENSION = 64
_WORD = re.compile(r"[a-z0-9]+")
# Words too common to tell documents apart.
_STOP_WORDS = frozenset("a an and are at be by for from in is it of on or the to was were what which with".split())


def embedding(text: str) -> list[float]:
    """A unit vector of the text's words, each word hashed to one of DIMENSION axes."""
    vector = [0.0] * DIMENSION
    for word in _WORD.findall(text.lower()):
        if word not in _STOP_WORDS:
            vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % DIMENSION] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class StandIn:
    url: str = ""
    answer: str = "Stand-in answer."
    documents: dict[str, str] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    fail: int | None = None  # an HTTP status every model request gets, when set

    def received(self, path_part: str) -> list[Recorded]:
        return [request for request in self.requests if path_part in request.path]

    def last(self, path_part: str) -> Recorded:
        found = self.received(path_part)
        assert found, f"no request to {path_part}; got {[r.path for r in self.requests]}"
        return found[-1]


def _openai_chat(standin: StandIn, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-standin", "object": "chat.completion", "created": 0, "model": body.get("model"),
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": standin.answer}}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def _openai_embeddings(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    return {
        "object": "list", "model": body.get("model"),
        "data": [{"object": "embedding", "index": i, "embedding": embedding(text)} for i, text in enumerate(inputs)],
        "usage": {"prompt_tokens": 5 * len(inputs), "total_tokens": 5 * len(inputs)},
    }


def _gemini_generate(standin: StandIn) -> dict[str, Any]:
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": standin.answer}]},
                        "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 13, "candidatesTokenCount": 8, "totalTokenCount": 21},
        "modelVersion": "gemini-standin", "responseId": "gemini-standin-1",
    }


def _gemini_text(content: dict[str, Any]) -> str:
    return "".join(part.get("text", "") for part in content.get("parts", []))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    standin: StandIn

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.standin.requests.append(Recorded("GET", self.path, self._headers(), None))
        name = self.path.removeprefix("/docs/")
        if self.path.startswith("/docs/") and name in self.standin.documents:
            self._send(200, self.standin.documents[name].encode(), "text/plain; charset=utf-8")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body: Any = json.loads(raw) if raw else None
        self.standin.requests.append(Recorded("POST", self.path, self._headers(), body))
        if self.standin.fail:
            self._json(self.standin.fail, {"error": {"code": self.standin.fail, "message": "stand-in refused",
                                                     "status": "UNAVAILABLE"}})
            return
        path = self.path.split("?")[0]
        if path == "/v1/chat/completions":
            self._json(200, _openai_chat(self.standin, body))
        elif path == "/v1/embeddings":
            self._json(200, _openai_embeddings(body))
        elif path.startswith("/v1beta/models/") and path.endswith(":generateContent"):
            self._json(200, _gemini_generate(self.standin))
        elif path.startswith("/v1beta/models/") and path.endswith(":batchEmbedContents"):
            self._json(200, {"embeddings": [{"values": embedding(_gemini_text(r["content"]))}
                                            for r in body["requests"]]})
        elif path.startswith("/v1beta/models/") and path.endswith(":embedContent"):
            self._json(200, {"embedding": {"values": embedding(_gemini_text(body["content"]))}})
        else:
            self._json(404, {"error": {"code": 404, "message": f"no route {path}"}})

    def _headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def _json(self, code: int, payload: dict[str, Any]) -> None:
        self._send(code, json.dumps(payload).encode(), "application/json")

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server:
    """A running stand-in; ``close()`` stops it."""

    def __init__(self) -> None:
        self.standin = StandIn()
        handler = type("Handler", (_Handler,), {"standin": self.standin})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self.standin.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
