"""File-controlled text in messages: one rule for every place that shows it.

A file name, a zip member name, a lesson title or an export title comes from whoever wrote
the file. Shown as Qt rich text, thousands of nested `<table>` tags crash the process and
thirty hang it for minutes; printed as-is, a newline breaks the one-line message rule and
60,000 characters bury the problem. So every message is:

- plain text (labels and message boxes use Qt.PlainText; `escaped` where rich text is
  unavoidable, e.g. a title pyqtgraph draws as HTML);
- one line: line breaks and other control characters shown escaped (`\\n`, `\\x1b`);
- at most LIMIT characters, the middle elided (the start names the file, the end says
  the problem).

Lesson text is meant to be rich text: `lesson_html` keeps only a few inline tags (sub,
sup, b, i, em, strong, br) without attributes and escapes everything else, so a lesson can
never show an image, a link to a file or a table. No Qt here (core layer).
"""

from __future__ import annotations

import html
import re

LIMIT = 200
NAME_LIMIT = 80  # a file or member name inside a message, before the rest of it
ELLIPSIS = "…"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: Tags a lesson's text may use (inline only, never with attributes).
LESSON_TAGS = ("b", "i", "em", "strong", "sub", "sup", "br")
MAX_NESTING = 8
_TAG = re.compile(r"<(/?)([A-Za-z]+)\s*(/?)>")


def one_line(text: object, limit: int = LIMIT) -> str:
    """text as one line of at most limit characters: control characters escaped, the middle
    elided."""
    s = _CONTROL.sub(_escape_control, str(text))
    return elide(s, limit)


def elide(s: str, limit: int) -> str:
    """s shortened to limit characters by an ellipsis in the middle."""
    if len(s) <= limit:
        return s
    head = (limit - 1) // 2
    tail = limit - 1 - head
    return s[:head] + ELLIPSIS + (s[-tail:] if tail else "")


def name(text: object) -> str:
    """A file-controlled name (file, member, title) as it appears inside a message."""
    return one_line(text, NAME_LIMIT)


def quoted(text: object) -> str:
    """A file-controlled name in quotes, shortened (repr-like, one line)."""
    return "'" + name(text) + "'"


def escaped(text: object, limit: int = LIMIT) -> str:
    """one_line(text), escaped for a place that renders rich text (a title drawn as HTML)."""
    return html.escape(one_line(text, limit), quote=False)


def rich_line(text: object, limit: int = LIMIT) -> str:
    """A title drawn as rich text (an export's heading): one_line, then lesson_html's tags."""
    return lesson_html(one_line(text, limit))


def lesson_html(text: str) -> str:
    """A lesson's rich text with only LESSON_TAGS kept (no attributes); every other `<`, `>`
        and `&`-sequence is shown as written. Unbalanced kept tags are closed at the end; tags
    nested deeper than MAX_NESTING are dropped."""
    out: list[str] = []
    open_tags: list[str] = []
    pos = 0
    for m in _TAG.finditer(text):
        out.append(_entity_safe(text[pos : m.start()]))
        pos = m.end()
        closing, tag = m[1] == "/", m[2].lower()
        if tag not in LESSON_TAGS:
            out.append(html.escape(m[0], quote=False))
        elif tag == "br":
            out.append("<br>")
        elif not closing:
            if len(open_tags) < MAX_NESTING:  # deeper tags are dropped, not shown
                open_tags.append(tag)
                out.append(f"<{tag}>")
        elif tag in open_tags:
            while open_tags:  # close what was opened inside it as well
                inner = open_tags.pop()
                out.append(f"</{inner}>")
                if inner == tag:
                    break
    out.append(_entity_safe(text[pos:]))
    out.extend(f"</{t}>" for t in reversed(open_tags))
    return "".join(out)


def _entity_safe(s: str) -> str:
    """Plain text for rich text: `<` and `>` escaped, character entities (&sigma;, &#955;)
    kept, a lone `&` escaped."""
    s = s.replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"&(?!#?\w+;)", "&amp;", s)


def _escape_control(m: re.Match) -> str:
    c = m[0]
    if c in _NAMED:
        return _NAMED[c]
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
