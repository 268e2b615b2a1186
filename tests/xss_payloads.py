"""Cross-site scripting payloads, each of which would call window.__xss() (or show a dialog) if it
ran. Used on every user-text field: by the sanitiser tests (nothing dangerous survives in the
HTML: `dangerous`) and by the browser tests (nothing runs in Chromium)."""

PAYLOADS = [
    "<script>window.__xss(1)</script>",
    "<SCRIPT SRC=//example.org/x.js></SCRIPT>",
    "<img src=x onerror=window.__xss(2)>",
    "<img src=\"x\" onerror=\"window.__xss(3)\">",
    "<svg onload=window.__xss(4)>",
    "<svg><script>window.__xss(5)</script></svg>",
    "<body onload=window.__xss(6)>",
    "<iframe src=\"javascript:window.__xss(7)\"></iframe>",
    "<iframe srcdoc=\"<script>parent.__xss(8)</script>\"></iframe>",
    "<a href=\"javascript:window.__xss(9)\">click</a>",
    "[click](javascript:window.__xss(10))",
    "[click](JaVaScRiPt:window.__xss(11))",
    "[click](javascript&#58;window.__xss(12))",
    "[click](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX194c3MoMTMpPC9zY3JpcHQ+)",
    "![x](javascript:window.__xss(14))",
    "![x\" onerror=\"window.__xss(15)](https://example.org/x.png)",
    "[a](https://example.org \"title\" onmouseover=\"window.__xss(16)\")",
    "<details open ontoggle=window.__xss(17)>",
    "<input autofocus onfocus=window.__xss(18)>",
    "<video><source onerror=\"window.__xss(19)\"></video>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss(20)>",
    "<object data=\"javascript:window.__xss(21)\"></object>",
    "<embed src=\"javascript:window.__xss(22)\">",
    "<form action=\"javascript:window.__xss(23)\"><button>go</button></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__xss(24)\">",
    "<style>@import 'javascript:window.__xss(25)';</style>",
    "<div style=\"background:url(javascript:window.__xss(26))\">x</div>",
    "<a href=\"&#106;avascript:window.__xss(27)\">x</a>",
    "<a href=\" javascript:window.__xss(28)\">x</a>",
    "\"><script>window.__xss(29)</script>",
    "'><img src=x onerror=window.__xss(30)>",
    "</textarea><script>window.__xss(31)</script>",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__xss(32)>\">",
    "<base href=\"javascript:window.__xss(33)//\">",
    "<link rel=stylesheet href=\"javascript:window.__xss(34)\">",
    "[x](vbscript:window.__xss(35))",
    "<a href=\"data:text/html,<script>window.__xss(36)</script>\">x</a>",
    "{{ 7*7 }}<template><script>window.__xss(37)</script></template>",
]

DANGEROUS_TAGS = {"script", "iframe", "svg", "object", "embed", "style", "meta", "base", "link", "form", "input",
                  "math", "template", "frame", "frameset", "applet", "noscript", "details", "video", "source", "body"}
# In a whole page, the portal's own markup has an SVG logo, forms, inputs, details, meta and link
# elements and its own scripts: those are judged by their attributes, not their names.
PAGE_TAGS = {"iframe", "object", "embed", "base", "math", "template", "frame", "frameset", "applet", "noscript",
             "video", "source"}
OWN_SCRIPT = ("/static/", "/assets/")
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")


def dangerous(html: str, *, page: bool = False) -> list[str]:
    """Elements and attributes in `html` that could run script: dangerous tags, event-handler or
    style attributes, and links or sources with a script or data scheme. Text that merely shows
    such markup (escaped) is harmless and is not reported. With `page`, `html` is a whole portal
    page: its own scripts (from /static/ or /assets/, or JSON data blocks), head elements, logo
    and forms are allowed, and everything else is judged as strictly."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Scan(HTMLParser):
        def handle_starttag(self, tag, attrs):
            a = {name: (value or "") for name, value in attrs}
            if page:
                if tag == "script":
                    own = a.get("src", "").startswith(OWN_SCRIPT) or a.get("type") == "application/json"
                    if not own:
                        found.append(f"<script {a}>")
                elif tag == "meta" and "http-equiv" in a:
                    found.append(f"<meta {a}>")
                elif tag == "link" and not a.get("href", "").startswith("/"):
                    found.append(f"<link {a}>")
                elif tag in PAGE_TAGS:
                    found.append(f"<{tag}>")
            elif tag in DANGEROUS_TAGS:
                found.append(f"<{tag}>")
            for name, value in a.items():
                v = "".join(value.split()).lower()
                if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                    found.append(f"<{tag} {name}>")
                elif name in ("href", "src", "action", "data", "xlink:href") and v.startswith(DANGEROUS_SCHEMES):
                    found.append(f"<{tag} {name}={value}>")

    Scan(convert_charrefs=True).feed(html)
    return found
