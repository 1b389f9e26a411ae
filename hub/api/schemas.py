"""Marshmallow schemas of the core API (listed in the OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from hub.api.core import schema
from hub.api.tokens import DEFAULT_DAYS, MAX_DAYS, SCOPES


@schema
class ErrorSchema(Schema):
    error = fields.Dict(required=True, metadata={
        "description": "{'code': machine-readable code, 'message': what went wrong}"})


@schema
class UserSchema(Schema):
    username = fields.String(required=True)
    display_name = fields.String()
    role = fields.String()
    created_at = fields.DateTime()
    organizations = fields.List(fields.String(), metadata={"description": "organization slugs"})


@schema
class OrganizationSchema(Schema):
    slug = fields.String(required=True)
    name = fields.String()
    description = fields.String()
    owner = fields.String()
    members = fields.List(fields.String())


@schema
class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String(metadata={"description": "first characters after 'skf_'"})
    scopes = fields.List(fields.String())
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    revoked = fields.Boolean()


@schema
class NewTokenSchema(TokenSchema):
    token = fields.String(metadata={"description": "the token itself; shown only this once"})


@schema
class TokenRequestSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 64))
    scopes = fields.List(fields.String(validate=validate.OneOf(SCOPES)),
                         load_default=lambda: ["read"], validate=validate.Length(min=1))
    expires_in_days = fields.Integer(load_default=DEFAULT_DAYS,
                                     validate=validate.Range(1, MAX_DAYS))


def dump_token(token, secret: str | None = None) -> dict:
    out = {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "scopes": sorted(token.scope_set),
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat(),
        "revoked": token.revoked_at is not None,
    }
    if secret is not None:
        out["token"] = secret
    return out


def dump_user(user) -> dict:
    from hub.accounts.services import organizations_of

    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "created_at": user.created_at.isoformat(),
        "organizations": [o.slug for o in organizations_of(user)],
    }
