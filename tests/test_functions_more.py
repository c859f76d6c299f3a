"""Kestra's functions currentEachOutput, encrypt/decrypt, fileSize and fileURI.

Facts from Kestra's tests (core/src/test/java/io/kestra/core/runners/pebble/functions/ and
flows/valids/current-output.yaml); the ciphertexts were made by Java's AES/GCM/NoPadding as Kestra's
EncryptionService calls it.
"""

from __future__ import annotations

import base64

import pytest

from nb_orchestra import expressions, internal_storage
from nb_orchestra.config import settings
from nb_orchestra.errors import TemplateError
from nb_orchestra.expressions.lint import lint

from .conftest import messages, run_flow

KEY = "I6EGNzRESu3X3pKZidrqCGOHQFUFC0yK"  # kestra.encryption.secret-key of Kestra's tests (AES-192)
FROM_JAVA = {  # Java's ciphertexts with KEY: base64(12-byte IV + ciphertext + 16-byte tag)
    "0P1O3740egaOvsfO4I16sR7MesMH0t12CmblUIbd8MQ=": "toto",
    "MHrDPSsnvh2GorEBAeIGjhoztlAQDfhI+ZixmlwyPgjpw7mZU+hicV18vNOx": "héllo wörld ✓",
}


def render(template: str, **variables) -> str:
    return expressions.render(template, variables)


# -- encrypt / decrypt ------------------------------------------------------------------------------

@pytest.mark.parametrize("encrypted, plaintext", FROM_JAVA.items())
def test_decrypt_reads_what_kestra_encrypted(encrypted, plaintext):
    assert render("{{ decrypt(key, encrypted) }}", key=KEY, encrypted=encrypted) == plaintext


def test_encrypt_then_decrypt_gives_the_text_back_in_kestras_layout():
    encrypted = render("{{ encrypt(key, 'toto') }}", key=KEY)
    data = base64.b64decode(encrypted)
    assert len(data) == 12 + len("toto") + 16  # IV, ciphertext, GCM tag
    assert encrypted != render("{{ encrypt(key, 'toto') }}", key=KEY)  # a fresh IV each time
    assert render("{{ decrypt(key, encrypted) }}", key=KEY, encrypted=encrypted) == "toto"
    assert render("{{ decrypt(key=key, encrypted=encrypt(key=key, plaintext='é ✓')) }}", key=KEY) == "é ✓"


def test_an_empty_text_stays_empty():
    assert render("[{{ encrypt(key, '') }}][{{ decrypt(key, '') }}]", key=KEY) == "[][]"


def test_a_wrong_key_or_a_changed_value_does_not_decrypt():
    other_key = base64.b64encode(b"0123456789abcdef").decode()
    encrypted = next(iter(FROM_JAVA))
    with pytest.raises(TemplateError, match="Tag mismatch"):
        render("{{ decrypt(key, encrypted) }}", key=other_key, encrypted=encrypted)
    changed = base64.b64encode(bytes([b ^ (i == 20) for i, b in enumerate(base64.b64decode(encrypted))])).decode()
    with pytest.raises(TemplateError, match="Tag mismatch"):
        render("{{ decrypt(key, encrypted) }}", key=KEY, encrypted=changed)


def test_bad_keys_give_short_errors_without_the_key():
    short = base64.b64encode(b"12345").decode()
    with pytest.raises(TemplateError, match=r"encrypt\(\): Invalid AES key length: 5 bytes") as info:
        render("{{ encrypt(key, 'toto') }}", key=short)
    assert short not in str(info.value)
    with pytest.raises(TemplateError, match=r"decrypt\(\): 'key' is not base64"):
        render("{{ decrypt('not base64!', 'abcd') }}")
    with pytest.raises(TemplateError, match=r"'encrypted' is not base64"):
        render("{{ decrypt(key, 'not base64!') }}", key=KEY)


def test_missing_arguments_are_errors_and_lint_mistakes():
    # EncryptDecryptFunctionTest.missingParameter
    for template in ("{{ encrypt('toto') }}", "{{ decrypt('toto') }}"):
        with pytest.raises(TemplateError):
            render(template)
        assert [mistake.text for mistake in lint(template).mistakes] == [template[3:-3]]


