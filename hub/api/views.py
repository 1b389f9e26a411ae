"""The core endpoints: who am I, users, organizations, tokens, the OpenAPI document."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from hub import db
from hub.accounts.models import Organization, User
from hub.api import tokens
from hub.api.core import api, api_error, auth, conditional, current_api_user, json_body, paginate
from hub.api.models import ApiToken
from hub.api.schemas import TokenRequestSchema, dump_token, dump_user
from hub.security import limit_tokens


@api.get("/")
def index():
    """Where things are.
    ---
    get:
      tags: [meta]
      summary: Links to the API's collections and its OpenAPI document
      responses:
        200: {description: links}
    """
    from flask import current_app

    return jsonify(version=current_app.config["SKIFF_VERSION"], openapi="/api/v1/openapi.json")


@api.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3 document of this API, generated from the code.
    ---
    get:
      tags: [meta]
      summary: This API's OpenAPI 3 document
      responses:
        200: {description: the document}
    """
    from hub.api.openapi import build_spec

    return conditional(jsonify(build_spec()))


@api.get("/me")
@auth("read")
def whoami():
    """The user the token belongs to.
    ---
    get:
      tags: [accounts]
      summary: Who am I
      security: [{bearer: []}]
      responses:
        200: {content: {application/json: {schema: User}}}
        401: {$ref: '#/components/responses/Unauthorized'}
    """
    return jsonify(dump_user(current_api_user()))


@api.get("/users/<username>")
@auth(optional=True)
def get_user(username: str):
    """A user's public profile.
    ---
    get:
      tags: [accounts]
      parameters: [{in: path, name: username, required: true, schema: {type: string}}]
      responses:
        200: {content: {application/json: {schema: User}}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    user = db.session().scalar(select(User).where(User.username == username.lower()))
    if user is None or not user.is_active:
        api_error(404, f"there is no user '{username}'")
    return conditional(jsonify(dump_user(user)))


@api.get("/orgs/<slug>")
@auth(optional=True)
def get_org(slug: str):
    """An organization and its members.
    ---
    get:
      tags: [accounts]
      parameters: [{in: path, name: slug, required: true, schema: {type: string}}]
      responses:
        200: {content: {application/json: {schema: Organization}}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    org = db.session().scalar(select(Organization).where(Organization.slug == slug.lower()))
    if org is None:
        api_error(404, f"there is no organization '{slug}'")
    return conditional(jsonify(
        slug=org.slug, name=org.name, description=org.description, owner=org.owner.username,
        members=sorted(m.user.username for m in org.memberships),
    ))


@api.get("/tokens")
@auth("read")
def list_tokens():
    """The caller's tokens (never the secrets), newest first, paginated.
    ---
    get:
      tags: [tokens]
      security: [{bearer: []}]
      parameters:
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 100}}
      responses:
        200: {description: "a page of tokens: {items: [Token], page, per_page, total, pages}"}
        401: {$ref: '#/components/responses/Unauthorized'}
    """
    stmt = select(ApiToken).where(ApiToken.user_id == current_api_user().id).order_by(
        ApiToken.id.desc())
    return paginate(stmt, dump_token)


@api.post("/tokens")
@limit_tokens
@auth("write")
def create_token():
    """Create a token; the response is the only time its secret is shown.
    ---
    post:
      tags: [tokens]
      security: [{bearer: []}]
      requestBody: {required: true, content: {application/json: {schema: TokenRequest}}}
      responses:
        201: {content: {application/json: {schema: NewToken}}}
        401: {$ref: '#/components/responses/Unauthorized'}
        422: {$ref: '#/components/responses/Invalid'}
    """
    data = json_body(TokenRequestSchema)
    try:
        new = tokens.create_token(current_api_user(), data["name"], data["scopes"],
                                  data["expires_in_days"])
    except tokens.TokenError as err:
        api_error(422, str(err), "validation_error")
    db.session().commit()
    return jsonify(dump_token(new.token, new.secret)), 201


@api.delete("/tokens/<int:token_id>")
@auth("write")
def revoke_token(token_id: int):
    """Revoke one of the caller's tokens.
    ---
    delete:
      tags: [tokens]
      security: [{bearer: []}]
      parameters: [{in: path, name: token_id, required: true, schema: {type: integer}}]
      responses:
        200: {content: {application/json: {schema: Token}}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    token = db.session().get(ApiToken, token_id)
    user = current_api_user()
    if token is None or token.user_id != user.id:
        api_error(404, "there is no such token")
    tokens.revoke_token(token, by=user)
    db.session().commit()
    return jsonify(dump_token(token))


@api.get("/jobs/<int:job_id>")
@auth("read")
def get_job(job_id: int):
    """A background job's state (queued, running, done, failed) and progress.
    ---
    get:
      tags: [jobs]
      security: [{bearer: []}]
      parameters: [{in: path, name: job_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: the job}
        404: {$ref: '#/components/responses/NotFound'}
    """
    from hub.infra.jobs import get_job as load_job

    job = load_job(job_id)
    user = current_api_user()
    if job is None or (job.owner_id != user.id and not user.is_admin):
        api_error(404, "there is no such job")
    return jsonify(job.to_dict())
