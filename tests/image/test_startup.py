"""What the lab's start does not pay for, and what it keeps doing all the same (no timings here:
those are in `make bench`)."""

import pytest

pytestmark = pytest.mark.engine

# Count the grammars Lark compiles while the Jupyter server's modules import, then check IRIs.
SERVER_IMPORT = """
import lark
built = []
original = lark.Lark.__init__
lark.Lark.__init__ = lambda self, *a, **k: built.append(k.get("start")) or original(self, *a, **k)
import jupyter_server.serverapp, jupyterlab.labapp
print("grammars built at import:", len(built))
from jsonschema import FormatChecker
checker = FormatChecker()
print("iri ok:", checker.conforms("http://\\u0192\\u00f8\\u00f8.\\u00df\\u00e5r/?q=\\u03c0#\\u00fc", "iri"))
print("iri bad:", checker.conforms("http://2001:0db8:85a3:0000:0000:8a2e:0370:7334", "iri"))
print("relative is no iri:", checker.conforms("/just/a/path", "iri"))
print("iri-reference ok:", checker.conforms("//\\u0192\\u00f8\\u00f8.\\u00df\\u00e5r/?q=\\u03c0", "iri-reference"))
print("iri-reference bad:", checker.conforms("\\\\\\\\WINDOWS\\\\fil\\u00eb", "iri-reference"))
"""


def test_server_start_compiles_no_iri_grammar(cpu_container):
    """Importing the Jupyter server compiles no IRI grammar, and jsonschema still checks IRIs (the lazy fork)."""
    lines = cpu_container.run(["python", "-c", SERVER_IMPORT], network_mode="none").strip().splitlines()
    assert lines[-6:] == ["grammars built at import: 0", "iri ok: True", "iri bad: False",
                          "relative is no iri: False", "iri-reference ok: True", "iri-reference bad: False"]
