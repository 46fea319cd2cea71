"""Dashboard pages on a started runtime: what each page shows, and the actions they offer
(ack, unack, resolve, silence with a preview, maintenance, on-call overrides), each going
through the stage that owns it and checked there."""

from __future__ import annotations

import re

import httpx
import pytest

from watchkeeper.alerting.history import HistoryEvent
from watchkeeper.security.permissions import Role
from watchkeeper.security.principal import system_principal

from .conftest import Stack, eventually, flash

pytestmark = pytest.mark.asyncio(loop_scope="module")


# --- alerts ---------------------------------------------------------------------------


async def test_alert_board_sorts_alerts_into_firing_acked_and_silenced(stack: Stack) -> None:
    rt = stack.rt
    await stack.fire("BoardFiring", "backend", board="yes")
    acked = await stack.fire("BoardAcked", "backend", board="yes")
    await stack.fire("BoardMuted", "frontend", board="yes")
    await rt.alerts.actions.ack_alert(acked, by="someone")
    await stack["operator"].post(
        "/silences",
        data={"matchers": 'alertname="BoardMuted"', "duration": "1h", "comment": "noisy"},
    )
    page = await stack["viewer"].get("/alerts", params={"filter": 'board="yes"'})
    assert page.status_code == 200
    text = page.text
    firing = text[text.index('id="firing"') : text.index('id="pending"')]
    acked_part = text[text.index('id="acked"') : text.index('id="muted"')]
    muted = text[text.index('id="muted"') : text.index('id="history"')]
    assert "BoardFiring" in firing
    assert "BoardAcked" not in firing
    assert "BoardAcked" in acked_part
    assert "acked by someone" in acked_part
    assert "BoardMuted" in muted
    assert "silenced by" in muted


async def test_rule_side_pending_alert_is_listed_with_when_it_fires(stack: Stack) -> None:
    await eventually(
        lambda: any(a.state.value == "pending" for _, _, a in stack.rt.rules.active_alerts()),
        "the rule with a 1h hold becoming pending",
    )
    page = await stack["viewer"].get("/alerts")
    pending = page.text[page.text.index('id="pending"') : page.text.index('id="acked"')]
    assert 'data-alert="BackendSlowBuild"' in pending
    fp = re.search(r'href="/alerts/(\w+)"><strong>BackendSlowBuild', pending)
    assert fp is not None
    detail = await stack["viewer"].get(f"/alerts/{fp.group(1)}")
    assert detail.status_code == 200
    assert "badge pending" in detail.text
    assert "it fires in" in detail.text


async def test_a_bad_filter_explains_the_matcher_syntax(stack: Stack) -> None:
    page = await stack["viewer"].get("/alerts", params={"filter": "no operator here"})
    assert page.status_code == 400
    assert any("filter:" in f and 'name="value"' in f.replace("&#34;", '"') for f in flash(page))


async def test_viewer_sees_alerts_but_no_actions_and_cannot_ack(stack: Stack) -> None:
    fp = await stack.fire("ViewerOnly", "backend")
    page = await stack["viewer"].get("/alerts")
    assert "ViewerOnly" in page.text
    assert 'data-action="ack"' not in page.text
    refused = await stack["viewer"].post(f"/alerts/{fp}/ack", data={})
    assert refused.status_code == 403
    assert "alerts:write" in refused.text
    assert stack.rt.alerts.views.view(stack.rt.alerts.store.get(fp), 0).acks == ()  # type: ignore[arg-type]


