"""What a screen loads of related rows beyond the relations its list columns name.

No model loads a related row by default (a joined default made every grant query join 38 tables
and cost 200 ms of planning). A list loads the many-to-one relations its columns show, with what
their text reads (SitthiModelView); what its cells, checks and export read further is named here.
Each is one `selectinload` statement for the rows of the page, so the number of statements stays
the same whatever the page size, and the page's own query sorts and cuts before anything is read.
"""

from sqlalchemy.orm import joinedload

from app.models import (
    AccessRequest,
    DataSource,
    Decision,
    Grant,
    ItemAnswer,
    Officer,
    RequestItem,
    ReviewDecision,
)
from app.models.loading import load
from app.services import eligibility

# The holder's unit (unit cell, export), the source's agency (target cell), the administering command.
GRANT_LIST = (
    load(Grant.officer).options(load(Officer.home_unit)),
    load(Grant.data_source).options(load(DataSource.agency)),
    load(Grant.command),
)
COMMAND_GRANT_LIST = (*GRANT_LIST, load(Grant.officer).options(load(Officer.acting_unit)))

# A review item's cells show its grant: the right, the holder's unit, the validity.
REVIEW_LIST = (
    load(ReviewDecision.grant).options(
        load(Grant.officer).options(load(Officer.home_unit), load(Officer.acting_unit)),
        load(Grant.data_source).options(load(DataSource.agency)),
        load(Grant.function),
        load(Grant.rank_group),
    ),
)

REQUEST_LIST = (load(AccessRequest.current_stage),)
# An inbox judges every row of its page: what the eligibility checks read comes with the page
# (its stage, a list column, is read by the list: InboxView.relations_after_the_page).
INBOX_LIST = eligibility.CHECK_LOADS

# The request page: the request with what its checks read, and its timeline.
REQUEST_PAGE = (
    *eligibility.CHECK_LOADS,
    # The answers to the justification questions, with the items' statement (a few per item).
    load(AccessRequest.items).options(joinedload(RequestItem.answers).joinedload(ItemAnswer.question)),
    load(AccessRequest.unit),
    load(AccessRequest.current_stage),
    load(AccessRequest.chain),
    load(AccessRequest.target_unit),
)
TIMELINE = (
    load(Decision.stage), load(Decision.actor),
    load(Decision.item).options(load(RequestItem.data_source)),
    load(Decision.item).options(load(RequestItem.function)),
)

# A group's page and memo: each line's officer, unit, head, stage and what it asks for.
GROUP_LINES = (
    load(AccessRequest.requester).options(load(Officer.rank), load(Officer.home_unit), load(Officer.acting_unit)),
    load(AccessRequest.certifying_head).options(load(Officer.rank)),
    load(AccessRequest.unit),
    load(AccessRequest.current_stage),
    load(AccessRequest.items).options(load(RequestItem.data_source).options(load(DataSource.agency)),
                                      load(RequestItem.function), load(RequestItem.rank_group)),
)

# Officers named on a page (the timeline's actors): shown with their rank.
OFFICER_TEXT = (load(Officer.rank),)
