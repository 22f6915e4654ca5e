"""The closed vocabularies of DOMAIN.md (channels, case types, urgencies, roles...), with their labels in Chinese
(LABELS, the default) and English (LABELS_EN): the one place either is written."""

from __future__ import annotations

from enum import StrEnum


class LabelledEnum(StrEnum):
    """A code stored in the database and accepted by the API, with its Chinese label for people."""

    @property
    def label(self) -> str:
        return LABELS[type(self).__name__][self.value]

    def label_in(self, locale: str) -> str:
        """The label in a page locale ("en" or the default Chinese)."""
        return label_of(type(self).__name__, self.value, locale)

    @classmethod
    def accepted(cls) -> str:
        labels = LABELS[cls.__name__]
        return ", ".join(f"{m.value} ({labels[m.value]})" for m in cls)


class Channel(LabelledEnum):
    meeting = "meeting"
    station = "station"
    mobile_desk = "mobile_desk"
    hotline = "hotline"
    online = "online"
    walk_in = "walk_in"
    letter = "letter"
    enterprise = "enterprise"
    inspection = "inspection"
    leader = "leader"


class CaseType(LabelledEnum):
    consult = "consult"
    help = "help"
    complaint = "complaint"
    report = "report"
    suggestion = "suggestion"
    praise = "praise"
    dispute = "dispute"
    petition = "petition"


class Urgency(LabelledEnum):
    emergency = "emergency"
    urgent = "urgent"
    normal = "normal"


class Role(LabelledEnum):
    intake = "intake"
    dispatcher = "dispatcher"
    handler = "handler"
    dept_head = "dept_head"
    supervisor = "supervisor"
    leader = "leader"
    admin = "admin"


class Outcome(LabelledEnum):
    answered_on_spot = "answered_on_spot"
    solved = "solved"
    explained = "explained"
    mediated = "mediated"
    not_mediated = "not_mediated"
    rejected = "rejected"


class Satisfaction(LabelledEnum):
    satisfied = "satisfied"
    basically_satisfied = "basically_satisfied"
    unsatisfied = "unsatisfied"


class PetitionerKind(LabelledEnum):
    resident = "resident"
    enterprise = "enterprise"


class KeyReason(LabelledEnum):
    """Why a case is key (重点件, DOMAIN.md): an inspection referral is key from intake on (cases/intake.py).

    The identifiers of issue 12's terms: key case (重点件) = a case whose `key_reason` is set; lead leader (包案领导) =
    `Case.lead_leader_id`, a user of role leader; node (节点) = grievance.keycases.models.CaseNode, one step of a key
    case's plan with a clock of its own."""

    inspection = "inspection"
    backlog = "backlog"
    group_appeal = "group_appeal"
    leader_instruction = "leader_instruction"
    other = "other"


class NodeStatus(LabelledEnum):
    """Where a node (节点) of a key case's plan stands (grievance/keycases)."""

    open = "open"
    done = "done"
    removed = "removed"  # dropped by an approved plan change
    withdrawn = "withdrawn"  # the case left the department that planned it (return, re-dispatch, claim)


# Roles whose users see and act on their own department's cases only.
DEPARTMENT_ROLES = frozenset({Role.handler, Role.dept_head})
# Case types whose petitioner and content are hidden from the department they accuse.
CONFIDENTIAL_TYPES = frozenset({CaseType.report})

