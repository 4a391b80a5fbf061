"""The safe Markdown subset of lesson texts: paragraphs, **bold**, *emphasis* and `code`, nothing else.

Everything is HTML-escaped first, so a lesson file can never put markup of its own on a page; the page
inserts the result as it is.
"""

from __future__ import annotations

import html
import re

_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_EM = re.compile(r"(?<![\*\w])\*(?=\S)(.+?)(?<=\S)\*(?![\*\w])")
_CODE = re.compile(r"`([^`\n]+)`")


def render(text: str) -> str:
    """Markdown subset → HTML: blank lines separate paragraphs; single newlines are spaces."""
    out = []
    for para in re.split(r"\n\s*\n", text.strip()):
        chunk = html.escape(" ".join(para.split()), quote=True)
        chunk = _CODE.sub(r"<code>\1</code>", chunk)
        chunk = _STRONG.sub(r"<strong>\1</strong>", chunk)
        chunk = _EM.sub(r"<em>\1</em>", chunk)
        out.append(f"<p>{chunk}</p>")
    return "".join(out)


def words(text: str) -> int:
    """How many words a text has (what "at most ~120 words" counts)."""
    return len(text.split())
