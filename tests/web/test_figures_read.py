"""Issue 23.10: figures a lead found confusing — signs and units as people read them: money's
sign before the pound sign, a change in a share in percentage points and 'no change' for one
that rounds to nothing, England's headline with its unit on the home page, a diffusion curve
fitted to reach 50% before NICE published the TA said in words (not "−11.3 months"), whole
patients, a zero within the limits explained, no "every England"."""

from __future__ import annotations

import re

import pytest

from uptake import formats


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("value,text", [(-0.11, "−£0.11"), (0.114, "£0.11"), (-0.004, "£0.00"),
                                        (-1234.5, "−£1,234.50"), (None, "—")])
def test_money_keeps_its_sign_before_the_pound(value, text):
    assert formats.signed_money(value) == text


@pytest.mark.parametrize("value,text", [(-0.0004, "no change"), (0.0004, "no change"),
                                        (0.012, "+1.2 percentage points"), (-0.034, "−3.4 percentage points")])
def test_a_change_in_a_share_is_in_percentage_points(value, text):
    assert formats.points_change(value) == text


def test_measure_change_filter_on_a_rate_of_cost():
    from types import SimpleNamespace

    from uptake.web.templatetags.uptake import measure_change

    cost = SimpleNamespace(kind="rate", unit="actual_cost", per=1000)
    share = SimpleNamespace(kind="proportion", unit="items", per=1)
    assert measure_change(-0.11, cost) == "−£0.11 per 1,000"
    assert measure_change(2.5, cost) == "+£2.50 per 1,000"
    assert measure_change(-0.0001, share) == "no change"


def test_pages_read_plainly(client, pub):
    home = client.get("/").content.decode()
    recent = home[home.index('id="recent"'):home.index("</table>", home.index('id="recent"'))]
    for row in re.findall(r"<tr class=\"nhsuk-table__row\">(.*?)</tr>", recent, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        now = _text(cells[3]).strip()
        assert now == "—" or re.fullmatch(r"[\d.,%]+ (uptake index|per 1,000 registered|items per 1,000)", now), now
        assert not re.search(r"−|-\d", _text(cells[4])), cells[4]  # months to 50%: never negative

    # a TA whose fitted curve passed 50% before NICE published it (a negative t50)
    early = next(t.id for t in pub.catalogue.technology_appraisals
                 if (d := pub.diffusion(t.id, "icb")) and d["fits"] and (d["fits"][0]["t50"] or 0) < 0)
    page = _text(client.get(f"/ta/{early}/").content.decode())
    assert "reached before NICE published it" in page and not re.search(r"after −?-\d", page)

    ranking = client.get("/ta/TA355/?level=practice").content.decode()
    numerators = re.findall(r'aria-hidden="true">Numerator </span>([^<]*)</td>', ranking)
    assert numerators and all("." not in n for n in numerators)  # whole patients
    assert "treating none is within what chance explains" in ranking

    england = _text(client.get("/org/ENG/").content.decode())
    assert "every England" not in england and "for England as a whole" in england