LABELS: dict[str, dict[str, str]] = {
    "Channel": {
        "meeting": "阳光恳谈会",
        "station": "城市驿站",
        "mobile_desk": "流动办公桌",
        "hotline": "12345热线",
        "online": "网上",
        "walk_in": "来访",
        "letter": "来信",
        "enterprise": "企业包保",
        "inspection": "巡视交办",
        "leader": "领导批办",
    },
    "CaseType": {
        "consult": "咨询",
        "help": "求助",
        "complaint": "投诉",
        "report": "举报",
        "suggestion": "建议",
        "praise": "表扬",
        "dispute": "矛盾纠纷",
        "petition": "信访",
    },
    "Urgency": {"emergency": "特急", "urgent": "紧急", "normal": "一般"},
    "Role": {
        "intake": "受理员",
        "dispatcher": "派单员",
        "handler": "承办人",
        "dept_head": "单位负责人",
        "supervisor": "督办员",
        "leader": "领导",
        "admin": "管理员",
    },
    "Outcome": {
        "answered_on_spot": "当场答复",
        "solved": "已解决",
        "explained": "已解释说明",
        "mediated": "已化解",
        "not_mediated": "未化解",
        "rejected": "不予支持",
    },
    "Satisfaction": {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"},
    "PetitionerKind": {"resident": "群众", "enterprise": "企业"},
    "KeyReason": {
        "inspection": "巡视交办",
        "backlog": "积案",
        "group_appeal": "群体诉求",
        "leader_instruction": "领导交办",
        "other": "其他",
    },
    "NodeStatus": {"open": "进行中", "done": "已完成", "removed": "已取消", "withdrawn": "已撤回"},
    # The events the supervision sweeper records (grievance/supervision/sweeper.py), no workflow's actions.
    "SystemEvent": {"auto_urge": "系统自动催办", "overdue": "已超期（系统记录）"},
    # The accounts other systems act as (users.service.system_account), by username: pages name them so
    # (users.service.account_label) whatever display name the account was created with.
    "SystemAccount": {"open311": "Open311 接入", "hotline12345": "12345平台", "petitioner": "诉求人（自评）"},
}

# The same vocabularies for English pages; tests/web/test_languages.py checks both tables name the same codes.
LABELS_EN: dict[str, dict[str, str]] = {
    "Channel": {
        "meeting": "Dialogue meeting",
        "station": "City station",
        "mobile_desk": "Mobile desk",
        "hotline": "12345 hotline",
        "online": "Online",
        "walk_in": "Walk-in",
        "letter": "Letter",
        "enterprise": "Enterprise liaison",
        "inspection": "Inspection referral",
        "leader": "Leader's referral",
    },
    "CaseType": {
        "consult": "Consultation",
        "help": "Request for help",
        "complaint": "Complaint",
        "report": "Report",
        "suggestion": "Suggestion",
        "praise": "Praise",
        "dispute": "Dispute",
        "petition": "Petition",
    },
    "Urgency": {"emergency": "Emergency", "urgent": "Urgent", "normal": "Normal"},
    "Role": {
        "intake": "Front desk",
        "dispatcher": "Dispatcher",
        "handler": "Handler",
        "dept_head": "Department head",
        "supervisor": "Supervisor",
        "leader": "Leader",
        "admin": "Administrator",
    },
    "Outcome": {
        "answered_on_spot": "Answered on the spot",
        "solved": "Solved",
        "explained": "Explained",
        "mediated": "Mediated",
        "not_mediated": "Not mediated",
        "rejected": "Not supported",
    },
    "Satisfaction": {
        "satisfied": "Satisfied",
        "basically_satisfied": "Basically satisfied",
        "unsatisfied": "Unsatisfied",
    },
    "PetitionerKind": {"resident": "Resident", "enterprise": "Enterprise"},
    "KeyReason": {
        "inspection": "Inspection referral",
        "backlog": "Backlog case",
        "group_appeal": "Group appeal",
        "leader_instruction": "Leader's instruction",
        "other": "Other",
    },
    "NodeStatus": {"open": "Open", "done": "Done", "removed": "Cancelled", "withdrawn": "Withdrawn"},
    "SystemEvent": {"auto_urge": "System: automatic urge", "overdue": "Overdue (recorded by the system)"},
    "SystemAccount": {
        "open311": "Open311 client",
        "hotline12345": "12345 platform",
        "petitioner": "Petitioner (self-rating)",
    },
}


def labels_in(locale: str) -> dict[str, dict[str, str]]:
    """Every vocabulary's labels in a page locale: English for "en", Chinese otherwise."""
    return LABELS_EN if locale == "en" else LABELS


def label_of(vocabulary: str, code: str, locale: str = "zh_CN") -> str:
    """One code's label in a locale, e.g. label_of("Channel", "station", "en") -> "City station"; an unknown
    code (an old row, a vocabulary a deployment dropped) is shown as itself rather than failing the page."""
    return labels_in(locale).get(vocabulary, {}).get(code, code)


def role_label(role: str, locale: str = "zh_CN") -> str:
    """A role's name for a message in a locale, never its code: role_label("handler") -> "承办人",
    role_label("handler", "en") -> "Handler". An unknown code is shown as itself (label_of)."""
    return label_of("Role", role, locale)


def role_labels(roles: list[str] | tuple[str, ...] | frozenset[str], locale: str = "zh_CN") -> str:
    """Several roles' names as a message lists them: "派单员、督办员" in Chinese, "Dispatcher, Supervisor" in English."""
    return ("、" if locale != "en" else ", ").join(role_label(role, locale) for role in roles)
