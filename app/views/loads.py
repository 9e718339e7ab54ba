"""What a screen loads of related rows beyond the relations its list columns name.

No model loads a related row by default (a joined default made every grant query join 38 tables
and cost 200 ms of planning). A list joins the many-to-one relations its columns show, with what
their text reads (SitthiModelView); what its cells, checks and export read further is named here,
so the number of statements stays the same whatever the page size.
"""
from sqlalchemy.orm import joinedload

from app.models import AccessRequest, DataSource, Decision, Grant, Officer, RequestItem, ReviewDecision
from app.services import eligibility

# The holder's unit (unit cell, export), the source's agency (target cell), the administering command.
GRANT_LIST = (
    joinedload(Grant.officer).joinedload(Officer.home_unit),
    joinedload(Grant.data_source).joinedload(DataSource.agency),
    joinedload(Grant.command),
)
COMMAND_GRANT_LIST = (*GRANT_LIST, joinedload(Grant.officer).joinedload(Officer.acting_unit))

# A review item's cells show its grant: the right, the holder's unit, the validity.
REVIEW_LIST = (
    joinedload(ReviewDecision.grant).options(
        joinedload(Grant.officer).options(joinedload(Officer.home_unit), joinedload(Officer.acting_unit)),
        joinedload(Grant.data_source).joinedload(DataSource.agency),
        joinedload(Grant.function),
        joinedload(Grant.rank_group),
    ),
)

REQUEST_LIST = (joinedload(AccessRequest.current_stage),)
# An inbox judges every row of its page: what the eligibility checks read comes with the page.
INBOX_LIST = (*REQUEST_LIST, *eligibility.CHECK_LOADS)

# The request page: the request with what its checks read, and its timeline.
REQUEST_PAGE = (
    *eligibility.CHECK_LOADS,
    joinedload(AccessRequest.unit),
    joinedload(AccessRequest.current_stage),
    joinedload(AccessRequest.chain),
    joinedload(AccessRequest.target_unit),
)
TIMELINE = (
    joinedload(Decision.stage), joinedload(Decision.actor),
    joinedload(Decision.item).joinedload(RequestItem.data_source),
    joinedload(Decision.item).joinedload(RequestItem.function),
)

# Officers named on a page (the timeline's actors): shown with their rank.
OFFICER_TEXT = (joinedload(Officer.rank),)
