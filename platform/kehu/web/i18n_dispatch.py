"""UI strings of the dispatch board (service requests to engineers): English -> Chinese."""

CATALOG: dict[str, str] = {
    "Dispatch": "派工",
    "Dispatch board": "派工台",
    "You may not dispatch any records.": "您无权派工。",
    "Waiting for an assignee": "待派工",
    "Open records nobody is assigned to, most urgent first, then the oldest. Choose a person and dispatch; they are notified.":
        "尚未指定处理人的未完成记录，紧急的在前，同等紧急时早的在前。选择人员并派工，对方会收到通知。",
    "Dispatch to": "派给",
    "Every open record has an assignee.": "所有未完成的记录都已派工。",
    "Choose…": "请选择…",
    "%(name)s (%(n)s open)": "%(name)s（未完成 %(n)s）",
    "Dispatched to %(name)s.": "已派给 %(name)s。",
    "Open load": "未完成工作量",
    "Open records each person is assigned to, by status.": "每人名下未完成的记录，按状态统计。",
    "deactivated": "已停用",
    "Nobody can be dispatched to yet: the rules name no one.": "暂无可派工人员：派工规则未匹配到任何人。",
    "Regions and skills": "区域与技能",
    "The dispatch rules give a record only to people whose attributes hold its value.":
        "派工规则只会把记录派给具备相应区域或技能的人员。",
}
