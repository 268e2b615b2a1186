"""User text: Markdown rendered to HTML, then cleaned by nh3 (an allow-list sanitiser), so no
script, no event handler, no style and no javascript:/data: link survives whatever was typed.
Raw HTML in the Markdown is not rendered at all (markdown-it's "html" option is off): it shows as
the text it is."""

from __future__ import annotations

import html as htmllib
import re

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h2", "h3", "h4",
        "table", "thead", "tbody", "tr", "th", "td", "hr"}
ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


def render(text: str | None) -> SafeString:
    """Markdown → sanitised HTML. Headings are demoted (# → h2) so a user's text never competes
    with the page's own h1; links open as ordinary links with rel="nofollow noopener"."""
    source = (text or "").replace("\r\n", "\n")
    html = _md.render(source)
    html = re.sub(r"<(/?)h1>", r"<\1h2>", html)
    clean = nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                      link_rel="nofollow noopener noreferrer", strip_comments=True)
    return mark_safe(clean)  # noqa: S308 - nh3 output is the allow-list above and nothing else


def plain(text: str | None) -> str:
    """The words of a Markdown text without its markup: what the search index holds."""
    html = _md.render((text or "").replace("\r\n", "\n"))
    words = nh3.clean(html, tags=set(), attributes={})
    return re.sub(r"\s+", " ", htmllib.unescape(words)).strip()


def highlight(snippet: str, start: str, stop: str) -> SafeString:
    """A search snippet with the engine's sentinel marks turned into <mark>, everything else
    escaped."""
    out = []
    for part in re.split(f"({re.escape(start)}|{re.escape(stop)})", snippet):
        if part == start:
            out.append("<mark>")
        elif part == stop:
            out.append("</mark>")
        else:
            out.append(escape(part))
    return mark_safe("".join(out))
