"""Who sees which models in the list page and the API list (the list's statements are built
once per combination of filters and run with each viewer's own parameters)."""

from __future__ import annotations

from hub import db as hub_db
from hub.zoo.models import ZooModel


def _names_on_page(client, query: str = "") -> set[str]:
    page = client.get(f"/models{query}").get_data(as_text=True)
    return {name for name in ("open", "adas-own", "labs-own", "bobs-own")
            if f"/{name}\"" in page}


def test_each_viewer_sees_public_models_and_only_the_private_ones_they_may(
        app, make_user, make_token, login):
    from hub.accounts.models import Membership, Organization

    ada, bob, carol = (make_user(username=n) for n in ("ada", "bob", "carol"))
    admin = make_user(role="admin", username="root")
    with app.app_context():
        session = hub_db.session()
        lab = Organization(slug="lab", name="Lab", owner_id=bob.id)
        session.add(lab)
        session.flush()
        session.add(Membership(user_id=carol.id, organization_id=lab.id, role="member"))
        rows = [("ada", ada.id, None, "open", True), ("ada", ada.id, None, "adas-own", False),
                ("lab", None, lab.id, "labs-own", False), ("bob", bob.id, None, "bobs-own", False)]
        for namespace, owner_id, org_id, name, public in rows:
            session.add(ZooModel(namespace=namespace, owner_id=owner_id, organization_id=org_id,
                                 name=name, summary="a digits model", task="physics",
                                 license="mit", tags=" digits ", is_public=public,
                                 latest_number=0))
        session.commit()
    expected = {None: {"open"}, ada: {"open", "adas-own"}, carol: {"open", "labs-own"},
                bob: {"open", "bobs-own"}, admin: {"open", "adas-own", "labs-own", "bobs-own"}}
    for viewer, names in expected.items():
        client = app.test_client()
        headers = {}
        if viewer is not None:
            login(client, viewer)
            headers = {"Authorization": f"Bearer {make_token(viewer, 'read')}"}
        # The same filters for everyone: one cached statement, each viewer's parameters.
        for query in ("", "?q=digits&task=physics&license=mit&tag=digits&sort=recent"):
            assert _names_on_page(client, query) == names, (viewer, query)
        api = client.get("/api/v1/models?q=digits&tag=digits", headers=headers).get_json()
        assert {m["name"] for m in api["items"]} == names, viewer
