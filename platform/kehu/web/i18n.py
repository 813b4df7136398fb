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
    # record actions, as the permission explanation names them
    "read": "查看",
    "write": "修改",
    "delete": "删除",
    "export": "导出",
    "assign": "分配",
    "share": "共享",
    # top bar
    "System": "系统管理",
    "Organisation": "组织",
    "My team": "我的团队",
    # system pages
    "Only administrators can open the system pages.": "只有管理员可以打开系统管理页面。",
    "Users": "用户",
    "User": "用户",
    "New user": "新建用户",
    "Edit user": "编辑用户",
    "User %(name)s created.": "已创建用户 %(name)s。",
    "Name": "姓名",
    "E-mail": "邮箱",
    "Department": "部门",
    "Departments": "部门",
    "Roles": "角色",
    "Teams": "团队",
    "Team": "团队",
    "Status": "状态",
    "Active": "在职",
    "Deactivated": "已停用",
    "Administrator": "管理员",
    "None": "无",
    "Choose from the list.": "请从列表中选择。",
    "No teams yet.": "暂无团队。",
    "Can change the organisation and see every record": "可修改组织架构并查看全部记录",
    "Can sign in": "可以登录",
    "Reset password": "重置密码",
    "New password": "新密码",
    "Set password": "设置密码",
    "The password of %(name)s was changed; their other sessions are signed out.": "%(name)s 的密码已修改；其其他会话已退出。",
    "New department": "新建部门",
    "Edit department": "编辑部门",
    "Department %(name)s created.": "已创建部门 %(name)s。",
    "No such department.": "没有这个部门。",
    "English name": "英文名称",
    "Parent department": "上级部门",
    "None (top level)": "无（顶级部门）",
    "Manager": "部门负责人",
    "Department name": "部门名称",
    "Team name": "团队名称",
    "Select all": "全选",
    "Sub-department": "下级部门",
    "New team": "新建团队",
    "Team %(name)s created.": "已创建团队 %(name)s。",
    "No such team.": "没有这个团队。",
    "Members": "成员",
    "Set members": "设置成员",
    "Transfer records": "转移记录",
    "When someone leaves, give every record they own to a colleague. Lines follow their parent record.":
        "有人离职时，将其负责的全部记录交给一位同事。明细行随其上级记录一起转移。",
    "From (the user who leaves)": "转出人（离职人员）",
    "To (who takes over)": "接收人",
    "Choose the user who leaves.": "请选择转出人。",
    "Choose who takes over.": "请选择接收人。",
    "Choose a different user.": "请选择另一位用户。",
    "Preview": "预览",
    "%(from)s owns these records; they will go to %(to)s": "%(from)s 负责以下记录，将转给 %(to)s",
    "Records": "记录",
    "Count": "数量",
    "Moved": "已转移",
    "Transfer these records": "转移这些记录",
    "This user owns no records.": "该用户没有负责的记录。",
    "The records of %(from)s now belong to %(to)s.": "%(from)s 的记录现已归 %(to)s 负责。",
    "Audit log": "审计日志",
    "The latest %(n)s changes to the organisation, ownership and sharing.": "组织架构、负责人和共享的最近 %(n)s 条变更。",
    "Time": "时间",
    "Who": "操作人",
    "Action": "操作",
    "Entity": "对象",
    "Record": "记录",
    "Detail": "详情",
    # owner and sharing on record pages
    "Owner and sharing": "负责人与共享",
    "Owner": "负责人",
    "Assign to": "分配给",
    "Assign": "分配",
    "Assign to me": "分配给我",
    "Assigned to %(name)s.": "已分配给 %(name)s。",
    "Assign selected to…": "将所选记录分配给…",
    "Select": "选择",
    "Tick the records to assign first.": "请先勾选要分配的记录。",
    "%(count)s records assigned to %(name)s.": "已将 %(count)s 条记录分配给 %(name)s。",
    "Shared with": "共享对象",
    "Share with": "共享给",
    "Access": "权限",
    "Read only": "只读",
    "Read and write": "可读写",
    "Granted by": "授权人",
    "When": "时间",
    "Revoke": "撤销",
    "Share": "共享",
    "Shared.": "已共享。",
    "Share removed.": "已撤销共享。",
    "Not shared with anyone.": "尚未共享给任何人。",
    "Why can this user see this record?": "为什么该用户能看到这条记录？",
    "Explain": "查看原因",
    "Only administrators can see why someone may use a record.": "只有管理员可以查看他人对记录的权限原因。",
    "What %(name)s may do with this record, by their own roles, department, teams and the shares:":
        "按 %(name)s 自己的角色、部门、团队及共享，其对这条记录可执行的操作：",
    "Allowed": "允许",
    "Reason": "原因",
    # my team
    "Open opportunities": "进行中的商机",
    "Activities in the last 14 days": "近 14 天的活动",
    "Customers": "客户",
    "You cannot see these records.": "您无权查看这些记录。",
    "Nobody reports to you: you do not manage a department, or it has no one else in it.":
        "没有下属：您不负责任何部门，或部门中没有其他人。",
}

# strings of each area's pages live beside their views' modules
from kehu.web.i18n_approvals import CATALOG as _APPROVALS  # noqa: E402
from kehu.web.i18n_dispatch import CATALOG as _DISPATCH  # noqa: E402
from kehu.web.i18n_integrity import CATALOG as _INTEGRITY  # noqa: E402
from kehu.web.i18n_safety import CATALOG as _SAFETY  # noqa: E402
from kehu.web.i18n_sales import CATALOG as _SALES  # noqa: E402
from kehu.web.i18n_uiperm import CATALOG as _UIPERM  # noqa: E402
from kehu.web.i18n_workbench import CATALOG as _WORKBENCH  # noqa: E402

for _catalog in (_APPROVALS, _DISPATCH, _INTEGRITY, _SAFETY, _SALES, _UIPERM, _WORKBENCH):
    CATALOG.update(_catalog)


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
