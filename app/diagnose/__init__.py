"""`diagnose`: the paper's diagnostics for a network the user trained (issue 23).

reader (an .npz or .safetensors file's bytes → arrays, or one sentence), report (the arrays → the report, with
app/engine's math), html (the report → one self-contained offline page), cli (`python -m app diagnose`).
Above the engine, beside the CLI; the server's /diagnose page and /api/diagnose call the same functions.
"""
