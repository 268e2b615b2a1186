"""The knowledge portal in the browser, on the real server: a newcomer registers (the confirmation
comes by e-mail to the local SMTP server), shares a case study, a moderator publishes it and the
public then finds it on the TA's page and in search; every cross-site scripting payload of
tests/xss_payloads.py, typed into every user-text field, shown on every page that shows it, runs
nothing; and the Content-Security-Policy is sent and the charts still draw under it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest

from xss_payloads import PAYLOADS, dangerous

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e

TA = "TA275"  # in the tiny publication's catalogue
MARK = "Quokka"  # a word in every XSS item: search finds them all by it


# --- helpers ------------------------------------------------------------------------------------------


def sign_in(page, base: str, email: str, password: str, next_path: str = "/") -> None:
    page.goto(f"{base}/accounts/sign-in/?next={next_path}")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-out")).to_have_count(1)
    page.wait_for_load_state("load")


def sign_out(page) -> None:
    """'Sign out' in the header, which may be under the header's 'More' menu on a narrow screen."""
    button, more = page.locator("#sign-out"), page.locator("#toggle-menu")
    if not button.is_visible() and more.is_visible():
        more.click()
    button.click()
    expect(page.locator("#sign-in")).to_have_count(1)
    page.wait_for_load_state("load")


def expect_message(page, text: str) -> None:
    """The portal's message after an action (role=status), waiting for the next page to show it."""
    expect(page.locator("[role=status]", has_text=text).first).to_be_visible()
    page.wait_for_load_state("load")


def pack(limit: int, prefix: str) -> list[str]:
    """All the payloads, as few values as fit in a field of `limit` characters, each value
    '<prefix>NN payload payload ...' (a text input drops newlines: spaces join them)."""
    budget = limit - len(prefix) - 4  # 'NN ' and a spare
    chunks: list[list[str]] = [[]]
    for p in PAYLOADS:
        assert len(p) < budget, p
        if chunks[-1] and len(" ".join([*chunks[-1], p])) > budget:
            chunks.append([])
        chunks[-1].append(p)
    values = [f"{prefix}{i:02d} " + " ".join(c) for i, c in enumerate(chunks)]
    assert all(len(v) <= limit for v in values) and sum(len(c) for c in chunks) == len(PAYLOADS)
    return values


LONG = "\n\n".join([f"{MARK} long text.", *PAYLOADS])  # one Markdown text holding every payload
LONG_REVISED = "\n\n".join([f"{MARK} long text, revised.", *reversed(PAYLOADS)])


def spread(n: int, values: list[str]) -> list[str]:
    """n values cycling through `values` (n >= len(values): each is used at least once)."""
    assert n >= len(values)
    return [values[i % len(values)] for i in range(n)]


# --- what the browser saw: script that ran, dialogs, CSP violations, dangerous markup ---------------------

INIT = """
window.__xss = (n) => (window.__xss_calls = window.__xss_calls || []).push(n);
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sample || '')));
"""

# Everywhere in the document: what could run script, whatever the markup around it. The portal's
# own pages have none of it (checked by test_the_checks_see_injected_markup_and_not_the_portals_own).
DOM_CHECK = """() => {
  const bad = [], here = location.origin;
  for (const e of document.querySelectorAll('*')) {
    const tag = e.tagName.toLowerCase();
    for (const a of e.attributes) {
      const name = a.name.toLowerCase(), v = a.value.replace(/\\s+/g, '').toLowerCase();
      if (name.startsWith('on') || name === 'srcdoc' || name === 'formaction')
        bad.push(`<${tag} ${name}=${a.value.slice(0, 80)}>`);
      else if (['href', 'src', 'action', 'data', 'xlink:href', 'poster', 'background'].includes(name)
               && /^(javascript|vbscript|data):/.test(v) && !(tag === 'img' && v.startsWith('data:image/')))
        bad.push(`<${tag} ${name}=${a.value.slice(0, 80)}>`);
    }
    const data = /^application\\/(ld\\+)?json$/i.test(e.type || '');  // a chart's spec: data, never run
    if (tag === 'script' && !(data && !e.src) && !(e.src && new URL(e.src).origin === here && !e.textContent.trim()))
      bad.push(`<script src=${e.getAttribute('src')}>${e.textContent.slice(0, 80)}`);
    if (['iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'base', 'template'].includes(tag))
      bad.push(`<${tag}>`);
    if (tag === 'meta' && e.hasAttribute('http-equiv')) bad.push('<meta http-equiv>');
    if (tag === 'style' && e.closest('main')) bad.push('<style> in main');
  }
  return bad;
}"""

