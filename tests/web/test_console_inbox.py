"""The console's inbox over real HTTP: who sees an item, answering it through the outbox, marking it done."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from itertools import count

import httpx
import pytest

from tests.web.console_support import Sandbox, csrf, sandbox, sign_in

QUESTION = "Is the rally <b>step-free</b>? My mum uses a wheelchair & can't do stairs"
_supporters = count(950)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(tmp_path_factory.mktemp("inbox")) as running:
        running.cli("group", "add", "Inbox Leeds")
        running.cli("group", "add", "Inbox York")
        yield running


def _db(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def _group(service: Sandbox, name: str) -> int:
    return int(_db(service, "SELECT id FROM local_groups WHERE name = ?", (name,))[0][0])


def _ask(service: Sandbox, group: str | None, name: str = "Ada", text: str = QUESTION) -> tuple[int, str, int]:
    """A supporter of `group` writes something the bot does not understand: (item id, phone, supporter id)."""
    phone = f"+447700900{next(_supporters):03d}"
    _db(service, "INSERT INTO supporters (phone, first_name, group_id, status, sms_consent, last_channel, created_at) "
                 "VALUES (?, ?, ?, 'active', 'opted_in', 'sms', '2026-01-01T00:00:00.000000Z')",
        (phone, name, _group(service, group) if group else None))
    sent = httpx.post(f"{service.base}/sim/send", json={"channel": "sms", "address": phone, "text": text}, timeout=10)
    assert sent.status_code == 200, sent.text
    (item_id, supporter_id), = _db(service, "SELECT i.id, i.supporter_id FROM inbox_items i "
                                            "JOIN supporters s ON s.id = i.supporter_id WHERE s.phone = ?", (phone,))
    return item_id, phone, supporter_id


def _status(service: Sandbox, item_id: int) -> str:
    return str(_db(service, "SELECT status FROM inbox_items WHERE id = ?", (item_id,))[0][0])


@pytest.fixture(scope="module")
def leeds(service: Sandbox) -> httpx.Client:
    return sign_in(service, service.organiser("organiser", "Inbox Leeds"))


@pytest.fixture(scope="module")
def york(service: Sandbox) -> httpx.Client:
    return sign_in(service, service.organiser("organiser", "Inbox York"))


def test_an_item_is_shown_to_its_groups_organiser_escaped_with_a_link_to_the_supporter(
        service: Sandbox, leeds: httpx.Client) -> None:
    item_id, _, supporter_id = _ask(service, "Inbox Leeds")
    page = leeds.get("/console/inbox")
    assert page.status_code == 200
    assert "Is the rally &lt;b&gt;step-free&lt;/b&gt;? My mum uses a wheelchair &amp; can&#39;t do stairs" in page.text
    assert "<b>step-free</b>" not in page.text
    assert f'href="/console/supporters/{supporter_id}">Ada</a>' in page.text
    assert f'action="/console/inbox/{item_id}/answer"' in page.text
    assert f'action="/console/inbox/{item_id}/done"' in page.text
    assert f'<label for="answer-{item_id}">Answer Ada by SMS</label>' in page.text
    assert leeds.get(f"/console/inbox/{item_id}").status_code == 200


def test_newest_first(service: Sandbox, leeds: httpx.Client) -> None:
    older, _, _ = _ask(service, "Inbox Leeds", "Older", "first question about the march")
    newer, _, _ = _ask(service, "Inbox Leeds", "Newer", "second question about the march")
    text = leeds.get("/console/inbox").text
    assert text.index(f"message #{newer}") < text.index(f"message #{older}")


def test_another_groups_organiser_neither_sees_opens_nor_answers_it(
        service: Sandbox, leeds: httpx.Client, york: httpx.Client) -> None:
    item_id, phone, _ = _ask(service, "Inbox Leeds", "Bea", "Where do we meet for canvassing in Headingley")
    page = york.get("/console/inbox")
    assert page.status_code == 200 and "Headingley" not in page.text
    assert york.get(f"/console/inbox/{item_id}").status_code == 404
    token = csrf(page)
    after = service.last_message_id("sms", phone)
    assert york.post(f"/console/inbox/{item_id}/answer", data={"csrftoken": token, "answer": "Hi"}).status_code == 404
    assert york.post(f"/console/inbox/{item_id}/done", data={"csrftoken": token}).status_code == 404
    assert york.get("/console/inbox/99999999").status_code == 404  # the same answer as for one that does not exist
    assert _status(service, item_id) == "open" and service.last_message_id("sms", phone) == after
    assert "Headingley" in leeds.get("/console/inbox").text


def test_national_organisers_and_admins_see_every_group_and_the_groupless(service: Sandbox) -> None:
    ours, _, _ = _ask(service, "Inbox York", "Cai", "Can I bring leaflets to the York stall")
    nobodys, _, _ = _ask(service, None, "Dev", "Who runs things near me")
    for client in (sign_in(service, service.organiser("organiser")), sign_in(service)):
        text = client.get("/console/inbox").text
        assert f"message #{ours}" in text and f"message #{nobodys}" in text


def test_answering_reaches_the_sandbox_and_marks_it_answered(service: Sandbox, leeds: httpx.Client) -> None:
    item_id, phone, _ = _ask(service, "Inbox Leeds", "Eve", "Is there parking at the hall")
    after = service.last_message_id("sms", phone)
    page = leeds.get(f"/console/inbox/{item_id}")
    answer = "Yes: 20 spaces behind the hall <free>, Eve."
    sent = leeds.post(f"/console/inbox/{item_id}/answer", data={"csrftoken": csrf(page), "answer": answer})
    assert sent.status_code == 303 and sent.headers["location"].startswith("/console/inbox?done=")
    assert service.wait_for_message("sms", phone, r"20 spaces behind the hall <free>, Eve\.", after)
    assert _db(service, "SELECT status, answer, handled_by LIKE 'web:organiser:%' FROM inbox_items WHERE id = ?",
               (item_id,)) == [("answered", answer, 1)]
    listing = leeds.get(sent.headers["location"])
    assert "Your answer to Eve is on its way." in listing.text
    handled = listing.text[listing.text.index("Recently handled"):]
    assert "Is there parking at the hall" in handled and "&lt;free&gt;" in handled
    again = leeds.post(f"/console/inbox/{item_id}/answer", data={"csrftoken": csrf(page), "answer": "twice"})
    assert again.status_code == 409 and "already answered" in again.text


def test_an_empty_answer_is_refused_with_a_reason(service: Sandbox, leeds: httpx.Client) -> None:
    item_id, _, _ = _ask(service, "Inbox Leeds", "Fin", "what time does it finish")
    page = leeds.get(f"/console/inbox/{item_id}")
    refused = leeds.post(f"/console/inbox/{item_id}/answer", data={"csrftoken": csrf(page), "answer": "   "})
    assert refused.status_code == 400 and "The answer is empty" in refused.text
    assert _status(service, item_id) == "open"


def test_an_opted_out_supporter_cannot_be_answered_but_can_be_marked_done(
        service: Sandbox, leeds: httpx.Client) -> None:
    item_id, phone, _ = _ask(service, "Inbox Leeds", "Gus", "do you do home visits")
    _db(service, "UPDATE supporters SET sms_consent = 'opted_out' WHERE phone = ?", (phone,))
    page = leeds.get(f"/console/inbox/{item_id}")
    refused = leeds.post(f"/console/inbox/{item_id}/answer", data={"csrftoken": csrf(page), "answer": "Yes we do"})
    assert refused.status_code == 400 and "opted out" in refused.text
    assert ">Yes we do</textarea>" in refused.text  # kept, to send another way
    done = leeds.post(f"/console/inbox/{item_id}/done", data={"csrftoken": csrf(page)})
    assert done.status_code == 303 and f"Message%20%23{item_id}%20is%20marked%20done" in done.headers["location"]
    assert _status(service, item_id) == "done"
    assert f"message #{item_id}" not in leeds.get("/console/inbox").text.split("Recently handled")[0]
    assert leeds.post(f"/console/inbox/{item_id}/done", data={"csrftoken": csrf(page)}).status_code == 409


def test_a_form_without_its_token_is_refused(service: Sandbox, leeds: httpx.Client) -> None:
    item_id, _, _ = _ask(service, "Inbox Leeds", "Hal", "can I volunteer on Sunday")
    assert leeds.post(f"/console/inbox/{item_id}/done", data={}).status_code == 403
    assert _status(service, item_id) == "open"


def test_the_overview_counts_open_items_in_scope(service: Sandbox, york: httpx.Client) -> None:
    expected = _db(service, "SELECT COUNT(*) FROM inbox_items i JOIN supporters s ON s.id = i.supporter_id "
                            "WHERE i.status = 'open' AND s.group_id = ?", (_group(service, "Inbox York"),))[0][0]
    page = york.get("/console/")
    assert page.status_code == 200
    assert f'<a class="tile tile-link" href="/console/inbox"><span class="figure">{expected}</span>' in page.text


def test_signed_out_visitors_go_to_sign_in(service: Sandbox) -> None:
    got = httpx.get(f"{service.base}/console/inbox/1", timeout=5)
    assert got.status_code == 303 and got.headers["location"].startswith("/console/login?next=")
