"""The words of the demo's cases: a case's title, description and category tell of one subject, and a resolved
case carries the department's reply to match its outcome, so lists, duplicate flags and the callback list read
like a real office's (grievance.demo_year, grievance.demo_now).

Each leaf category of config/categories.yaml has a Subject; a category a deployment added falls back to a
subject of its first level. Titles name a place (a community's building, a road's number, an enterprise), so two
cases look alike only when the demo means them to (its merged duplicates).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

STREET_NAMES = ["青桐", "白沙", "科创", "光谷", "翠湖", "云帆", "金桥", "银杏", "凤凰", "兰亭", "桂园", "枫林", "星河"]
QUARTERS = "东西南北中"


@dataclass(frozen=True)
class Subject:
    """What cases of one category are about. `problems`: (title, detail) pairs, the title following a place;
    `question`, `suggestion`: the subject of a 咨询 and of a 建议; `solved`, `explained`, `answer`: the
    department's reply to a case solved, explained (not solved, with the reason told) and answered (咨询)."""

    problems: tuple[tuple[str, str], ...]
    question: str
    suggestion: str
    solved: str
    explained: str
    answer: str


SUBJECTS: dict[str, Subject] = {
    "010101": Subject(
        (("路灯不亮", "路灯已连续多晚不亮，夜间行人出行不便"), ("路灯白天常亮", "路灯白天一直亮着，浪费电")),
        "路灯报修渠道和维修时限",
        "增设路灯",
        "已安排维修人员更换灯具和线路，现已恢复正常照明。",
        "经现场核实，该路段路灯属供电公司维护，已转交供电公司并告知诉求人报修电话。",
        "路灯故障可拨打服务热线报修，一般3个工作日内修复。",
    ),
    "010102": Subject(
        (("人行道地砖破损", "人行道地砖多处松动破损，老人和孩子容易绊倒"), ("路面坑洼积水", "路面坑洼，雨后积水严重")),
        "道路破损报修和维修安排",
        "整修人行道",
        "已组织养护单位完成路面修补，现场已恢复平整。",
        "该路段已列入下月道路改造计划，改造前先设置警示标志，已向诉求人说明。",
        "道路破损由城管局养护科负责，已登记报修，养护单位将按计划修复。",
    ),
    "010103": Subject(
        (("井盖缺失", "路边井盖缺失，存在安全隐患"), ("井盖松动有异响", "井盖松动，车辆经过时响声很大")),
        "井盖权属和维修责任",
        "更换防坠井盖",
        "已当天设置围挡，并联系权属单位更换井盖，隐患已消除。",
        "经核实井盖属通信公司所有，已督促其限期更换，并向诉求人说明。",
        "井盖由各权属单位维护，发现问题可直接报我局转办。",
    ),
    "010201": Subject(
        (("垃圾清运不及时", "小区垃圾桶满溢，两天没有清运，气味很大"), ("垃圾站异味扰民", "垃圾站夏天异味严重")),
        "垃圾分类投放时间",
        "增加垃圾清运频次",
        "已督促环卫公司每日早晚各清运一次，并对垃圾站消杀除臭。",
        "已调整清运时间；垃圾站位置经规划确定，暂无法迁移，已向诉求人解释。",
        "垃圾分类定时投放时间为早7点至9点、晚6点至8点。",
    ),
    "010202": Subject(
        (("楼顶违章搭建", "楼顶有住户搭建彩钢房，担心安全"), ("一楼住户私搭围墙", "一楼住户私自圈占绿地搭建围墙")),
        "违章搭建的认定和处理程序",
        "加强违建巡查",
        "已下达限期拆除通知书，违建已于期限内拆除。",
        "经核查该建筑有规划手续，不属违章搭建，已向诉求人出示并解释。",
        "违建由城管执法部门认定，举报后5个工作日内现场核查。",
    ),
    "010203": Subject(
        (("夜间施工噪音扰民", "工地夜间十点后仍在施工，噪音很大"), ("广场舞音响扰民", "广场舞音响声音过大，影响休息")),
        "夜间施工许可的规定",
        "规定广场活动音量和时间",
        "已责令施工单位夜间停止高噪音作业，并安排夜间巡查。",
        "该工地持有夜间连续施工许可，已要求其降低噪音并提前公告，已向诉求人说明。",
        "夜间施工须办理许可，未经许可的可随时举报。",
    ),
    "020101": Subject(
        (("项目申报材料退回", "申报的技改项目材料被退回，不清楚原因"),),
        "技改项目申报条件",
        "简化项目申报材料",
        "已安排专人指导企业补正材料，项目已重新受理。",
        "该项目不符合今年申报条件，已向企业逐条说明，并推荐了其他适用政策。",
        "申报条件和材料清单已发送企业联系人，可预约专人辅导。",
    ),
    "020102": Subject(
        (("奖补资金未到账", "去年的奖补资金至今未到账"), ("奖补资金兑现进度", "奖补资金审核已久，不清楚进度")),
        "奖补资金兑现流程",
        "缩短奖补资金兑现周期",
        "已协调财政部门完成拨付，资金已到账。",
        "该笔资金尚在审计，预计下月拨付，已告知企业审核进度。",
        "奖补资金经审核公示后拨付，一般在公示结束后20个工作日内到账。",
    ),
    "020201": Subject(
        (("营业执照变更代办", "需要变更营业执照经营范围，希望代办"), ("消防验收办理", "新厂房需要办理消防验收")),
        "证照变更所需材料",
        "推行证照联办",
        "代办员已上门收取材料，证照已办结并送达企业。",
        "因企业材料不全暂未办结，已一次性告知需补充的材料。",
        "所需材料清单已发送企业，可网上办理，也可由代办员上门服务。",
    ),
    "020202": Subject(
        (("招聘用工需求对接", "急需招聘普工30名"), ("技术工人招聘困难", "数控技工长期招不到人")),
        "稳岗补贴申领条件",
        "组织园区专场招聘会",
        "已推荐至本月专场招聘会，并协助发布岗位信息，企业已招到部分人员。",
        "已发布岗位信息，企业所需工种较紧缺，已推荐职业技能培训渠道。",
        "稳岗补贴申领条件和流程已发送企业联系人。",
    ),
    "030101": Subject(
        (("社保转移接续困难", "外地社保转入后缴费年限未合并"), ("医保报销未到账", "住院费用医保报销迟迟未到账")),
        "社保转移接续办理流程",
        "社保业务网上办理",
        "已协调社保经办机构完成转移接续，缴费年限已合并。",
        "经核实需原参保地出具凭证，已告知诉求人办理步骤。",
        "转移接续可在手机上申请，约15个工作日办结。",
    ),
    "030102": Subject(
        (("困难家庭申请临时救助", "家人重病，家庭生活困难，申请临时救助"),),
        "低保申请条件",
        "简化临时救助审批",
        "经入户核实，已发放临时救助金，并纳入社区重点关爱。",
        "经核实家庭收入超过救助标准，已说明政策并介绍其他帮扶渠道。",
        "低保申请条件和材料已告知，可到社区服务站提交申请。",
    ),
    "030201": Subject(
        (("孩子入学片区划分", "孩子今年上小学，对入学片区划分有疑问"), ("幼儿园学位紧张", "附近幼儿园报不上名")),
        "小学入学报名材料",
        "新建一所幼儿园",
        "已协调教育部门为孩子安排附近学校学位。",
        "入学片区按户籍和房产确定，已向诉求人说明划分依据。",
        "入学报名材料清单和报名时间已告知。",
    ),
    "030202": Subject(
        (("社区卫生服务站开放时间短", "社区卫生服务站周末不开门，看病不便"),),
        "家庭医生签约办法",
        "延长社区卫生服务站开放时间",
        "社区卫生服务站已增加周末上午门诊。",
        "受医务人员编制所限暂不能延长，已告知附近可就诊的医疗机构。",
        "家庭医生可在社区卫生服务站签约，签约免费。",
    ),
    "040101": Subject(
        (("物业费纠纷", "与物业公司因收费标准产生纠纷"), ("物业服务纠纷", "物业长期不维修电梯，业主拒交物业费")),
        "物业费收费标准",
        "规范物业收费公示",
        "经调解，物业公司同意按核定标准收费，双方达成一致。",
        "物业收费符合合同约定，已向业主解释。",
        "物业收费标准以备案合同为准，可到社区查询。",
    ),
    "040102": Subject(
        (
            ("楼上漏水邻里纠纷", "楼上卫生间漏水，多次协商未果"),
            ("装修噪音邻里矛盾", "邻居装修时间不规范，双方发生争执"),
        ),
        "装修施工时间的规定",
        "小区公约约定装修时间",
        "经社区调解，双方就维修和赔偿达成一致。",
        "已向双方说明相关规定，建议双方协商处理。",
        "装修施工时间为工作日8点至12点、14点至18点。",
    ),
    "040201": Subject(
        (("工资拖欠三个月", "在工地务工，被拖欠工资三个月"),),
        "欠薪维权途径",
        "建立工地工资专户",
        "经调解，用工单位已结清拖欠工资。",
        "经核实双方存在劳务合同争议，已告知可申请劳动仲裁。",
        "可向劳动监察部门投诉，也可申请劳动仲裁。",
    ),
    "050101": Subject(
        (("征迁补偿标准疑问", "对房屋征收补偿标准有疑问"), ("征迁补偿款发放进度", "签约后补偿款尚未发放")),
        "房屋征收补偿标准",
        "公开征迁补偿测算明细",
        "已向诉求人逐项解释补偿测算，补偿款已发放到位。",
        "补偿标准按已公布方案执行，已向诉求人详细解释。",
        "征收补偿标准已公开在征迁办公示栏，可预约工作人员讲解。",
    ),
    "050102": Subject(
        (("安置房交付时间", "安置房迟迟未交付，想了解交付时间"), ("过渡费发放", "过渡费本季度还没有发放")),
        "安置房选房办法",
        "公布安置房建设进度",
        "已核实发放过渡费，并告知安置房交付时间。",
        "安置房因工程进度延期交付，已说明进度并按期发放过渡费。",
        "选房按签约顺序进行，具体安排将提前通知。",
    ),
}
ON_SPOT = "已当场答复："
MEDIATED = "经调解中心组织双方调解，达成一致意见并签订调解协议。"
NOT_MEDIATED = "经组织调解，双方未能达成一致，已告知当事人可依法申请仲裁或向人民法院起诉。"
PRAISE_REPLY = "已将表扬转达承办单位和工作人员，感谢您的支持。"
REJECTED = "经审核，该诉求不属于受理范围，已告知诉求人向有关部门反映。"
SUGGESTION_REPLY = "感谢您的建议，已转有关部门研究，将结合实际逐步推进。"