# The markup that holds user text: the sanitised Markdown (.uptake-user-text), search snippets, the
# page's title and h1, and every element whose own text or one of whose attributes holds text
# typed into the portal (a payload, or the MARK word that starts every value). Not the whole page:
# the portal's own markup has <script src>, <form>, <input>, <svg>, <details>..., which
# `dangerous` rightly lists; DOM_CHECK covers the whole page for what actually runs script.
USER_MARKUP = """(needles) => {
  const found = new Set(document.querySelectorAll('.uptake-user-text, .uptake-snippet, title, h1'));
  const has = (s) => needles.some((n) => s.includes(n));
  const walk = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) if (has(walk.currentNode.data) && walk.currentNode.parentElement)
    found.add(walk.currentNode.parentElement);
  // an attribute holding it (a title, a label...): the element without its children. Not an
  // address (the slugs of the items hold payload words; DOM_CHECK looks at every address's scheme)
  // nor a form field's value (what an edit form is for; text that broke out of a value would be
  // elements and text, found above).
  const shallow = new Set();
  for (const e of document.querySelectorAll('*'))
    for (const a of e.attributes)
      if (has(a.value) && !['href', 'action', 'src'].includes(a.name)
          && !(a.name === 'value' && ['input', 'option'].includes(e.localName)))
        shallow.add(e.cloneNode(false));
  return [...found, ...shallow].map((e) => e.outerHTML);
}"""
NEEDLES = [MARK, "__xss", "javascript", "example.org/x", "PHNjcmlwdD5"]


@dataclass
class Watch:
    """A browser tab that records what must never happen on a page showing user text."""

    page: object
    base: str
    dialogs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)
    pages: int = 0

    @classmethod
    def open(cls, browser, base: str) -> Watch:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        context.add_init_script(INIT)
        page = context.new_page()
        page.set_default_timeout(15_000)
        w = cls(page=page, base=base)

        def on_dialog(d):
            w.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        page.on("dialog", on_dialog)
        page.on("console", lambda m: w.console.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: w.errors.append(str(e)))
        return w

    def close(self) -> None:
        self.page.context.close()

    def goto(self, path: str) -> None:
        resp = self.page.goto(self.base + path if path.startswith("/") else path, wait_until="load")
        assert resp is not None and resp.status == 200, (path, resp and resp.status)

    def findings(self) -> list[str]:
        """What this page did or holds that it should not, after it has settled (its charts drawn
        and two more animation frames, so that late handlers such as autofocus have had their turn)."""
        page = self.page
        page.wait_for_load_state("load")
        page.wait_for_function("() => [...document.querySelectorAll('.uptake-chart')].every(e => e.dataset.rendered)",
                               timeout=20_000)
        page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
        out = []
        calls = page.evaluate("() => window.__xss_calls || []")
        if calls:
            out.append(f"window.__xss called with {calls}")
        if self.dialogs:
            out.append(f"dialogs opened: {self.dialogs}")
        csp = page.evaluate("() => window.__csp || []") + [
            m for m in self.console if "Content Security Policy" in m or "Refused to" in m]
        if csp:
            out.append(f"Content-Security-Policy violations: {csp}")
        if self.errors:
            out.append(f"uncaught errors: {self.errors}")
        bad = page.evaluate(DOM_CHECK)
        if bad:
            out.append(f"script-capable markup in the page: {bad}")
        markup = page.evaluate(USER_MARKUP, NEEDLES)
        found = dangerous("\n".join(markup))
        if found:
            out.append(f"dangerous() in the user text: {found}")
        for seen in (self.dialogs, self.console, self.errors):
            seen.clear()
        return out

    def check(self, path: str | None = None, *, label: str | None = None) -> None:
        """Go to `path` (or stay) and record its findings under `label` (default: the address)."""
        if path is not None:
            self.goto(path)
        self.pages += 1
        found = self.findings()
        if found:
            self.problems.setdefault(label or self.page.url.removeprefix(self.base), []).extend(found)

    def assert_clean(self, what: str) -> None:
        assert self.pages, "no page was checked"
        assert not self.problems, f"{what}: payloads ran or survived:\n" + json.dumps(self.problems, indent=1)


