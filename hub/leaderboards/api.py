"""``/api/v1/systems``, ``/api/v1/submissions`` and ``/api/v1/boards``: register hardware,
submit result bundles (the raw ``.tar.gz`` as the request body), review them, and read the
boards with the same filters as the pages."""

from __future__ import annotations

import json

from flask import Response, jsonify, request, url_for
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from hub import db
from hub.accounts.models import Organization
from hub.api.core import api, api_error, auth, current_api_user, json_body, paginate, schema
from hub.leaderboards import services
from hub.leaderboards.models import SYSTEM_STATUSES, HardwareSystem, Submission
from hub.security import limit_uploads


@schema
class HardwareSystemSchema(Schema):
    organization = fields.String(required=True, metadata={"description": "vendor org slug"})
    system_name = fields.String(required=True, validate=validate.Length(1, 200))
    submitter = fields.String(required=True, validate=validate.Length(1, 200))
    status = fields.String(load_default="available", validate=validate.OneOf(SYSTEM_STATUSES))
    accelerator_model_name = fields.String(load_default="")
    accelerators_per_node = fields.Integer(load_default=0)
    accelerator_memory_capacity = fields.String(load_default="")
    host_processor_model_name = fields.String(load_default="")
    host_processors_per_node = fields.Integer(load_default=1)
    host_memory_capacity = fields.String(load_default="")
    framework = fields.String(load_default="")
    other_software_stack = fields.String(load_default="")
    operating_system = fields.String(load_default="")
    notes = fields.String(load_default="")
    peak_gflops = fields.Float(load_default=None, allow_none=True,
                               metadata={"description": "declared peak GFLOP/s (float32)"})


@schema
class HardwareSystemUpdateSchema(HardwareSystemSchema):
    class Meta:
        exclude = ("organization",)


@schema
class ResultReviewSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "reject")))
    reason = fields.String(required=True, validate=validate.Length(1, 5000))


def _fail(err: services.LeaderboardError):
    db.session().rollback()
    api_error(err.status, err.message, err.code)


def _system_or_404(system_id: int) -> HardwareSystem:
    system = db.session().get(HardwareSystem, system_id)
    if system is None:
        api_error(404, "no such system")
    return system


def _submission_or_404(public_id: str) -> Submission:
    submission = services.find_submission(public_id)
    if submission is None or not services.can_see(current_api_user(), submission):
        api_error(404, "no such result")
    return submission


def _dump_submission(submission: Submission) -> dict:
    return services.submission_to_dict(submission, url=url_for(
        "leaderboards.result", public_id=submission.public_id, _external=True),
        viewer=current_api_user())


@api.get("/systems")
@auth(optional=True)
def lb_systems():
    """List registered hardware systems.
    ---
    get:
      tags: [leaderboards]
      parameters:
        - {in: query, name: organization, schema: {type: string}}
        - {in: query, name: page, schema: {type: integer}}
        - {in: query, name: per_page, schema: {type: integer}}
      responses:
        200: {description: a page of systems}
    """
    stmt = select(HardwareSystem).order_by(HardwareSystem.id)
    slug = request.args.get("organization")
    if slug:
        stmt = stmt.join(Organization).where(Organization.slug == slug)
    return paginate(stmt, services.system_to_dict)


@api.post("/systems")
@auth("write")
def lb_create_system():
    """Register a hardware system for a vendor organization (partners who belong to it).
    ---
    post:
      tags: [leaderboards]
      requestBody: {content: {application/json: {schema: HardwareSystem}}}
      responses:
        201: {description: the system}
        403: {$ref: '#/components/responses/Forbidden'}
        422: {description: invalid fields}
    """
    data = json_body(HardwareSystemSchema)
    org = db.session().scalar(select(Organization).where(
        Organization.slug == data.pop("organization")))
    if org is None:
        api_error(404, "no such organization")
    try:
        system = services.register_system(current_api_user(), org, data)
        db.session().commit()
    except services.LeaderboardError as err:
        _fail(err)
    return jsonify(services.system_to_dict(system)), 201


