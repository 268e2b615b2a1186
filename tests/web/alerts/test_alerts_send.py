"""Sending alert digests to a real SMTP server: who gets which alert for the constructed month
(against the expectation computed in conftest.py from the published file), the digests
themselves, re-runs, a refused recipient, the server going away half-way, a process dying
after the server accepted, and --dry-run."""

from __future__ import annotations

import email
import email.policy
import re
import smtplib

import pytest


def _digests():
    from uptake.web.alerts.models import Digest

    return list(Digest.objects.order_by("id"))


def _delivered() -> set[tuple[str, str]]:
    from uptake.web.alerts.models import Delivery

    return set(Delivery.objects.values_list("user__email", "key"))


def test_who_gets_which_alert_and_what_the_digests_hold(world, smtp):
    send, received, SITE = world.send, world.received, world.site
    expected = world.expected()
    people = {email for email, _ in expected}
    # the world is built so that every kind of alert reaches someone, and someone gets nothing
    assert {"ann@people.test", "bob@people.test", "carol@people.test"} <= people
    assert "dave@people.test" not in people and "eve@people.test" not in people
    kinds = {key.split(":")[0] for _, key in expected}
    assert kinds - {"peers"} == {"uptake", "case-study", "barrier", "deadline", "new-ta"}

    outcome = send()

    assert outcome.ok and outcome.stopped is None
    assert received(smtp) == expected
    assert _delivered() == expected
    # one message per person, to that person only, each logged as sent with its Message-ID
    mails = smtp.messages
    assert sorted(m.recipients for m in mails) == [(p,) for p in sorted(people)]
    log = {d.email: d for d in _digests()}
    assert set(log) == people and {d.status for d in log.values()} == {"sent"}
    for m in mails:
        msg = email.message_from_bytes(m.raw, policy=email.policy.default)
        who = m.recipients[0]
        digest = log[who]
        assert msg["Message-ID"].strip() == digest.message_id
        assert sorted(digest.keys) == sorted(k for e, k in expected if e == who)
        assert m.subject == digest.subject and m.subject.startswith("uptake alerts for 5 October 2022: ")
        assert msg["Auto-Submitted"] == "auto-generated"

        # HTML and plain text alternatives; the HTML in a related part with its images
        assert msg.get_content_type() == "multipart/alternative"
        plain, rich = msg.get_payload()
        assert plain.get_content_type() == "text/plain"
        uptake_alerts = sum(1 for e, k in expected if e == who and k.startswith("uptake:"))
        if uptake_alerts:  # charts: the HTML and its images in a related part
            assert rich.get_content_type() == "multipart/related"
            html_part, *images = rich.get_payload()
        else:
            html_part, images = rich, []
        assert html_part.get_content_type() == "text/html"
        cids = {img["Content-ID"].strip().strip("<>") for img in images}
        assert all(img.get_content_type() == "image/png" and img.get_content().startswith(b"\x89PNG")
                   for img in images)
        referenced = set(re.findall(r'src="cid:([^"]+)"', m.html))
        assert referenced == cids and len(cids) == len(images)
        assert len(images) == min(4, uptake_alerts)

        # every alert's link and title in the text too; the footer's links, one per subscription
        for key in digest.keys:
            assert f'data-alert="{key}"' in m.html
        subs = world.subscriptions[who.split("@")[0]]
        for s in subs:
            link = f"{SITE}/alerts/unsubscribe/{s.token}/"
            assert link in m.text and link in m.html
        from uptake.web.alerts.models import Recipient

        stop_all = f"{SITE}/alerts/unsubscribe/{Recipient.objects.get(user__email=who).token}/"
        assert msg["List-Unsubscribe"].strip() == f"<{stop_all}>"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert stop_all in m.text and f"{SITE}/alerts/" in m.text

    # ann's digest says what she follows and why each alert reached her
    ann = next(m for m in mails if m.recipients == ("ann@people.test",))
    ta = world.targets["ta"]
    assert f"Because you follow: {ta}: " in ann.text
    assert f"{SITE}/ta/{ta}/?level=icb&month=2022-09" in ann.text
    carol = next(m for m in mails if m.recipients == ("carol@people.test",))
    assert "Overdue: no formulary decision on TA786" in carol.text and "Due soon: formulary decision on TA810" in carol.text
    assert "New NICE TA in Breast cancer: TA810" in carol.text or "New NICE TA in" in carol.text