# --- a: register, confirm by e-mail, share, moderate, find -------------------------------------------------------


def test_a_newcomer_registers_shares_a_case_study_and_the_public_finds_it_once_published(
        visit, mailbox, moderator_login):
    page, base = visit.page, visit.base
    email, password = "newcomer@example.org", "a pangolin walks into the clinic 42"
    title = "Pangolin pathway: community pharmacists start rivaroxaban reviews"
    summary = "Pharmacists reviewed anticoagulation for every eligible patient; uptake rose within six months."

    visit.goto("/accounts/register/", charts=False)
    page.fill("#id_name", "Nia Newcomer")
    page.fill("#id_email", email)
    page.fill("#id_password", password)
    page.fill("#id_password_again", password)
    since = len(mailbox.messages)
    page.locator("#register-submit").click()
    visit.settle(charts=False)
    assert page.locator("h1").inner_text() == "Check your e-mail"
    assert email in page.locator("main").inner_text()

    mail = mailbox.wait_for(email, subject="Confirm your e-mail address", since=since, timeout=30)
    assert "Nia Newcomer" in mail.text and mail.to.lower().endswith(email)
    links = [u for u in mail.links if "/accounts/confirm/" in u]
    assert len(links) == 1 and links[0].startswith(base + "/accounts/confirm/"), mail.text
    page.goto(links[0], wait_until="load")
    visit.settle(charts=False)
    expect_message(page, "Your e-mail address is confirmed and you are signed in.")
    expect(page.locator("#sign-out")).to_have_count(1)

    visit.goto("/learning/case-studies/new/", charts=False)
    page.fill("#id_title", title)
    page.fill("#id_summary", summary)
    page.get_by_label("Implementing specific NICE guidance").check()
    page.fill("#id_tas", TA)
    page.fill("#id_organisations_text", "NHS Example ICB and its community pharmacies")
    page.select_option("#id_sector", label="Primary care")
    page.fill("#id_aims", "Review every patient on an anticoagulant who might benefit.")
    page.fill("#id_how", "Pharmacists ran weekly review clinics with a shared protocol.")
    page.fill("#id_learning", "Protected time for pharmacists mattered most.")
    page.fill("#id_results", "Uptake rose from 41% to 63% between April and September 2022.")
    page.fill("#id_contact", "Nia Newcomer, lead pharmacist, nia@example.org")
    page.locator("#submit-for-moderation").click()
    expect_message(page, "Sent to the moderators")
    visit.settle(charts=False)
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator("#status")).to_contain_text("Awaiting moderation")
    case_study_path = page.url.removeprefix(base)

    # not yet public: the TA page and search do not show it
    sign_out(page)
    anonymous = page.context.browser.new_context().new_page()
    resp = anonymous.goto(base + case_study_path)
    assert resp.status == 404
    anonymous.context.close()

    sign_in(page, base, *moderator_login, next_path="/learning/moderation/")
    visit.settle(charts=False)
    assert page.url.endswith("/learning/moderation/")
    page.locator("#queue").get_by_role("link", name=title).click()
    visit.settle(charts=False)
    form = page.locator("#moderation-form")
    boxes = form.locator("input[type=checkbox]")
    assert boxes.count() >= 7
    for i in range(boxes.count()):
        boxes.nth(i).check()
    form.get_by_label("Publish", exact=True).check()
    form.get_by_role("button", name="Record the decision").click()
    expect_message(page, "Published.")
    visit.settle(charts=False)
    expect(page.locator("#status")).to_have_count(0)  # no 'only you and the moderators can see it'
    sign_out(page)

    # the public: on the TA's page, in search, and the case study itself
    visit.goto(f"/ta/{TA}/")
    related = page.locator("#related-case-studies")
    assert title in related.inner_text() and summary in related.inner_text()
    assert "Implementing it" in page.locator("#learning").inner_text()
    visit.goto("/search/?q=pangolin", charts=False)
    results = page.locator("#knowledge-list")
    assert title in results.inner_text()
    results.get_by_role("link", name=title).click()
    visit.settle(charts=False)
    assert page.locator("h1").inner_text() == title
    assert summary in page.locator("main").inner_text()
    assert "Protected time for pharmacists mattered most." in page.locator("#case-study-text").inner_text()
    visit.assert_clean()


# --- b: the XSS corpus through every user-text field -------------------------------------------------------------