async def test_operator_acks_and_unacks_an_alert_and_history_says_who(stack: Stack) -> None:
    rt = stack.rt
    fp = await stack.fire("AckMe", "backend")
    client = stack["operator"]
    done = await client.post(
        f"/alerts/{fp}/ack", data={"comment": "looking", "expires_in": "3600", "next": "/alerts"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/alerts?msg=acked"
    view = rt.alerts.views.view(rt.alerts.store.get(fp), rt.clock.now())  # type: ignore[arg-type]
    assert [(k.by, k.comment) for k in view.acks] == [("token:operator token", "looking")]
    shown = await client.get("/alerts?msg=acked")
    assert any(f.startswith("Acknowledged") for f in flash(shown))
    detail = await client.get(f"/alerts/{fp}")
    assert "Withdraw acknowledgement" in detail.text
    assert "token:operator token" in detail.text
    assert "looking" in detail.text
    undone = await client.post(f"/alerts/{fp}/unack", data={})
    assert undone.status_code == 303
    assert undone.headers["location"] == f"/alerts/{fp}?msg=unacked"
    events = [e.event for e in rt.history.query(fingerprint=fp)]
    assert HistoryEvent.ACKNOWLEDGED in events
    assert HistoryEvent.UNACKNOWLEDGED in events


async def test_resolving_by_hand_ends_the_alert_and_records_who(stack: Stack) -> None:
    rt = stack.rt
    fp = await stack.fire("ResolveMe", "backend")
    done = await stack["operator"].post(f"/alerts/{fp}/resolve", data={})
    assert done.status_code == 303
    alert = rt.alerts.store.get(fp)
    assert alert is not None
    assert alert.resolved(rt.clock.now())
    assert alert.resolved_by == "token:operator token"
    detail = await stack["viewer"].get(f"/alerts/{fp}")
    assert "resolved by hand" in detail.text


async def test_acting_on_an_unknown_alert_answers_404_with_a_page(stack: Stack) -> None:
    refused = await stack["operator"].post("/alerts/0000000000000000/ack", data={})
    assert refused.status_code == 404
    assert "Not found" in refused.text or "not found" in refused.text
    missing = await stack["viewer"].get("/alerts/0000000000000000")
    assert missing.status_code == 404
    assert "There is no alert 0000000000000000" in missing.text


async def test_a_redirect_after_an_action_stays_on_this_site(stack: Stack) -> None:
    fp = await stack.fire("StayLocal", "backend")
    done = await stack["operator"].post(f"/alerts/{fp}/ack", data={"next": "https://evil.example/"})
    assert done.headers["location"] == f"/alerts/{fp}?msg=acked"


async def test_flash_messages_are_fixed_texts_not_the_query(stack: Stack) -> None:
    page = await stack["viewer"].get("/alerts", params={"msg": "<b>owned</b>"})
    assert "owned" not in page.text


async def test_alert_page_shows_its_notifications_and_they_link_back(stack: Stack) -> None:
    rt = stack.rt
    fp = await stack.fire("NotifyMe", "frontend")
    view = rt.alerts.views.view(rt.alerts.store.get(fp), rt.clock.now())  # type: ignore[arg-type]
    gid = view.group_ids[0]
    await eventually(
        lambda: bool(rt.notify.log.query(group_id=gid).items), "a delivery attempt to the hook"
    )
    detail = await stack["viewer"].get(f"/alerts/{fp}")
    link = re.search(r'href="/notifications/deliveries/(\d+)"', detail.text)
    assert link is not None, "no delivery attempt on the alert page"
    assert "hook" in detail.text
    assert "page-team" in detail.text
    delivery = await stack["viewer"].get(f"/notifications/deliveries/{link.group(1)}")
    assert delivery.status_code == 200
    assert f'href="/alerts/{fp}"' in delivery.text
    assert "Connection refused" in delivery.text or "connect" in delivery.text.lower()


async def test_notifications_page_lists_every_integration_with_its_health(stack: Stack) -> None:
    page = await stack["viewer"].get("/notifications")
    for receiver in ("hook", "alice", "bob"):
        assert f'data-receiver="{receiver}"' in page.text
    assert "unknown" in page.text  # alice and bob were never tried
    assert "http://127.0.0.1:9/alice" not in page.text or "POST" in page.text
    filtered = await stack["viewer"].get("/notifications", params={"outcome": "delivered"})
    assert filtered.status_code == 200
    missing = await stack["viewer"].get("/notifications/deliveries/999999")
    assert missing.status_code == 404


# --- silences and maintenance ------------------------------------------------------------


async def test_silence_preview_lists_what_a_silence_would_mute(stack: Stack) -> None:
    await stack.fire("PreviewMe", "frontend", preview="yes")
    client = stack["viewer"]
    some = await client.get("/silences/preview", params={"matchers": 'preview="yes"'})
    assert 'data-preview-count="1"' in some.text
    assert "PreviewMe" in some.text
    broken = await client.get("/silences/preview", params={"matchers": "no operator"})
    assert "matchers:" in broken.text
    assert 'role="alert"' in broken.text
    everything = await client.get("/silences/preview", params={"matchers": 'alertname=~".*"'})
    assert "match every alert" in everything.text
    form = await client.get("/silences/new", params={"matchers": 'preview="yes"'})
    assert 'data-preview-count="1"' in form.text
    assert 'hx-get="/silences/preview"' in form.text


async def test_operator_creates_and_expires_a_silence(stack: Stack) -> None:
    rt = stack.rt
    fp = await stack.fire("SilenceMe", "backend")
    client = stack["operator"]
    created = await client.post(
        "/silences",
        data={"matchers": 'alertname="SilenceMe"', "duration": "2h", "comment": "deploying"},
    )
    assert created.status_code == 303
    sid = created.headers["location"].split("#silence-")[1]
    silence = rt.alerts.silences.get(sid)
    assert silence.created_by == "token:operator token"
    assert silence.comment == "deploying"
    assert 7100 < silence.ends_at - rt.clock.now() <= 7200
    view = rt.alerts.views.view(rt.alerts.store.get(fp), rt.clock.now())  # type: ignore[arg-type]
    assert view.silenced_by == (sid,)
    listed = await client.get("/silences")
    assert f'data-silence="{sid}"' in listed.text
    expired = await client.post(f"/silences/{sid}/expire", data={})
    assert expired.status_code == 303
    assert not rt.alerts.silences.get(sid).is_active(rt.clock.now())
    again = await client.post(f"/silences/{sid}/expire", data={})
    assert again.status_code == 400
    assert "already expired" in again.text


async def test_silence_form_mistakes_are_explained_and_the_input_kept(stack: Stack) -> None:
    client = stack["operator"]
    no_comment = await client.post("/silences", data={"matchers": 'service="backend"'})
    assert no_comment.status_code == 400
    assert any("comment" in f for f in flash(no_comment))
    assert "service=&#34;backend&#34;" in no_comment.text  # the matchers typed are kept
    bad_time = await client.post(
        "/silences",
        data={"matchers": 'service="backend"', "comment": "x", "ends_at": "tomorrow"},
    )
    assert bad_time.status_code == 400
    assert "2026-05-01T10:00" in bad_time.text
    everything = await client.post(
        "/silences", data={"matchers": 'alertname=~".+"', "comment": "all"}
    )
    assert everything.status_code == 400
    assert "matches every alert" in everything.text


async def test_viewer_cannot_create_a_silence(stack: Stack) -> None:
    refused = await stack["viewer"].post(
        "/silences", data={"matchers": 'service="backend"', "comment": "x"}
    )
    assert refused.status_code == 403


async def test_maintenance_window_is_created_and_deleted_from_the_page(stack: Stack) -> None:
    rt = stack.rt
    client = stack["operator"]
    created = await client.post(
        "/maintenance",
        data={
            "name": "db upgrade",
            "matchers": 'service="backend"',
            "ends_at": "2099-01-01T00:00",
            "comment": "planned",
        },
    )
    assert created.status_code == 303
    window = next(w for w in rt.alerts.maintenance.all() if w.name == "db upgrade")
    assert window.created_by == "token:operator token"
    listed = await client.get("/silences")
    assert "db upgrade" in listed.text
    bad = await client.post("/maintenance", data={"name": "x", "matchers": "service="})
    assert bad.status_code == 400
    assert "Maintenance window not created" in bad.text
    deleted = await client.post(f"/maintenance/{window.id}/delete", data={})
    assert deleted.status_code == 303
    assert all(w.id != window.id for w in rt.alerts.maintenance.all())


# --- on call ---------------------------------------------------------------------------


async def test_oncall_page_shows_who_is_on_call_and_the_escalation_policy(stack: Stack) -> None:
    rt = stack.rt
    now_on_call = rt.alerts.oncall.on_call("primary", rt.clock.now()).receiver
    page = await stack["viewer"].get("/oncall")
    assert f'data-oncall="{now_on_call}"' in page.text
    assert 'data-policy="page-team"' in page.text
    assert "primary" in page.text
    assert "after 600s" in page.text


async def test_override_puts_someone_else_on_call_until_removed(stack: Stack) -> None:
    rt = stack.rt
    other = (
        "bob"
        if rt.alerts.oncall.on_call("primary", rt.clock.now()).receiver == "alice"
        else "alice"
    )
    added = await stack["operator"].post(
        "/oncall/overrides",
        data={"rotation": "primary", "receiver": other, "ends_at": "2099-01-01T00:00"},
    )
    assert added.status_code == 303
    assert rt.alerts.oncall.on_call("primary", rt.clock.now()).receiver == other
    override = rt.alerts.oncall.overrides("primary")[-1]
    unknown = await stack["operator"].post(
        "/oncall/overrides",
        data={"rotation": "primary", "receiver": "mallory", "ends_at": "2099-01-01T00:00"},
    )
    assert unknown.status_code == 400
    assert "unknown receiver" in unknown.text
    removed = await stack["operator"].post(f"/oncall/primary/overrides/{override.id}/delete")
    assert removed.status_code == 303
    assert all(o.id != override.id for o in rt.alerts.oncall.overrides("primary"))


# --- readiness, service, explore ---------------------------------------------------------------


async def test_explore_explains_a_broken_query(stack: Stack) -> None:
    page = await stack["viewer"].get("/explore", params={"expr": "rate(up[5m]"})
    assert page.status_code == 400
    assert 'class="flash error"' in page.text
    fine = await stack["viewer"].get("/explore", params={"expr": "vector(1)"})
    assert fine.status_code == 200
    assert 'data-query="vector(1)"' in fine.text


async def test_unknown_service_page_is_a_404_page(stack: Stack) -> None:
    page = await stack["viewer"].get("/services/nope")
    assert page.status_code == 404
    assert "There is no service named" in page.text


async def test_pages_refresh_themselves_and_draw_charts_from_queries(stack: Stack) -> None:
    for path in ("/", "/alerts", "/notifications", "/oncall"):
        page = await stack["viewer"].get(path)
        assert 'hx-trigger="every' in page.text, path
    service = await stack["viewer"].get("/services/backend")
    assert 'data-query="probe_success{service=&#34;backend&#34;}"' in service.text


async def test_a_browser_session_must_send_the_csrf_token_of_its_page(stack: Stack) -> None:
    rt = stack.rt
    with rt.db.begin() as conn:
        rt.security.users.create(
            conn, system_principal("tests"), "olga", "a long password 2", Role.OPERATOR
        )
    fp = await stack.fire("CsrfMe", "backend")
    transport = stack["anonymous"]._transport  # the same app
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        form = await browser.get("/login?next=/alerts")
        login_token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert login_token is not None
        logged_in = await browser.post(
            "/login",
            data={
                "username": "olga",
                "password": "a long password 2",
                "csrf_token": login_token.group(1),
                "next": "/alerts",
            },
        )
        assert logged_in.status_code == 303
        assert logged_in.headers["location"] == "/alerts"
        page = await browser.get("/alerts")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        assert f'"X-CSRF-Token": "{token.group(1)}"' in page.text
        forged = await browser.post(f"/alerts/{fp}/ack", data={"comment": "forged"})
        assert forged.status_code == 403
        assert "CSRF" in forged.text
        done = await browser.post(f"/alerts/{fp}/ack", data={"csrf_token": token.group(1)})
        assert done.status_code == 303
    view = rt.alerts.views.view(rt.alerts.store.get(fp), rt.clock.now())  # type: ignore[arg-type]
    assert [k.by for k in view.acks] == ["olga"]


async def test_times_beyond_the_year_9999_are_refused_or_shown_plainly(stack: Stack) -> None:
    client = stack["admin"]
    endless = await client.post(
        "/silences",
        data={"matchers": 'service="backend"', "comment": "c", "duration": "99999999999d"},
    )
    assert endless.status_code == 400
    assert "after the year 9999" in endless.text
    token = await client.post(
        "/admin/tokens", data={"name": "t", "role": "viewer", "expires_in": "99999999999d"}
    )
    assert token.status_code == 400
    assert "36500d" in token.text
    forever = await client.post(
        "/oncall/overrides",
        data={"rotation": "primary", "receiver": "bob", "ends_at": "9999-12-31T23:59"},
    )
    assert forever.status_code == 303
    page = await client.get("/oncall")
    assert page.status_code == 200
    assert 'data-oncall="bob"' in page.text
    override = stack.rt.alerts.oncall.overrides("primary")[-1]
    await client.post(f"/oncall/primary/overrides/{override.id}/delete")