def test_a_rerun_sends_nothing_twice_then_only_what_is_new(world, smtp):
    send, received = world.send, world.received
    first = send()
    assert first.ok and len(smtp.messages) == len(first.sent) > 0
    again = send()
    assert again.ok and again.sent == [] and again.plan.people == []
    assert len(smtp.messages) == len(first.sent)
    assert len(_digests()) == len(first.sent)

    # a new case study on ann's TA: the next run sends that alone, to those who follow it
    from uptake.web.knowledge.models import CaseStudy, Link

    cs = CaseStudy.objects.create(slug="late-news", title="Late news", summary="s", sector="primary_care", aims="a",
                                  how="b", learning="c", status=CaseStudy.PUBLISHED, published_on=world.as_of)
    Link.objects.create(kind="ta", code=world.targets["ta"], case_study=cs)
    before = len(smtp.messages)
    third = send()
    assert third.ok
    new = smtp.messages[before:]
    got = {(r, k) for m in new for r in m.recipients for k in re.findall(r'data-alert="([^"]+)"', m.html)}
    assert got == {(e, f"case-study:{cs.pk}") for e in ("ann@people.test",)} | (
        {("bob@people.test", f"case-study:{cs.pk}")} if world.area_of[world.targets["ta"]] == world.targets["area"]
        else set())
    assert received(smtp) == world.expected() | got


def test_a_refused_recipient_fails_alone_and_is_sent_once_by_the_next_run(world, smtp):
    send, received = world.send, world.received
    smtp.refuse = {"bob@people.test"}
    outcome = send()
    assert not outcome.ok and outcome.stopped is None
    assert [d.email for d in outcome.failed] == ["bob@people.test"]
    failed = outcome.failed[0]
    failed.refresh_from_db()
    assert failed.status == "failed" and "550" in failed.error and failed.attempts == 1
    expected = world.expected()
    others = {(e, k) for e, k in expected if e != "bob@people.test"}
    assert received(smtp) == others and _delivered() == others

    smtp.refuse = set()
    before = len(smtp.messages)
    retry = send()
    assert retry.ok and [d.email for d in retry.sent] == ["bob@people.test"]
    assert [m.recipients for m in smtp.messages[before:]] == [("bob@people.test",)]
    assert received(smtp) == expected and _delivered() == expected
    failed.refresh_from_db()
    # the same digest sent again: its Message-ID reused, a second attempt
    assert failed.status == "sent" and failed.attempts == 2 and failed.error == ""
    resent = email.message_from_bytes(smtp.messages[-1].raw, policy=email.policy.default)
    assert resent["Message-ID"].strip() == failed.message_id


def test_the_server_going_away_half_way_stops_the_run_and_the_next_run_sends_the_rest(world, smtp):
    send, received = world.send, world.received
    expected = world.expected()
    people = sorted({e for e, _ in expected})
    smtp.accept_limit = 1  # one message, then "421 shutting down"
    outcome = send()
    assert not outcome.ok and outcome.stopped and "421" in outcome.stopped
    assert [d.email for d in outcome.sent] == people[:1]
    assert [d.email for d in outcome.failed] == people[1:2]
    assert outcome.left == len(people) - 2
    assert {d.status for d in _digests()} == {"sent", "failed"} and len(_digests()) == 2
    assert received(smtp) == {(e, k) for e, k in expected if e == people[0]} == _delivered()

    smtp.accept_limit = None
    retry = send()
    assert retry.ok and [d.email for d in retry.sent] == people[1:]
    assert received(smtp) == expected == _delivered()
    assert sorted(r for m in smtp.messages for r in m.recipients) == people  # nobody twice