@dataclass
class Corpus:
    case_studies: list[str] = field(default_factory=list)  # paths
    returned: str = ""  # a case study the moderator returns with a note made of payloads
    wiki: list[str] = field(default_factory=list)  # page paths (each with two revisions)
    threads: list[str] = field(default_factory=list)
    barriers: list[str] = field(default_factory=list)
    reported_thread: str = ""
    published: bool = False


def _submit_case_study(w: Watch, fields: dict[str, str]) -> str:
    page = w.page
    w.goto("/learning/case-studies/new/")
    for name, value in fields.items():
        page.fill(f"#id_{name}", value)
    page.fill("#id_tas", TA)
    page.select_option("#id_sector", "primary_care")
    page.locator("#submit-for-moderation").click()
    expect_message(page, "Sent to the moderators")
    return page.url.removeprefix(w.base)


@pytest.fixture(scope="module")
def corpus(browser, portal, member_login) -> Corpus:
    """Every payload through every user-text field, typed by a member in the browser: case studies
    (sent to the moderators), wiki pages with two revisions, discussions with a reply, reports of a
    post, barriers. Short fields take as many payloads as fit; more items carry the rest."""
    c = Corpus()
    w = Watch.open(browser, portal)
    page = w.page
    try:
        sign_in(page, portal, *member_login)

        short = {"title": pack(200, f"{MARK} case "), "summary": pack(300, f"{MARK} summary "),
                 "organisations_text": pack(300, f"{MARK} orgs "), "contact": pack(200, f"{MARK} contact ")}
        n = max(len(v) for v in short.values())
        for i in range(n):
            fields = {k: spread(n, v)[i] for k, v in short.items()}
            fields.update({k: LONG for k in ("aims", "reasons", "how", "findings", "learning", "results")})
            c.case_studies.append(_submit_case_study(w, fields))
        c.returned = _submit_case_study(w, {"title": f"{MARK} to be returned", "summary": f"{MARK} returned",
                                            "organisations_text": f"{MARK} orgs", "aims": LONG, "how": LONG,
                                            "learning": LONG})

        titles, summaries = pack(200 - len(" v2"), f"{MARK} wiki "), pack(200, f"{MARK} change ")
        n = max(len(titles), len(summaries))
        for i in range(n):
            w.goto("/learning/wiki/new/")
            page.fill("#id_title", spread(n, titles)[i])
            page.fill("#id_body", LONG)
            page.fill("#id_summary", spread(n, summaries)[i])
            page.locator("#wiki-save").click()
            expect_message(page, "Saved as revision 1.")
            path = page.url.removeprefix(portal)
            w.goto(path + "edit/")
            page.fill("#id_title", spread(n, titles)[i] + " v2")
            page.fill("#id_body", LONG_REVISED)
            page.fill("#id_summary", spread(n, summaries)[(i + 1) % n])
            page.locator("#wiki-save").click()
            expect_message(page, "Saved as revision 2.")
            c.wiki.append(path)

        for title in pack(200, f"{MARK} thread "):
            w.goto(f"/learning/discuss/ta/{TA}/")
            page.fill("#thread-form #id_title", title)
            page.fill("#thread-form #id_body", LONG)
            page.locator("#thread-form").get_by_role("button", name="Post").click()
            expect(page).to_have_url(re.compile(r"/learning/threads/\d+/$"))
            page.wait_for_load_state("load")
            page.fill("#reply-form #id_body", LONG_REVISED)
            page.locator("#reply-form").get_by_role("button", name="Reply").click()
            expect(page.locator("#posts > li")).to_have_count(2)
            page.wait_for_load_state("load")
            c.threads.append(page.url.removeprefix(portal))

        c.reported_thread = c.threads[0]
        for reason in pack(300, f"{MARK} report "):
            w.goto(c.reported_thread)
            post = page.locator("#posts > li").first
            post.locator("summary").click()
            post.locator("input[name=reason]").fill(reason)
            post.get_by_role("button", name="Report").click()
            expect_message(page, "the moderators will look at this post")

        titles = pack(200, f"{MARK} barrier ")
        for title in titles:
            w.goto(f"/learning/barriers/new/?ta={TA}")
            page.fill("#id_title", title)
            page.fill("#id_description", LONG)
            page.fill("#id_evidence", LONG_REVISED)
            page.locator("#barrier-form").get_by_role("button", name="Save").click()
            expect(page).to_have_url(re.compile(r"/learning/barriers/\d+/$"))
            page.wait_for_load_state("load")
            c.barriers.append(page.url.removeprefix(portal))
    finally:
        w.close()
    return c


