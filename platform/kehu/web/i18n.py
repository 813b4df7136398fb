"""UI strings in English and Chinese, and the choice of language per request.

Flask-Babel picks the locale (the user's choice in the session, else their profile, else
the browser's Accept-Language) and formats numbers and dates. UI strings are looked up in
``CATALOG`` by their English text; a meta-test checks that every string the templates and
views pass to ``_`` has a Chinese entry. Metadata labels carry both languages themselves.
"""

from __future__ import annotations

from flask import request, session
from flask_babel import get_locale

LANGUAGES = ("zh", "en")

CATALOG: dict[str, str] = {
    "Kehu CRM": "客户 CRM",
    "Sign in": "登录",
    "Sign out": "退出",
    "Username": "用户名",
    "Password": "密码",
    "Wrong username or password, or the account is deactivated.": "用户名或密码错误，或账号已停用。",
    "Please sign in to continue.": "请先登录。",
    "Home": "首页",
    "sales": "销售",
    "service": "服务",
    "marketing": "市场",
    "knowledge": "知识库",
    "analysis": "分析",
    "system": "系统",
    "New": "新建",
    "Edit": "编辑",
    "Delete": "删除",
    "Restore": "恢复",
    "Save": "保存",
    "Save & close": "保存并关闭",
    "Save & new": "保存并新建",
    "Cancel": "取消",
    "Search": "搜索",
    "Search…": "搜索…",
    "Filter": "筛选",
    "Clear": "清除",
    "Any": "全部",
    "Yes": "是",
    "No": "否",
    "from": "从",
    "to": "至",
    "min": "最小",
    "max": "最大",
    "Previous": "上一页",
    "Next": "下一页",
    "Page %(page)s of %(pages)s": "第 %(page)s / %(pages)s 页",
    "%(total)s records": "共 %(total)s 条记录",
    "Page %(page)s": "第 %(page)s 页",
    "No records match.": "没有符合条件的记录。",
    "Recycle bin": "回收站",
    "Back to list": "返回列表",
    "History": "变更历史",
    "Related": "相关记录",
    "More": "更多",
    "created the record": "创建了记录",
    "deleted the record": "删除了记录",
    "restored the record": "恢复了记录",
    "changed": "修改了",
    "empty": "空",
    "Add row": "添加行",
    "Remove": "移除",
    "Total": "合计",
    "Please correct the marked fields.": "请修改标出的字段。",
    "Saved.": "已保存。",
    "Moved to the recycle bin.": "已移入回收站。",
    "Restored.": "已恢复。",
    "Delete this record? It goes to the recycle bin and can be restored.": "删除这条记录？它将移入回收站，可以恢复。",
    "Changes made by others since you opened the record": "您打开记录后他人所做的修改",
    "Reload the record": "重新加载记录",
    "Page not found": "页面不存在",
    "Not allowed": "无权访问",
    "Something went wrong": "出错了",
    "The link may be wrong, or the record was deleted or is not visible to you.": "链接可能有误，或记录已被删除、对您不可见。",
    "Your session expired or the form is stale. Reload the page and try again.": "会话已过期或表单已失效，请刷新页面后重试。",
    "Go to the home page": "返回首页",
    "Type to search…": "输入以搜索…",
    "No matches.": "没有匹配项。",
    "Current file": "当前文件",
    "Language": "语言",
    "records": "条记录",
    "Welcome, %(name)s": "欢迎，%(name)s",
    "Your modules": "您的模块",
    "Created": "创建",
    "Updated": "修改",
    "by": "由",
    "Filters could not be applied": "部分筛选条件无效",
    "Recent changes": "最近变更",
    "Nothing here yet.": "暂无数据。",
    "Choose…": "请选择…",
}


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "zh"


def lang() -> str:
    return str(get_locale() or "zh")[:2]


def gettext(text: str, **params) -> str:
    translated = CATALOG.get(text, text) if lang() == "zh" else text
    return translated % params if params else translated
