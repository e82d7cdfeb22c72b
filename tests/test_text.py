"""The rule for file-controlled text in messages (core.text, issue 22): plain, one line,
at most 200 characters with the middle elided; lesson text keeps only a few inline tags."""

import json

import pytest

from flowviz import lessons
from flowviz.core import text


def test_one_line_escapes_line_breaks_and_control_characters():
    assert text.one_line("a\nb\r\tc\x1b[31md\u2028e") == "a\\nb\\r\\tc\\x1b[31md\\u2028e"


def test_long_text_keeps_its_start_and_end():
    long = "start:" + "x" * 60_000 + ":end"
    short = text.one_line(long)
    assert len(short) == text.LIMIT
    assert short.startswith("start:") and short.endswith(":end") and "…" in short
    assert text.one_line("short") == "short"
    assert text.one_line(short) == short  # applying it twice changes nothing


def test_escaped_is_inert_as_rich_text():
    assert text.escaped("<table><tr><td>&") == "&lt;table&gt;&lt;tr&gt;&lt;td&gt;&amp;"


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("x<sub>t</sub> and t<sup>2</sup>", "x<sub>t</sub> and t<sup>2</sup>"),
        ("<b>bold</b> <i>it</i> <em>em</em><br>next", "<b>bold</b> <i>it</i> <em>em</em><br>next"),
        ("<img src='/etc/passwd'>", "&lt;img src='/etc/passwd'&gt;"),
        ('<a href="file:///home">here</a>', '&lt;a href="file:///home"&gt;here&lt;/a&gt;'),
        ("<table><tr><td>x", "&lt;table&gt;&lt;tr&gt;&lt;td&gt;x"),
        ("<b onclick='x'>b</b>", "&lt;b onclick='x'&gt;b"),
        ("<b>open", "<b>open</b>"),
        ("σ &sigma; &#955; a & b < c", "σ &sigma; &#955; a &amp; b &lt; c"),
    ],
)
def test_lesson_html_keeps_only_inline_tags(written, shown):
    assert text.lesson_html(written) == shown


def test_lesson_html_limits_nesting():
    out = text.lesson_html("<b>" * 5000 + "deep")
    assert out.count("<b>") == text.MAX_NESTING and out.endswith("</b>" * text.MAX_NESTING)


def test_a_lesson_never_shows_tables_images_or_links(tmp_path):
    hostile = "<table>" * 3000 + "<img src='x.png'><a href='file:///etc'>go</a> x<sub>t</sub>"
    step = {"title": "<table>T", "text": hostile}
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps({"format": "flowviz.lesson", "version": 1, "title": "<img>L",
                                "steps": [step]}))  # fmt: skip
    lesson = lessons.load(path)
    shown = [lesson.title, lesson.steps[0].title, lesson.steps[0].text]
    for s in shown:
        assert "<table" not in s and "<img" not in s and "<a " not in s
    assert "x<sub>t</sub>" in lesson.steps[0].text
