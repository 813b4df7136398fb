"""UI strings of the workbench (the landing page), favourites and notifications: English -> Chinese."""

CATALOG: dict[str, str] = {
    # the page
    "Workbench": "工作台",
    "At a glance": "概览",
    "Overdue activities": "逾期活动",
    "Approvals waiting": "待审批",
    "Unread notifications": "未读通知",
    "Modules": "功能模块",
    "Show all": "查看全部",
    "%(shown)s of %(total)s shown": "显示 %(shown)s 条，共 %(total)s 条",
    "Today": "今天",
    "Tomorrow": "明天",
    "Yesterday": "昨天",
    "Overdue": "已逾期",
    # my schedule and reminders
    "My schedule": "我的日程",
    "Open activities due today or earlier, assigned to me.": "今天及之前到期、由我执行的未完成活动。",
    "%(n)s overdue": "%(n)s 项逾期",
    "Nothing due today.": "今天没有待办活动。",
    "Still open from earlier days": "之前未完成的",
    "Assigned to me": "分配给我的",
    "Upcoming reminders": "近期提醒",
    "No reminders in the next 7 days.": "未来 7 天没有提醒。",
    # notifications
    "Notifications": "通知",
    "Mark as read": "标为已读",
    "Mark all read": "全部标为已读",
    "No unread notifications.": "没有未读通知。",
    "%(n)s more unread": "另有 %(n)s 条未读",
    # approvals
    "Approvals": "审批",
    "Approvals waiting for me": "待我审批",
    "Nothing waits for your approval.": "没有待您审批的事项。",
    "Open the approval inbox": "打开审批中心",
    "from %(name)s": "提交人：%(name)s",
    # my pipeline
    "My open opportunities": "我的进行中商机",
    "No open opportunities.": "没有进行中的商机。",
    "My open service requests": "我的未结服务请求",
    "No open service requests.": "没有未结的服务请求。",
    "As engineer": "我负责处理的",
    "Owned by me": "我负责的",
    # recent and favourites
    "My recent customers": "最近处理的客户",
    "Customers you create or change appear here.": "您新建或修改过的客户会显示在这里。",
    "My favourites": "我的收藏",
    "Star a record on its page (☆) to keep it here.": "在记录页面点击星标（☆）即可收藏到这里。",
    "Favourite": "收藏",
    "Add to my favourites": "加入我的收藏",
    "Remove from my favourites": "取消收藏",
}