def test_no_server_at_all_fails_the_first_digest_and_records_it(world, smtp):
    send, received = world.send, world.received
    from django.test import override_settings

    with override_settings(EMAIL_PORT=_closed_port()):
        outcome = send()
    assert not outcome.ok and outcome.stopped and "Connection" in outcome.stopped
    assert outcome.sent == [] and len(outcome.failed) == 1 and _delivered() == set()
    assert smtp.messages == []
    retry = send()
    assert retry.ok and received(smtp) == world.expected()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


class DiesAfterSending:
    """The real SMTP backend, but the process "dies" (KeyboardInterrupt, as from a signal) right
    after the server accepted the first message: before the send log can say it was sent."""

    def __init__(self):
        from django.core.mail import get_connection

        self.backend = get_connection(fail_silently=False)
        self.sent = 0

    def open(self):
        return self.backend.open()

    def close(self):
        return self.backend.close()

    def send_messages(self, messages):
        n = self.backend.send_messages(messages)
        self.sent += n
        raise KeyboardInterrupt


def test_a_process_dying_after_the_server_accepted_sends_it_again_with_the_same_message_id(world, smtp):
    send, received = world.send, world.received
    with pytest.raises(KeyboardInterrupt):
        send(connection=DiesAfterSending())
    [digest] = _digests()
    assert digest.status == "pending" and _delivered() == set()
    assert len(smtp.messages) == 1
    first_id = email.message_from_bytes(smtp.messages[0].raw, policy=email.policy.default)["Message-ID"].strip()
    assert first_id == digest.message_id

    retry = send()
    assert retry.ok
    digest.refresh_from_db()
    assert digest.status == "sent" and digest.attempts == 2
    again = [m for m in smtp.messages if m.recipients == (digest.email,)]
    # at least once: the person may see it twice, with one Message-ID (clients drop the copy)
    assert len(again) == 2
    assert {email.message_from_bytes(m.raw, policy=email.policy.default)["Message-ID"].strip()
            for m in again} == {first_id}
    assert received(smtp) == world.expected() == _delivered()


def test_dry_run_sends_and_records_nothing(world, smtp):
    send = world.send
    from uptake.web.alerts.models import Delivery, Digest, KnownTA, Recipient

    known = KnownTA.objects.count()
    outcome = send(dry_run=True)
    assert outcome.dry_run and smtp.messages == []
    assert Digest.objects.count() == Delivery.objects.count() == Recipient.objects.count() == 0
    assert KnownTA.objects.count() == known
    planned = {(p.email, i.alert.key) for p in outcome.plan.people for i in p.items}
    assert planned == world.expected()

    # the drop is a setting: a bigger one, fewer uptake alerts, exactly those the rule gives
    from django.test import override_settings

    with override_settings(ALERT_PERCENTILE_DROP=30):
        strict = send(dry_run=True)
    events = world.events_for(30)
    planned = {(p.email, i.alert.key) for p in strict.plan.people for i in p.items}
    assert planned == world.expected(events) != world.expected()
    assert world.drop == 10


def test_only_one_run_at_a_time(world, smtp):
    import fcntl
    from pathlib import Path

    from django.conf import settings

    from uptake.errors import UptakeError

    path = Path(settings.HOME) / "alerts.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        with pytest.raises(UptakeError, match="another `uptake alerts send` is running"):
            world.send()
        fcntl.flock(fh, fcntl.LOCK_UN)
    assert smtp.messages == [] and _digests() == []


def test_smtp_errors_are_told_apart():
    from uptake.alerts.send import _describe

    refused = smtplib.SMTPRecipientsRefused({"a@b.test": (550, b"5.1.1 no such mailbox")})
    assert _describe(refused) == "a@b.test refused: 550 5.1.1 no such mailbox"
    assert _describe(smtplib.SMTPSenderRefused(421, b"shutting down", "x@y")) == "mail server answered 421 shutting down"
    assert _describe(ConnectionRefusedError(111, "Connection refused")) == \
        "ConnectionRefusedError: [Errno 111] Connection refused"
