"""Two languages: the switcher, the remembered choice, complete catalogs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub import db as hub_db
from hub import i18n
from hub.accounts.models import User


def test_english_by_default_and_chinese_from_the_browser(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in" in page
    page = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert '<html lang="zh-Hans">' in page
    assert "登录" in page and "课程" in page and "学习深度学习" in page


def test_switcher_remembers_the_choice_in_a_cookie(client):
    resp = client.post("/language", data={"lang": "zh", "next": "/login"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("skiff_lang=zh") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/login").get_data(as_text=True)
    assert "用户名或电子邮箱" in page
    client.post("/language", data={"lang": "en"})
    assert "Username or email" in client.get("/login").get_data(as_text=True)
    # Unknown languages and foreign redirect targets are ignored.
    resp = client.post("/language", data={"lang": "xx", "next": "https://evil.example/"})
    assert resp.headers["Location"] == "/" and "Set-Cookie" not in resp.headers


def test_switcher_saves_the_choice_on_the_account(app, make_user, login):
    user = make_user()
    client = app.test_client()
    login(client, user)
    client.post("/language", data={"lang": "zh"})
    with app.app_context():
        assert hub_db.session().scalar(select(User.locale).where(User.id == user.id)) == "zh"
    # Another browser, same account, no cookie: Chinese follows the account.
    other = app.test_client()
    login(other, user)
    assert "退出登录" in other.get("/").get_data(as_text=True)


def test_error_pages_and_json_errors_are_translated(client):
    client.post("/language", data={"lang": "zh"})
    assert "未找到" in client.get("/missing").get_data(as_text=True)
    resp = client.get("/api/v1/missing", headers={"Accept-Language": "zh"})
    assert resp.get_json()["error"]["code"] == "not_found"


def test_catalogs_compile_when_the_po_is_newer(tmp_path):
    po_dir = tmp_path / "translations" / "zh" / "LC_MESSAGES"
    po_dir.mkdir(parents=True)
    po = po_dir / "messages.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  'msgid "Hello"\nmsgstr "你好"\n', encoding="utf-8")
    written = i18n.compile_catalogs([tmp_path / "translations"])
    assert written == [po_dir / "messages.mo"]
    assert i18n.compile_catalogs([tmp_path / "translations"]) == []  # up to date
    from babel.support import Translations

    with (po_dir / "messages.mo").open("rb") as fh:
        assert Translations(fh).gettext("Hello") == "你好"


def _package(where: str) -> str:
    """The feature a string belongs to: ``zoo/views.py`` and ``templates/zoo/x.html`` -> zoo."""
    parts = where.split("/")
    if parts[0] == "templates":
        return parts[1] if len(parts) > 2 else "(core)"
    return parts[0] if len(parts) > 1 else "(core)"


def _packages() -> list[str]:
    return sorted({_package(where) for _dir, where, _full in i18n.extract_messages().values()})


@pytest.mark.parametrize("package", _packages())
def test_every_user_facing_string_has_a_chinese_translation(package):
    """Fix a failure with ``python -m hub.i18n update`` and translate the new entries."""
    missing = sorted(
        f"{where}: {msgid!r}"
        for msgid, (_dir, where, _full) in i18n.missing_translations("zh").items()
        if _package(where) == package
    )
    assert missing == []
