"""`rfc3987_syntax`, served by its maintained fork rfc3987-syntax2 (python-jsonschema's own).

jsonschema checks the `iri` and `iri-reference` formats with `rfc3987_syntax.is_valid_syntax`, and
imports it with its format checkers, which every Jupyter server does at start (jupyter_events).
rfc3987-syntax 1.1.0 builds about 40 Earley parsers of its grammar at import: 1.5-1.8 s of each
start. The fork has the same API and builds a parser when it is first asked. This module comes
first on PYTHONPATH; the original package stays installed beside it.
"""

import rfc3987_syntax2 as _fork


def __getattr__(name):
    return getattr(_fork, name)


def __dir__():
    return dir(_fork)
