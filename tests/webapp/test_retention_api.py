"""/api/v1/admin and /admin/retention: legal holds, the retention preview and a person's export -
admins only, audited."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select, text, update

from engine import clock
from engine.config import ConfigError
from engine.persistence.models import AuditEntry, CaseFile, InstanceStatus, ProcessInstance
from engine.services.admin import audit_trail, directory
from engine.services.retention import runs
from tests.integration.retention_support import berlin
from tests.webapp.conftest import Web, _password_hash, csrf_of, login
from webapp import create_app


@pytest.fixture
def admin_web(web: Web) -> Iterator[Web]:
    """An admin besides the office users; every token lasts ten years, as these tests move the
    clock years ahead (past the default token lifetime of KIM_TOKEN_DAYS)."""
    web.ctx.run(directory.add_user, "ada", "admin", [], password_hash=_password_hash())
    web.ctx.config["KIM_TOKEN_DAYS"] = 3650
    for name in [*web.tokens, "ada"]:
        web.tokens[name] = web.ctx.run(directory.create_token, name)
    yield web
    clock.reset()


def _actions(web: Web, action: str) -> list[AuditEntry]:
    with web.ctx.uow(write=False) as uow:
        return list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_admin_sets_lists_and_clears_a_legal_hold(admin_web: Web, open_case: Callable[..., dict[str, Any]]) -> None:
    web = admin_web
    case = open_case()
    path = f"/admin/cases/{case['id']}/legal-hold"
    held = web.api("ada", "PUT", path, json={"reason": "Härtefallantrag offen"})
    assert held.status_code == 200, held.get_json()
    assert held.get_json()["held"] is True
    listed = web.api("ada", "GET", "/admin/legal-holds").get_json()["items"]
    assert [(i["reference"], i["reason"], i["set_by"]) for i in listed] == [
        (case["reference"], "Härtefallantrag offen", "ada")]
    cleared = web.api("ada", "DELETE", f"{path}?reason=Antrag%20beschieden")
    assert cleared.status_code == 200
    assert cleared.get_json()["held"] is False
    assert web.api("ada", "DELETE", path).status_code == 409  # nothing to clear
    assert [e.details["reason"] for e in _actions(web, "case.legal_hold.set")] == ["Härtefallantrag offen"]
    assert [e.details["reason"] for e in _actions(web, "case.legal_hold.clear")] == ["Antrag beschieden"]


def test_a_hold_needs_a_reason(admin_web: Web, open_case: Callable[..., dict[str, Any]]) -> None:
    case = open_case()
    path = f"/admin/cases/{case['id']}/legal-hold"
    missing = admin_web.api("ada", "PUT", path, json={})
    assert missing.status_code == 422
    assert "reason" in missing.get_json()["fields"]
    assert admin_web.api("ada", "PUT", path, json={"reason": 7}).status_code == 422
    assert admin_web.api("ada", "PUT", path, data="no json").status_code == 400
    unknown = admin_web.api("ada", "PUT", "/admin/cases/00000000-0000-0000-0000-000000000009/legal-hold",
                            json={"reason": "Klage"})
    assert unknown.status_code == 404


def test_admin_exports_a_person_and_the_export_is_audited(admin_web: Web,
                                                         open_case: Callable[..., dict[str, Any]]) -> None:
    case = open_case()
    response = admin_web.api("ada", "GET", f"/admin/persons/{case['id']}/export")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_json()
    assert body["subject"]["family_name"] == "Haddad"
    assert [c["reference"] for c in body["cases"]] == [case["reference"]]
    assert body["cases"][0]["referral"]["reason"].startswith("Duldung seit 2021")
    assert [(e.actor, str(e.case_id)) for e in _actions(admin_web, "person.export")] == [("ada", case["id"])]


@pytest.mark.parametrize("user", ["carla", "sina", "aude", "paul", "achim"])
def test_everyone_but_admins_is_refused(admin_web: Web, open_case: Callable[..., dict[str, Any]], user: str) -> None:
    case = open_case()
    calls = [("GET", f"/admin/persons/{case['id']}/export", None), ("GET", "/admin/legal-holds", None),
             ("GET", "/admin/retention/preview", None),
             ("PUT", f"/admin/cases/{case['id']}/legal-hold", {"reason": "Klage"}),
             ("DELETE", f"/admin/cases/{case['id']}/legal-hold", None)]
    for method, path, body in calls:
        response = admin_web.api(user, method, path, json=body) if body else admin_web.api(user, method, path)
        assert response.status_code == 403, (method, path)
    assert _actions(admin_web, "person.export") == []
    assert admin_web.client().get(f"/api/v1/admin/persons/{case['id']}/export").status_code == 401


def test_preview_lists_what_the_next_run_deletes_and_changes_nothing(
        admin_web: Web, open_case: Callable[..., dict[str, Any]]) -> None:
    web = admin_web
    case = open_case()
    with web.ctx.uow() as uow:  # the case ended in 2025
        uow.session.execute(update(ProcessInstance).values(status=InstanceStatus.COMPLETED.value))
        uow.session.execute(update(CaseFile).values(status="closed", closed_at=berlin("2025-06-01T10:00:00")))
        uow.commit()
    clock.freeze(berlin("2026-03-02T09:00:00"))
    assert web.api("carla", "GET", "/tasks?q=Haddad").status_code == 200  # a name search in the audit trail
    clock.freeze(berlin("2030-01-02T09:00:00"))
    preview = web.api("ada", "GET", "/admin/retention/preview").get_json()
    assert [(d["reference"], d["closure_year"]) for d in preview["would_delete"]] == [(case["reference"], 2025)]
    assert preview["name_searches"] == 1
    with web.ctx.uow(write=False) as uow:
        assert uow.session.scalar(select(CaseFile.family_name)) == "Haddad"
    assert len(_actions(web, "retention.preview")) == 1
    client = web.client()
    login(client, "ada")
    web.api("ada", "PUT", f"/admin/cases/{case['id']}/legal-hold", json={"reason": "Härtefallantrag"})
    shown = client.get("/admin/retention").get_data(as_text=True)
    assert f"<td>{case['reference']}</td><td>2025</td><td>Sperrvermerk: Härtefallantrag</td>" in shown
    assert "deren Suchbegriff gelöscht wird: 1" in shown


def test_audit_verify_reports_ok_after_a_deletion_run_and_finds_tampering(
        admin_web: Web, open_case: Callable[..., dict[str, Any]]) -> None:
    web = admin_web
    case = open_case()
    assert web.api("carla", "GET", f"/cases/{case['id']}").status_code == 200
    with web.ctx.uow() as uow:
        uow.session.execute(update(ProcessInstance).values(status=InstanceStatus.COMPLETED.value))
        uow.session.execute(update(CaseFile).values(status="closed", closed_at=berlin("2025-06-01T10:00:00")))
        uow.commit()
    audit_trail.write_checkpoint(web.ctx)
    clock.freeze(berlin("2030-01-02T09:00:00"))
    assert len(runs.run_retention(web.ctx).deleted) == 1
    verified = web.api("aude", "GET", "/audit/verify").get_json()
    assert verified["ok"] is True, verified
    entries = web.api("aude", "GET", f"/audit?case_id={case['id']}").get_json()["items"]
    assert [e["details"] for e in entries[:-1]] == [{"redacted": True}] * (len(entries) - 1)
    assert entries[-1]["action"] == "retention.delete"
    with web.ctx.db.write.begin() as conn:  # an attacker who can switch the guard off
        if web.ctx.db.is_sqlite:
            conn.execute(text("DROP TRIGGER audit_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit DISABLE TRIGGER audit_append_only"))
        conn.execute(text("UPDATE audit SET action = 'case.list' WHERE id = :id"), {"id": entries[0]["id"]})
        if not web.ctx.db.is_sqlite:
            conn.execute(text("ALTER TABLE audit ENABLE TRIGGER audit_append_only"))
    broken = web.api("aude", "GET", "/audit/verify").get_json()
    assert broken["ok"] is False
    assert broken["first_broken_id"] == entries[0]["id"]


def test_the_retention_page_sets_and_clears_holds_and_exports(admin_web: Web,
                                                              open_case: Callable[..., dict[str, Any]]) -> None:
    case = open_case()
    client = admin_web.client()
    login(client, "ada")
    page = client.get("/admin/retention")
    assert page.status_code == 200
    assert "Aufbewahrung und Löschung" in page.get_data(as_text=True)
    token = csrf_of(client, "/admin/retention")
    assert client.post("/admin/retention/holds", data={"reference": case["reference"], "reason": "Klage"}
                       ).status_code == 403  # without the CSRF token
    bad = client.post("/admin/retention/holds", data={"reference": "KIM-1999-00001", "reason": "Klage",
                                                      "csrf_token": token})
    assert bad.status_code == 422
    assert "Kein Fall mit diesem Aktenzeichen." in bad.get_data(as_text=True)
    done = client.post("/admin/retention/holds", data={"reference": case["reference"], "reason": "Klage VG Köln",
                                                       "csrf_token": token})
    assert done.status_code == 302
    listed = client.get("/admin/retention").get_data(as_text=True)
    assert "Klage VG Köln" in listed
    released = client.post(f"/admin/retention/holds/{case['id']}/release",
                           data={"reason": "erledigt", "csrf_token": token})
    assert released.status_code == 302
    assert "Keine Sperrvermerke." in client.get("/admin/retention").get_data(as_text=True)
    download = client.get(f"/admin/retention/export?reference={case['reference']}")
    assert download.status_code == 200
    assert download.get_json()["cases"][0]["reference"] == case["reference"]
    assert "Retention and deletion" in client.get("/admin/retention?lang=en").get_data(as_text=True)


def test_the_retention_page_is_for_admins_only(admin_web: Web) -> None:
    client = admin_web.client()
    login(client, "carla")
    assert client.get("/admin/retention").status_code == 403
    assert client.get("/admin/retention/export?reference=KIM-2026-00001").status_code == 403
    assert "Aufbewahrung" not in client.get("/inbox").get_data(as_text=True)


def test_a_deleted_case_still_opens_without_its_content(admin_web: Web,
                                                        open_case: Callable[..., dict[str, Any]]) -> None:
    web = admin_web
    case = open_case()
    with web.ctx.uow() as uow:
        uow.session.execute(update(ProcessInstance).values(status=InstanceStatus.COMPLETED.value))
        uow.session.execute(update(CaseFile).values(status="closed", closed_at=berlin("2025-06-01T10:00:00")))
        uow.commit()
    clock.freeze(berlin("2030-01-02T09:00:00"))
    assert len(runs.run_retention(web.ctx).deleted) == 1
    api = web.api("carla", "GET", f"/cases/{case['id']}")
    assert api.status_code == 200
    assert "Haddad" not in api.get_data(as_text=True)
    client = web.client()
    login(client, "carla")
    page = client.get(f"/cases/{case['id']}")
    assert page.status_code == 200
    assert case["reference"] in page.get_data(as_text=True)
    assert "Haddad" not in page.get_data(as_text=True)


@pytest.mark.parametrize("years", ["abc", "0", "-1"])
def test_the_app_refuses_to_start_with_bad_retention_years(web: Web, years: str) -> None:
    with pytest.raises(ConfigError, match="KIM_RETENTION_YEARS") as refused:
        create_app({"KIM_DATABASE_URL": web.ctx.config["KIM_DATABASE_URL"],
                    "KIM_INSTANCE_PATH": web.ctx.config["KIM_INSTANCE_PATH"], "KIM_RETENTION_YEARS": years})
    assert repr(years) in str(refused.value)


def test_a_retention_setting_broken_after_the_start_answers_503_naming_it(admin_web: Web) -> None:
    """The check at start-up keeps a bad KIM_RETENTION_YEARS out; should the engine's settings be
    changed while it runs, the preview (API and page) names the setting instead of failing with 500."""
    admin_web.ctx.config["KIM_RETENTION_YEARS"] = "abc"
    api = admin_web.api("ada", "GET", "/admin/retention/preview")
    assert api.status_code == 503
    assert api.get_json()["error"] == "misconfigured"
    assert "KIM_RETENTION_YEARS" in api.get_json()["message"]
    english = admin_web.api("ada", "GET", "/admin/retention/preview", headers={"Accept-Language": "en"})
    assert english.get_json()["message"].startswith("The server setting KIM_RETENTION_YEARS is invalid")
    client = admin_web.client()
    login(client, "ada")
    page = client.get("/admin/retention")
    assert page.status_code == 503
    assert "Die Einstellung KIM_RETENTION_YEARS des Servers ist ungültig" in page.get_data(as_text=True)