def _member_pages(c: Corpus) -> list[str]:
    pages = ["/learning/", "/learning/case-studies/", "/learning/wiki/", "/learning/barriers/",
             f"/learning/barriers/?ta={TA}", f"/learning/discuss/ta/{TA}/"]
    for p in c.wiki:
        pages += [p, p + "?revision=1", p + "history/", p + "diff/?a=1&b=2", p + "diff/?a=2&b=1", p + "edit/"]
    for p in c.threads:
        pages += [p]
    for p in c.barriers:
        pages += [p, p + "edit/"]
    return pages


def test_b1_payloads_run_nowhere_for_their_author(browser, portal, corpus, member_login):
    """The member who typed them: each case study while it waits for moderation (and its edit
    form, where the text goes back into inputs and textareas), the wiki (pages, an old revision,
    the history, both diffs, the edit form), the discussions, the barriers and every list."""
    w = Watch.open(browser, portal)
    try:
        sign_in(w.page, portal, *member_login)
        # the payloads reach the pages, shown as the text that was typed (13 is base64; 15 becomes an
        # image, which the sanitiser drops with its alt text)
        w.goto(corpus.case_studies[0])
        expect(w.page.locator("h1")).to_contain_text(PAYLOADS[0])
        shown = w.page.locator("#case-study-text").inner_text()
        assert all(f"__xss({n})" in shown for n in range(1, 38) if n not in (13, 15)), shown[:1000]
        for p in corpus.case_studies + [corpus.returned]:
            w.check(p)
            w.check(p + "edit/")
        for p in _member_pages(corpus):
            w.check(p)
        # the history's Compare button, as a person does it
        w.goto(corpus.wiki[0] + "history/")
        w.page.get_by_role("button", name="Compare").click()
        expect(w.page).to_have_url(re.compile(r"/diff/\?(a=1&b=2|b=2&a=1)$"))
        w.check(label="wiki diff from the history page")
        assert w.page.locator("#diff .uptake-diff-added").count() > 0
    finally:
        w.close()
    w.assert_clean("as the author")


def test_b2_payloads_run_nowhere_for_the_moderator_who_publishes_them(browser, portal, corpus, moderator_login):
    """The moderation queue (titles and report reasons), each case study with its moderation
    form, a reported thread with the moderator's tools; then the moderator ticks every check and
    publishes each case study (and returns one with a note made of payloads)."""
    w = Watch.open(browser, portal)
    page = w.page
    try:
        sign_in(page, portal, *moderator_login)
        w.check("/learning/moderation/")
        queue = page.locator("#queue").inner_text()
        assert queue.count(MARK) >= len(corpus.case_studies) + 1
        assert page.locator("#reports > li").count() >= len(pack(300, "x"))
        w.check(corpus.reported_thread)
        for p in corpus.case_studies + [corpus.returned]:
            w.check(p)
            form = page.locator("#moderation-form")
            boxes = form.locator("input[type=checkbox]")
            for i in range(boxes.count()):
                boxes.nth(i).check()
            if p == corpus.returned:
                form.get_by_label("Return to the author").check()
                form.locator("textarea[name=note]").fill(LONG)
            else:
                form.get_by_label("Publish", exact=True).check()
            form.get_by_role("button", name="Record the decision").click()
            expect_message(page, "Returned to the author." if p == corpus.returned else "Published.")
            w.check(label=f"{p} after the decision")
        corpus.published = True
        w.check("/learning/moderation/", label="/learning/moderation/ afterwards")
    finally:
        w.close()
    w.assert_clean("as the moderator")