def subject_of(category: str) -> Subject:
    """The Subject of a category code; for a code it does not know, the first Subject of the same first
    level (the first two digits), else of 城市管理."""
    if category in SUBJECTS:
        return SUBJECTS[category]
    return next((s for code, s in SUBJECTS.items() if code[:2] == category[:2]), SUBJECTS["010101"])


def place(rng: random.Random) -> str:
    """A place in the demo zone: a building of a community or a number of a road."""
    street = rng.choice(STREET_NAMES)
    if rng.random() < 0.6:
        return f"{street}{rng.choice(QUARTERS)}社区{rng.randint(1, 30)}栋"
    return f"{street}路{rng.randint(1, 120) * 3}号附近"


def case_text(rng: random.Random, category: str, case_type: str, enterprise: str | None = None) -> tuple[str, str]:
    """(title, description) of a case of `category` and `case_type`, both about the category's subject; at a
    place, or for `enterprise` (its name) when given."""
    subject = subject_of(category)
    where = enterprise or place(rng)
    problem, detail = rng.choice(subject.problems)
    if case_type in ("consult", "suggestion"):
        asker = enterprise or f"{rng.choice(STREET_NAMES)}{rng.choice(QUARTERS)}社区{rng.randint(1, 30)}栋居民"
        if case_type == "consult":
            return f"{asker}咨询{subject.question}", f"{asker}咨询{subject.question}，希望工作人员解答。"
        return f"{asker}建议{subject.suggestion}", f"{asker}反映{detail}，建议{subject.suggestion}。"
    if case_type == "praise":
        return f"表扬及时解决{where}{problem}", f"此前反映{where}{detail}，很快得到解决，特此表扬。"
    prefix = {"complaint": "投诉", "report": "举报"}.get(case_type, "")
    who = enterprise or f"{where}居民"
    return f"{prefix}{where}{problem}", f"{who}反映：{detail}，请尽快处理。"


def reply_text(category: str, case_type: str, outcome: str) -> str:
    """The department's reply (办理结果/回复) to a case resolved with `outcome`, about its category's subject."""
    subject = subject_of(category)
    if outcome == "answered_on_spot":
        return ON_SPOT + subject.answer
    if outcome == "mediated":
        return MEDIATED
    if outcome == "not_mediated":
        return NOT_MEDIATED
    if case_type == "praise":
        return PRAISE_REPLY
    if case_type == "suggestion":
        return SUGGESTION_REPLY
    if outcome == "rejected":
        return REJECTED
    if case_type == "consult":
        return subject.answer
    return subject.explained if outcome == "explained" else subject.solved


def add_replies(rows: list[dict[str, object]]) -> None:
    """Give every resolved row (one with an outcome) that has no reply its department's reply; in place."""
    for row in rows:
        if row.get("outcome") and not row.get("reply"):
            row["reply"] = reply_text(str(row["category"]), str(row["case_type"]), str(row["outcome"]))
