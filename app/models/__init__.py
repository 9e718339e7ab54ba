"""Every table of Sitthi, importable from one place."""
from flask_appbuilder.security.sqla.models import User  # noqa: F401  (FAB's login, ab_user)

from app.models import collation  # noqa: F401  (Thai order on SQLite connections)
from app.models.audit import AuditEvent, audit_event_officer
from app.models.delegation import Delegation
from app.models.grant import GRANT_STATES, LIVE_GRANT_STATES, CommandFunction, DeactivationNotice, Grant
from app.models.jobs import JOB_KINDS, JOB_STATES, ImportReject, JobRun
from app.models.lifecycle import (
    CHANGE_KINDS,
    DATA_CHANGE_FIELDS,
    DataChangeRequest,
    DutyOrder,
    PersonnelChange,
    SourceUsage,
)
from app.models.linkage import (
    ANSWER_KINDS,
    AgencySuperUser,
    DataField,
    ItemAnswer,
    JustificationQuestion,
    LinkageLetter,
    agreement_field,
    request_item_field,
)
from app.models.login import LoginGeneration, LoginThrottle
from app.models.notification import Notification
from app.models.officer import OFFICER_STATUSES, Officer
from app.models.reference import DutyLine, Holiday, PositionLevel, Rank, RankGroup
from app.models.reference_stamp import ReferenceStamp
from app.models.request import (
    ATTACHMENT_KINDS,
    ESCALATION_ROLES,
    ESCALATION_TARGETS,
    ITEM_STATES,
    REQUEST_KINDS,
    REQUEST_STATES,
    REQUIREMENT_CONDITIONS,
    STAGE_ACTORS,
    AccessRequest,
    ApprovalChain,
    ApprovalStage,
    Attachment,
    Decision,
    RequestGroup,
    RequestItem,
    RequestNumberCounter,
    RequiredDocument,
    StageChase,
)
from app.models.review import ReviewCampaign, ReviewDecision
from app.models.source import Agency, DataSharingAgreement, DataSource, SystemFunction
from app.models.unit import UNIT_KINDS, Unit

__all__ = [
    "ReferenceStamp",
    "LoginGeneration", "LoginThrottle", "ATTACHMENT_KINDS", "CHANGE_KINDS", "ESCALATION_ROLES", "ESCALATION_TARGETS", "DATA_CHANGE_FIELDS", "GRANT_STATES", "JOB_KINDS", "JOB_STATES", "ITEM_STATES", "LIVE_GRANT_STATES", "OFFICER_STATUSES",
    "REQUEST_KINDS", "REQUEST_STATES", "REQUIREMENT_CONDITIONS", "STAGE_ACTORS", "UNIT_KINDS",
    "AccessRequest", "Agency", "ApprovalChain", "ApprovalStage", "Attachment", "AuditEvent", "audit_event_officer",
    "CommandFunction", "DataChangeRequest", "DeactivationNotice", "DutyOrder", "ImportReject", "JobRun",
    "PersonnelChange", "SourceUsage", "Delegation", "DataSharingAgreement", "DataSource", "Decision", "DutyLine", "Grant", "Holiday",
    "Notification", "Officer", "PositionLevel", "Rank", "RankGroup", "RequestGroup", "RequestItem",
    "RequestNumberCounter", "RequiredDocument",
    "ReviewCampaign", "ReviewDecision", "StageChase", "SystemFunction", "Unit", "User",
    "ANSWER_KINDS", "AgencySuperUser", "DataField", "ItemAnswer", "JustificationQuestion", "LinkageLetter",
    "agreement_field", "request_item_field",
]