@api.get("/systems/<int:system_id>")
@auth(optional=True)
def lb_system(system_id: int):
    """Show a system with its visible results history.
    ---
    get:
      tags: [leaderboards]
      parameters: [{in: path, name: system_id, schema: {type: integer}, required: true}]
      responses:
        200: {description: the system and its history}
        404: {$ref: '#/components/responses/NotFound'}
    """
    system = _system_or_404(system_id)
    history = services.system_history(system, current_api_user())
    return jsonify({**services.system_to_dict(system),
                    "history": [_dump_submission(s) for s in history]})


@api.patch("/systems/<int:system_id>")
@auth("write")
def lb_update_system(system_id: int):
    """Change a system's fields (members of its organization).
    ---
    patch:
      tags: [leaderboards]
      parameters: [{in: path, name: system_id, schema: {type: integer}, required: true}]
      requestBody: {content: {application/json: {schema: HardwareSystemUpdate}}}
      responses:
        200: {description: the system}
        404: {$ref: '#/components/responses/NotFound'}
    """
    system = _system_or_404(system_id)
    data = json_body(HardwareSystemUpdateSchema, partial=True)
    try:
        services.update_system(current_api_user(), system, data)
        db.session().commit()
    except services.LeaderboardError as err:
        _fail(err)
    return jsonify(services.system_to_dict(system))


@api.post("/systems/<int:system_id>/submissions")
@auth("submit")
@limit_uploads
def lb_submit(system_id: int):
    """Submit a result bundle (its ``.tar.gz`` as the raw body) for a system; ``model``
    (repeatable) names a zoo model the result ran, linked from its page once verified.
    ---
    post:
      tags: [leaderboards]
      parameters:
        - {in: path, name: system_id, schema: {type: integer}, required: true}
        - in: query
          name: model
          description: a zoo model the result ran, as owner/name (repeatable)
          schema: {type: array, items: {type: string}}
          explode: true
      requestBody:
        content: {application/octet-stream: {schema: {type: string, format: binary}}}
      responses:
        201: {description: the submission with its checks (running or done)}
        400: {description: the bundle or a model was refused; the message names it}
        403: {$ref: '#/components/responses/Forbidden'}
        413: {description: the bundle is too large}
    """
    system = _system_or_404(system_id)
    user = current_api_user()
    if not services.can_submit(user, system):
        api_error(403, "only members of the system's organization can submit results for it",
                  "forbidden")
    try:
        submission = services.submit(user, system, request.stream,
                                     models=request.args.getlist("model"))
    except services.LeaderboardError as err:
        _fail(err)
    return jsonify(_dump_submission(submission)), 201


@api.get("/submissions")
@auth(optional=True)
def lb_submissions():
    """List results (public ones, plus your organizations' others).
    ---
    get:
      tags: [leaderboards]
      parameters:
        - {in: query, name: system, schema: {type: integer}}
        - {in: query, name: status, schema: {type: string}}
      responses:
        200: {description: a page of submissions}
    """
    from hub.security import user_org_ids

    user = current_api_user()
    stmt = select(Submission).order_by(Submission.id.desc())
    if not services.is_reviewer(user):
        orgs = user_org_ids(user)
        cond = Submission.status.in_(services.PUBLIC_STATUSES)
        if orgs:
            cond = cond | Submission.organization_id.in_(orgs)
        stmt = stmt.where(cond)
    system = request.args.get("system", "")
    if system.isdigit() and len(system) < 10:
        stmt = stmt.where(Submission.system_id == int(system))
    status = request.args.get("status", "")
    if status:
        stmt = stmt.where(Submission.status == status)
    return paginate(stmt, _dump_submission)


