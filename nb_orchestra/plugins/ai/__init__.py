"""io.kestra.plugin.ai.*: chat completion and retrieval-augmented generation with hosted or local models.

Tasks: ``completion.ChatCompletion`` (a conversation, one answer), ``rag.IngestDocument`` (documents ->
embeddings in Kestra's ``KestraKVStore``), ``rag.ChatCompletion`` (a prompt answered with the stored
passages closest to it) and ``agent.AIAgent`` without tools (a system message and a prompt). Providers:
``GoogleGemini``, ``OpenAI`` (or any OpenAI-compatible endpoint through ``baseUrl``) and ``Ollama``
(through its OpenAI-compatible API, ``{endpoint}/v1``).

Kestra reaches the models through langchain4j; here each provider is reached through its own official
Python SDK, ``openai`` for OpenAI, OpenAI-compatible servers and Ollama, ``google-genai`` for Gemini
(extra ``ai``, imported when a task runs): they are maintained by the providers, typed, and the ones
the providers' own documentation uses, so requests and errors are the documented ones rather than a
hand-written imitation of each HTTP API.
"""
