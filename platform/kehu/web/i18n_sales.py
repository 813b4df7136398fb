"""UI strings of the sales chain (lead conversion, record actions): English -> Chinese."""

CATALOG: dict[str, str] = {
    # lead conversion
    "Convert": "转化",
    "Convert lead": "转化线索",
    "The lead becomes a customer, a contact and, if you like, an opportunity. All are saved together, or none.":
        "线索将转为客户、联系人，并可同时创建商机。全部一起保存，或全部不保存。",
    "Create a new customer": "新建客户",
    "Link an existing customer": "关联已有客户",
    "Existing customer": "已有客户",
    "Create a new contact": "新建联系人",
    "Link an existing contact of the customer": "关联该客户的已有联系人",
    "Existing contact": "已有联系人",
    "No contact": "不创建联系人",
    "Also create an opportunity": "同时创建商机",
    "Possible duplicates": "可能重复",
    "These records you can see look like the ones the conversion would create. Link one of them instead, or create new ones anyway.":
        "以下是您可查看的、与将要创建的记录相似的记录。可改为关联其中一条，或仍然新建。",
    "same name": "名称相同",
    "same tax number": "纳税人识别号相同",
    "same mobile": "手机相同",
    "Link this one": "关联此记录",
    "Create new records anyway": "仍然新建记录",
    "Lead converted: %(what)s.": "线索已转化：%(what)s。",
    "This lead has already been converted.": "此线索已经转化过了。",
    "An unqualified lead is not converted; mark it qualified first.": "无效线索不能转化；请先将其改为有效线索。",
}