@api.get("/submissions/<public_id>")
@auth(optional=True)
def lb_submission(public_id: str):
    """Show a result with its checks.
    ---
    get:
      tags: [leaderboards]
      parameters: [{in: path, name: public_id, schema: {type: string}, required: true}]
      responses:
        200: {description: the result}
        404: {$ref: '#/components/responses/NotFound'}
    """
    return jsonify(_dump_submission(_submission_or_404(public_id)))


@api.post("/submissions/<public_id>/withdraw")
@auth("submit")
def lb_withdraw(public_id: str):
    """Withdraw a result from the boards (members of its organization).
    ---
    post:
      tags: [leaderboards]
      parameters: [{in: path, name: public_id, schema: {type: string}, required: true}]
      responses:
        200: {description: the withdrawn result}
        404: {$ref: '#/components/responses/NotFound'}
    """
    submission = _submission_or_404(public_id)
    try:
        services.withdraw(current_api_user(), submission)
        db.session().commit()
    except services.LeaderboardError as err:
        _fail(err)
    return jsonify(_dump_submission(submission))


@api.post("/submissions/<public_id>/review")
@auth("write")
def lb_review(public_id: str):
    """Approve or reject a result that needs review, with a reason (reviewers only).
    ---
    post:
      tags: [leaderboards]
      parameters: [{in: path, name: public_id, schema: {type: string}, required: true}]
      requestBody: {content: {application/json: {schema: ResultReview}}}
      responses:
        200: {description: the result after the decision}
        403: {$ref: '#/components/responses/Forbidden'}
        409: {description: the result does not need review}
    """
    submission = _submission_or_404(public_id)
    data = json_body(ResultReviewSchema)
    try:
        services.review(current_api_user(), submission, data["decision"] == "approve",
                        data["reason"])
        db.session().commit()
    except services.LeaderboardError as err:
        _fail(err)
    return jsonify(_dump_submission(submission))


@api.get("/boards")
@auth(optional=True)
def lb_boards():
    """List the boards (one per benchmark and scenario) with their verified result counts.
    ---
    get:
      tags: [leaderboards]
      responses:
        200: {description: the boards}
    """
    return jsonify({"items": services.board_summary()})


@api.get("/boards/<board_id>")
@auth(optional=True)
def lb_board(board_id: str):
    """One board's results, best first, with the page's filters and sorting.
    ---
    get:
      tags: [leaderboards]
      parameters:
        - {in: path, name: board_id, schema: {type: string}, required: true}
        - {in: query, name: status, schema: {type: string, enum: [available, preview, research]}}
        - {in: query, name: accelerator, schema: {type: string}}
        - {in: query, name: submitter, schema: {type: string}}
        - {in: query, name: backend, schema: {type: string}}
        - {in: query, name: verified, schema: {type: string, enum: ['0', '1']}}
        - in: query
          name: sort
          schema: {type: string, enum: [result, date, submitter, system, accelerator]}
        - {in: query, name: order, schema: {type: string, enum: [asc, desc]}}
        - {in: query, name: page, schema: {type: integer}}
        - {in: query, name: per_page, schema: {type: integer}}
      responses:
        200: {description: a page of the board}
        404: {$ref: '#/components/responses/NotFound'}
    """
    from hub.api.core import _int_arg

    scenarios = dict(services.board_ids())
    if board_id not in scenarios:
        api_error(404, "no such board")
    filters = services.BoardFilters.from_args(request.args)
    page = _int_arg("page", 1, 1, 1_000_000)
    size = _int_arg("per_page", 50, 1, 500)
    key = ("api", board_id, filters, page, size)
    body = services.cached_fragment(key)
    if body is None:  # serialized once per board generation, like the rows themselves
        rows = services.board(board_id, filters)
        body = json.dumps({"board": board_id, "scenario": scenarios[board_id],
                           "filters": filters.query_args(), "total": len(rows), "page": page,
                           "per_page": size, "pages": max(1, -(-len(rows) // size)),
                           "items": rows[(page - 1) * size: page * size]})
        services.store_fragment(key, body)
    return Response(body, mimetype="application/json")
