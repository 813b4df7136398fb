"""UI strings of the approval lock, the recycle bin and the fault pages (database down, schema
not migrated, disk full, a form sent twice): English -> Chinese."""

CATALOG: dict[str, str] = {
    "Cancelled: the record was deleted": "已取消：记录已被删除",
    "deleted the record; its approval was cancelled": "删除了记录，其审批已取消",
    "Waiting for approval: these stay with %(from)s": "正在审批中：以下记录仍归 %(from)s",
    "A record waiting for approval keeps its owner until the approval is decided or recalled. Transfer again afterwards to move them.":
        "正在审批的记录在审批完成或撤回之前保持原负责人。之后再次转移即可。",
    "Changed meanwhile": "已被他人修改",
    "changed": "已修改",
    "changed it": "修改了记录",
    "deleted it": "删除了记录",
    "restored it": "恢复了记录",
}
