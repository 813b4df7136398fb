"""UI strings of readable pages (history, timeline, audit log, flash messages) and of the
permission-aware menus and buttons: English -> Chinese."""

CATALOG: dict[str, str] = {
    # buttons
    "Export CSV": "导出 CSV",
    # messages after saving and deleting
    "Deleted “%(title)s” — you can restore it from the recycle bin.": "已删除“%(title)s”，可在回收站恢复。",
    # the audit log
    "Changes to the organisation, ownership and sharing, newest first: %(n)s in all.": "组织架构、负责人和共享的变更，最新的在前：共 %(n)s 条。",
    "What happened": "内容",
    "Newer": "较新",
    "Older": "较早",
    # history and the 360° timeline
    "Timeline": "时间线",
    "Show more": "显示更多",
    # related lists with no records collapse to one line
    "None yet:": "暂无：",
}
