"""Each worker's store of rendered answers: served again byte for byte, bounded in size,
emptied by a new publication, never holding streams, cookies or signed-in users' pages."""

from __future__ import annotations

import pytest


@pytest.fixture
def answers(portal_home):
    from uptake.web.caching import RenderedAnswers

    return RenderedAnswers(limit=16 * 1000)


def _response(body: bytes, **headers):
    from django.http import HttpResponse

    r = HttpResponse(body, content_type="text/csv")
    for k, v in headers.items():
        r[k] = v
    return r


def test_kept_answers_come_back_whole(answers):
    assert answers.get("pub1", "a") is None
    answers.put("pub1", "a", _response(b"x,y\n1,2\n", **{"Content-Disposition": 'attachment; filename="a.csv"'}))
    got = answers.get("pub1", "a")
    assert got.content == b"x,y\n1,2\n" and got["Content-Type"] == "text/csv"
    assert got["Content-Disposition"] == 'attachment; filename="a.csv"'


def test_a_new_publication_empties_it(answers):
    answers.put("pub1", "a", _response(b"old"))
    assert answers.get("pub2", "a") is None
    assert answers.get("pub1", "a") is None and answers.size == 0


def test_bounded_least_recently_used_first(answers):
    answers.get("p", "-")
    for i in range(20):
        answers.put("p", str(i), _response(b"x" * 900))
        answers.get("p", "0")  # keep the first one in use
    assert answers.size <= 16 * 1000
    assert answers.get("p", "0") is not None and answers.get("p", "1") is None
    assert answers.get("p", "19") is not None


def test_streams_cookies_and_huge_answers_are_not_kept(answers):
    from django.http import StreamingHttpResponse

    answers.get("p", "-")
    answers.put("p", "s", StreamingHttpResponse(iter([b"a"])))
    cookie = _response(b"c")
    cookie.set_cookie("session", "1")
    answers.put("p", "c", cookie)
    answers.put("p", "h", _response(b"x" * 2000))  # more than a sixteenth of the limit
    assert answers.get("p", "s") is None and answers.get("p", "c") is None and answers.get("p", "h") is None


def test_the_portal_serves_the_same_page_twice(client):
    first = client.get("/ta/TA275/?level=sub_icb")
    second = client.get("/ta/TA275/?level=sub_icb")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content and first["ETag"] == second["ETag"]


@pytest.mark.parametrize("path", ["/accounts/register/", "/accounts/sign-in/", "/accounts/password-reset/"])
def test_no_page_holding_a_csrf_token_is_kept_or_shared(portal_db, path):
    """Issue 24.2: the register page was kept with the first visitor's CSRF token and no cookie,
    so later visitors' forms failed with 403. Each fresh visitor (CSRF checks enforced, as in a
    browser) gets a page and a cookie that go together, and no ETag to revalidate it with."""
    from django.test import Client

    from uptake.web.caching import answers

    answers.get("-", "-")  # forget what earlier tests kept
    for n in range(3):
        web = Client(enforce_csrf_checks=True)
        r = web.get(path)
        assert r.status_code == 200 and "csrftoken" in r.cookies, n
        assert not r.has_header("ETag") and "no-store" in r["Cache-Control"]
        token = r.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
        assert web.post(path, {"csrfmiddlewaretoken": token}).status_code != 403, n
