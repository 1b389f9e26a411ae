"""A person's first visit, in Debian's chromium: register, sign out and in, create an API
token, switch to Chinese, sign out. Each step checks what the person sees; the journey is a
list of steps so that other features can add theirs in the right place."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


@dataclass
class Visitor:
    username: str = "learner"
    email: str = "learner@example.org"
    password: str = "a-long-browser-password"
    display_name: str = "Lin Learner"


def register(page: Page, base: str, who: Visitor) -> None:
    page.goto(base + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Learn deep learning")
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Username").fill(who.username)
    page.get_by_label("Email").fill(who.email)
    page.get_by_label("Display name (optional)").fill(who.display_name)
    page.get_by_label("Password", exact=True).fill(who.password)
    page.get_by_label("Repeat the password").fill("not the same")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("The passwords differ.")).to_be_visible()
    page.get_by_label("Password", exact=True).fill(who.password)
    page.get_by_label("Repeat the password").fill(who.password)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text(f"Welcome to Skiff, {who.display_name}!")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(who.display_name)


def sign_out(page: Page, base: str, who: Visitor) -> None:
    page.get_by_test_id("account-menu").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    expect(page.get_by_test_id("account-menu")).to_have_count(0)


def sign_in(page: Page, base: str, who: Visitor) -> None:
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Username or email").fill(who.username)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Wrong username or password.")).to_be_visible()
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {who.username}.")).to_be_visible()
    expect(page.get_by_test_id("account-menu")).to_have_text(who.display_name)


def create_token(page: Page, base: str, who: Visitor) -> None:
    page.get_by_test_id("account-menu").click()
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_text("No tokens yet.")).to_be_visible()
    page.get_by_label("Name").fill("laptop")
    page.get_by_label("write").check()
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token-secret").inner_text()
    assert secret.startswith("skf_")
    expect(page.get_by_text("it is shown only this once")).to_be_visible()
    # The token works against the API, and the list never shows it again.
    me = page.request.get(base + "/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["username"] == who.username
    page.goto(base + "/settings/tokens/")
    expect(page.get_by_role("cell", name="laptop")).to_be_visible()
    assert secret not in page.content()
    page.goto(base + "/")


def switch_to_chinese(page: Page, base: str, who: Visitor) -> None:
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("link", name="课程", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("学习深度学习，发布模型，比较芯片。")
    page.reload()  # the choice is remembered
    expect(page.get_by_role("link", name="排行榜", exact=True)).to_be_visible()


def sign_out_in_chinese(page: Page, base: str, who: Visitor) -> None:
    page.get_by_test_id("account-menu").click()
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_text("你已退出登录。")).to_be_visible()
    expect(page.get_by_role("banner").get_by_role("link", name="登录", exact=True)).to_be_visible()


#: The journey, in order. A feature adds its step where it belongs (a signed-in step goes
#: after ``sign_in``).
JOURNEY = [register, sign_out, sign_in, create_token, switch_to_chinese, sign_out_in_chinese]


def test_register_sign_in_switch_language_sign_out(live_server, browser_page):
    who = Visitor()
    problems: list[str] = []
    browser_page.on("console", lambda msg: problems.append(msg.text)
                    if "Content Security Policy" in msg.text else None)
    browser_page.on("response", lambda resp: problems.append(f"{resp.status} {resp.url}")
                    if resp.status >= 400 and resp.request.resource_type != "document" else None)
    for step in JOURNEY:
        step(browser_page, live_server.url, who)
    # No page broke its own Content-Security-Policy or failed to load a stylesheet or image.
    assert problems == []