def test_b3_payloads_run_nowhere_for_the_public(browser, portal, corpus):
    """Anyone: the published case studies, the TA's page (related case studies and barriers), search
    with snippets (every page of results, and filtered by type), the hub and every list, the wiki,
    the discussions and the barriers."""
    assert corpus.published, "test_b2 (the moderator publishing the case studies) did not finish"
    w = Watch.open(browser, portal)
    page = w.page
    try:
        for p in corpus.case_studies:
            w.check(p)
            assert MARK in page.locator("h1").inner_text()
        w.check(f"/ta/{TA}/")
        related = page.locator("#related-case-studies > li")
        assert related.filter(has_text=MARK).count() == len(corpus.case_studies)
        assert page.locator("#related-barriers > li").filter(has_text=MARK).count() == len(corpus.barriers)
        w.check(f"/search/?q={MARK}")
        listed = page.locator("#knowledge-list > li")
        total = int(re.match(r"\d+", page.locator("#knowledge-results").inner_text()).group())
        expected = len(corpus.case_studies) + len(corpus.wiki) + len(corpus.threads) + len(corpus.barriers)
        assert total >= expected, (total, expected)
        assert page.locator("#knowledge-list .uptake-snippet").count() == listed.count() > 0
        n = 2
        while page.get_by_role("link", name="Next").count():
            page.get_by_role("link", name="Next").click()
            expect(page).to_have_url(re.compile(f"page={n}"))
            w.check(label=f"search page {n}")
            n += 1
        for kind in ("case_study", "wiki", "thread", "barrier"):
            w.check(f"/search/?q={MARK}&type={kind}")
        w.check("/search/?q=xss+script+onerror")
        for p in _member_pages(corpus):
            if not p.endswith("edit/"):
                w.check(p)
        w.check(f"/ta/{TA}/")  # again, now that every list is long
    finally:
        w.close()
    w.assert_clean("to the public")


def test_b4_the_author_sees_the_returned_case_study_and_its_note(browser, portal, corpus, member_login):
    assert corpus.published, "test_b2 (the moderator's decisions) did not finish"
    w = Watch.open(browser, portal)
    try:
        sign_in(w.page, portal, *member_login)
        w.check(corpus.returned)
        assert "Returned" in w.page.locator("#status").inner_text()
        assert "Moderator's note" in w.page.locator("#status").inner_text()
        w.check("/learning/case-studies/")
    finally:
        w.close()
    w.assert_clean("the returned case study")


def test_the_checks_see_injected_markup_and_not_the_portals_own(browser, portal):
    """The checks above mean something: on the portal's own pages (no user text) they find
    nothing, and markup that could run script, put beside user text, is found."""
    w = Watch.open(browser, portal)
    try:
        for p in ("/", f"/ta/{TA}/", "/learning/wiki/", "/learning/barriers/heatmap/", "/accounts/register/"):
            w.check(p)
        assert not w.problems, w.problems
        w.goto("/learning/wiki/")
        w.page.evaluate("""() => {
            const p = document.createElement('p');
            p.textContent = 'Quokka injected by the test';
            const a = document.createElement('a');
            a.href = 'javascript:void(0)'; a.textContent = 'x';
            const s = document.createElement('script');
            s.type = 'text/plain'; s.textContent = 'void 0';
            p.append(a, s);
            document.querySelector('main').append(p);
        }""")
        found = w.findings()
        assert any("dangerous() in the user text" in f and "javascript:void(0)" in f for f in found), found
        assert any("script-capable markup" in f for f in found), found
        w.page.evaluate("() => window.__xss(99)")
        assert any("window.__xss called with [99]" in f for f in w.findings())
    finally:
        w.close()


# --- the Content-Security-Policy, and the charts under it ----------------------------------------------


def test_the_csp_is_sent_and_charts_draw_under_it_without_eval(browser, portal, visit):
    page = visit.page
    csp_messages = []
    page.on("console", lambda m: csp_messages.append(m.text) if "Content Security Policy" in m.text else None)
    page.context.add_init_script(INIT)
    for path in ("/", f"/ta/{TA}/", "/learning/", "/search/?q=rivaroxaban", "/accounts/sign-in/"):
        resp = visit.goto(path)
        policy = resp.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "default-src 'self'" in policy, (path, policy)
        assert "unsafe-eval" not in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    visit.goto(f"/ta/{TA}/")
    charts = page.locator(".uptake-chart")
    assert charts.count() > 0
    states = [charts.nth(i).get_attribute("data-rendered") for i in range(charts.count())]
    assert "error" not in states and "true" in states, states
    drawn = page.evaluate("() => [...document.querySelectorAll('.uptake-chart[data-rendered=\"true\"]')]"
                          ".every(e => e.querySelector('svg, canvas'))")
    assert drawn
    assert page.evaluate("() => window.__csp") == [] and not csp_messages, (page.evaluate("() => window.__csp"),
                                                                            csp_messages)
    visit.assert_clean()
