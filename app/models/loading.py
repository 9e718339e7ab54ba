"""How a page reads the related rows it shows: no model loads any by default.

A relation to a reference table (ranks, units, data sources: a few dozen to a few thousand rows)
is joined into the statement that reads the rows naming it, which costs a hash lookup per row.
Any other relation (officers, requests, grants, users: the big tables) is read in one more
statement for the rows already read (`selectinload`): a join to a big table before a page's
ORDER BY ... LIMIT made PostgreSQL join every matching row (0.7 s for an inbox of 12,000
requests). Either way the number of statements does not depend on how many rows there are.
"""
from sqlalchemy.orm import joinedload, selectinload

from app.models.reference import DutyLine, PositionLevel, Rank, RankGroup
from app.models.request import ApprovalChain, ApprovalStage
from app.models.review import ReviewCampaign
from app.models.source import Agency, DataSource, SystemFunction
from app.models.unit import Unit

REFERENCE_MODELS = frozenset({
    Rank, RankGroup, DutyLine, PositionLevel, Agency, DataSource, SystemFunction, Unit,
    ApprovalChain, ApprovalStage, ReviewCampaign,
})


def load(relation):
    """The loader option for one relation, by the size of the table it leads to."""
    if relation.property.mapper.class_ in REFERENCE_MODELS and not relation.property.uselist:
        return joinedload(relation)
    return selectinload(relation)


def with_its_text(relation, depth: int = 3, separately: bool = False):
    """load(relation), and below it the relations the related row's text reads (its model's
    `text_reads`): a grant shown as text names its officer, who is shown with a rank.
    `separately`: read in a statement of its own even when a reference (see SitthiModelView)."""
    option = selectinload(relation) if separately else load(relation)
    target = relation.property.mapper.class_
    if depth > 1:
        below = [with_its_text(getattr(target, name), depth - 1) for name in getattr(target, "text_reads", ())]
        if below:
            option = option.options(*below)
    return option


def its_text(model) -> list:
    """The loader options of what a row's text (`__str__`) reads, for a query of `model` rows."""
    return [with_its_text(getattr(model, name)) for name in getattr(model, "text_reads", ())]
