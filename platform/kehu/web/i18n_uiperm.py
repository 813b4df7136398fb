"""UI strings of readable pages (history, timeline, audit log, flash messages) and of the
permission-aware menus and buttons: English -> Chinese."""

CATALOG: dict[str, str] = {
    # buttons
    "Export CSV": "导出 CSV",
    # history and the 360° timeline
    "Timeline": "时间线",
    "Show more": "显示更多",
    # related lists with no records collapse to one line
    "None yet:": "暂无：",
}
