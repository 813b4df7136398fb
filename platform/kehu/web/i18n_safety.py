"""UI strings of input safety (exports, refused input, the last-resort data error): English -> Chinese."""

CATALOG: dict[str, str] = {
    "Export CSV": "导出 CSV",
    "Download the records that match as a CSV file": "将符合条件的记录下载为 CSV 文件",
    "A value could not be stored: a number is out of range, a text is too long or holds a character that cannot be stored. Nothing was changed.":
        "有值无法保存：数字超出范围，或文本过长、含有无法保存的字符。未做任何修改。",
    "Invalid input": "输入无效",
}
