"""The token page people use in the browser (``/settings/tokens``)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from hub import db
from hub.api import tokens
from hub.api.models import ApiToken
from hub.security import limit_tokens

bp = Blueprint("tokens", __name__, url_prefix="/settings/tokens")


@bp.get("/")
@login_required
def index():
    return render_template("api/tokens.html", tokens=tokens.tokens_of(current_user),
                           scopes=tokens.SCOPES, new_secret=None, default_days=tokens.DEFAULT_DAYS)


@bp.post("/")
@login_required
@limit_tokens
def create():
    scopes = request.form.getlist("scopes")
    try:
        new = tokens.create_token(current_user, request.form.get("name", ""), scopes,
                                  request.form.get("days") or tokens.DEFAULT_DAYS)
    except tokens.TokenError as err:
        flash(str(err), "error")
        return redirect(url_for("tokens.index"))
    db.session().commit()
    # Shown in this response only: the secret is never stored and cannot be shown again.
    return render_template("api/tokens.html", tokens=tokens.tokens_of(current_user),
                           scopes=tokens.SCOPES, new_secret=new.secret, new_token=new.token,
                           default_days=tokens.DEFAULT_DAYS)


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    token = db.session().get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    tokens.revoke_token(token, by=current_user)
    db.session().commit()
    flash(_("Token “%(name)s” revoked.", name=token.name), "success")
    return redirect(url_for("tokens.index"))