def test_without_cryptography_the_error_names_the_package(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.ciphers.aead", None)
    with pytest.raises(TemplateError, match=r"encrypt\(\) needs the cryptography package: pip install cryptography"):
        render("{{ encrypt(key, 'toto') }}", key=KEY)


# -- fileURI ------------------------------------------------------------------------------------------

def test_file_uri_of_a_namespace_file():
    flow = {"id": "flow", "namespace": "my.namespace"}
    # FileURIFunctionTest
    assert render("{{ fileURI(fileA) }}", flow=flow, fileA="test") == "kestra:///my/namespace/_files/test"
    assert render("{{ fileURI('/a/b.txt') }}", flow=flow) == "kestra:///my/namespace/_files/a/b.txt"
    with pytest.raises(TemplateError, match=r"Path must not contain '\.\./'"):
        render("{{ fileURI(fileA) }}", flow=flow, fileA="../test")
    with pytest.raises(TemplateError, match="needs a running flow"):
        render("{{ fileURI('test') }}")


def test_a_file_uri_names_the_namespace_file_in_a_flow():
    folder = internal_storage.namespace_files_dir("tests.files") / "scripts"
    folder.mkdir(parents=True)
    (folder / "hello.txt").write_text("hello from a namespace file")
    ex = run_flow("""
        tasks:
          - id: show
            type: io.kestra.plugin.core.log.Log
            message: "{{ fileURI('scripts/hello.txt') }} {{ read(fileURI('scripts/hello.txt')) }}"
        """, namespace="tests.files")
    assert ex.state == "SUCCESS"
    assert messages(ex, "show") == ["kestra:///tests/files/_files/scripts/hello.txt hello from a namespace file"]


def test_only_the_files_folder_after_a_namespace_names_namespace_files():
    namespace_file = internal_storage.namespace_file("my.ns", "a/b.txt")
    assert internal_storage.to_path("kestra:///my/ns/_files/a/b.txt") == namespace_file
    in_a_task_run = "my/ns/flow/executions/e1/tasks/t/r/_files/a.txt"  # a task's own folder of that name
    assert internal_storage.to_path(f"kestra:///{in_a_task_run}") == settings.home / "storage" / in_a_task_run


# -- fileSize -----------------------------------------------------------------------------------------

FILE_TEXT = "Hello from a task output"  # FileSizeFunctionTest: 24 bytes


def stored_file(flow_id: str, execution_id: str) -> str:
    folder = settings.execution_dir("my.namespace", flow_id, execution_id) / "tasks" / "task" / "run"
    folder.mkdir(parents=True)
    (folder / "123456.ion").write_text(FILE_TEXT)
    return internal_storage.to_uri(folder / "123456.ion")


def test_file_size_of_a_file_of_the_current_or_the_triggering_execution():
    uri = stored_file("flow", "exec1")
    current = {"flow": {"id": "flow", "namespace": "my.namespace"}, "execution": {"id": "exec1"}}
    assert render("{{ fileSize(file) }}", file=uri, **current) == "24"
    assert expressions.render_typed(f"{{{{ fileSize('{uri}') }}}}", current) == 24
    child = {"flow": {"id": "subflow", "namespace": "my.namespace"}, "execution": {"id": "exec2"},
             "trigger": {"flowId": "flow", "namespace": "my.namespace", "executionId": "exec1"}}
    assert render("{{ fileSize(file) }}", file=uri, **child) == "24"


def test_file_size_refuses_the_files_of_other_executions():
    uri = stored_file("flow", "exec1")
    other = {"flow": {"id": "subflow", "namespace": "my.namespace"}, "execution": {"id": "exec2"}}
    with pytest.raises(TemplateError, match="Unable to read the file .* didn't belong to the current execution"):
        render("{{ fileSize(file) }}", file=uri, **other)
    no_namespace = {**other, "trigger": {"flowId": "flow", "executionId": "exec1"}}
    with pytest.raises(TemplateError, match="Unable to read the file"):
        render("{{ fileSize(file) }}", file=uri, **no_namespace)


def test_file_size_errors_for_a_missing_file_or_a_path_that_is_no_uri():
    current = {"flow": {"id": "flow", "namespace": "my.namespace"}, "execution": {"id": "exec1"}}
    missing = "kestra:///my/namespace/flow/executions/exec1/tasks/task/run/gone.ion"
    with pytest.raises(TemplateError, match=f"fileSize\\(\\): no file at {missing}"):
        render("{{ fileSize(file) }}", file=missing, **current)
    with pytest.raises(TemplateError, match="Unable to create the URI from the path a/b.txt"):
        render("{{ fileSize('a/b.txt') }}", **current)
    with pytest.raises(TemplateError, match="needs a running flow"):
        render("{{ fileSize(file) }}", file=missing)


def test_file_size_of_a_task_output_in_a_flow():
    ex = run_flow("""
        tasks:
          - id: write
            type: io.kestra.plugin.core.storage.Write
            content: "Hello from a task output"
          - id: size
            type: io.kestra.plugin.core.log.Log
            message: "{{ fileSize(outputs.write.uri) }}"
        """)
    assert ex.state == "SUCCESS"
    assert messages(ex, "size") == ["24"]


# -- currentEachOutput ----------------------------------------------------------------------------------

CURRENT_OUTPUT = """
    tasks:
      - id: 1_each
        type: io.kestra.plugin.core.flow.ForEach
        values: '["v11", "v12"]'
        tasks:
          - id: 1-1_each
            type: io.kestra.plugin.core.flow.ForEach
            values: '["v21", "v22"]'
            tasks:
              - id: 1-1-1_each
                type: io.kestra.plugin.core.flow.ForEach
                values: '["v31", "v32"]'
                tasks:
                  - id: 1-1-1_output
                    type: io.kestra.plugin.core.debug.Return
                    format: "{{ parents[1].taskrun.value }}-{{ parents[0].taskrun.value }}-{{ taskrun.value }}"
                  - id: 1-1-1_return
                    type: io.kestra.plugin.core.debug.Return
                    format: "return-{{ currentEachOutput(outputs['1-1-1_output']).value }}"
      - id: 2_each
        type: io.kestra.plugin.core.flow.ForEach
        values: '["v41", "v42"]'
        tasks:
          - id: 2-1_output
            type: io.kestra.plugin.core.debug.Return
            format: "{{ taskrun.value }}"
          - id: 2-1_return
            type: io.kestra.plugin.core.debug.Return
            format: "return-{{ currentEachOutput(outputs['2-1_output']).value }}"
    """


def test_current_each_output_in_nested_foreach():
    # CurrentEachOutputFunctionTest.parallel on flows/valids/current-output.yaml
    ex = run_flow(CURRENT_OUTPUT)
    assert ex.state == "SUCCESS"
    nested = ex.outputs["1-1-1_return"]
    for outer in ("v11", "v12"):
        for middle in ("v21", "v22"):
            for inner in ("v31", "v32"):
                assert nested[outer][middle][inner]["value"] == f"return-{outer}-{middle}-{inner}"
    assert {value: ex.outputs["2-1_return"][value]["value"] for value in ("v41", "v42")} == {
        "v41": "return-v41", "v42": "return-v42"}


def test_current_each_output_walks_parents_then_the_task_run():
    outputs = {"a": {"x": {"value": "ax"}, "y": {"value": "ay"}}, "b": {"x": {"value": "bx"}}}
    variables = {"parents": [{"taskrun": {"value": "b"}}], "taskrun": {"value": "x"}, "out": outputs}
    assert expressions.render("{{ currentEachOutput(out).value }}", variables) == "bx"
    assert expressions.render("{{ currentEachOutput(out).value ?? 'none' }}",
                              {**variables, "taskrun": {"value": "y"}}) == "none"
    with pytest.raises(TemplateError, match="expects an argument 'outputs' with type map"):
        expressions.render("{{ currentEachOutput('text') }}", variables)


def test_a_decrypted_value_is_masked_in_a_run_as_a_secret_is():
    ex = run_flow(f"""
        tasks:
          - id: show
            type: io.kestra.plugin.core.log.Log
            message: "clear: {{{{ decrypt('{KEY}', '0P1O3740egaOvsfO4I16sR7MesMH0t12CmblUIbd8MQ=') }}}}"
        """)
    assert ex.state == "SUCCESS"
    assert messages(ex) == ["clear: ******"]
