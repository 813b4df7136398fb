"""Demo data: a Chinese IT distributor / integrator with a few thousand realistic records.

:func:`load_demo` creates the staff logins and fills every entity through
:meth:`RecordService.create`, so validation, coding rules, formulas and history apply to
each row exactly as they do to a row typed into a form. The output is deterministic: one
``random.Random(seed)`` drives every choice and all business dates are offsets from the fixed
:data:`ANCHOR` (only the system stamps ``created_at``/``updated_at`` and the date part of the
autonumber codes follow the clock).

Counts scale with ``scale`` (at least one of each). The product catalogue and the category
tree are reference data and stop at the size of the built-in catalogue.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from kehu.errors import RecordInvalid
from kehu.site import SYSTEM_ACTOR

DEMO_PASSWORD = "kehu2026"
ANCHOR = dt.date(2026, 11, 1)
ANCHOR_TIME = dt.datetime(2026, 11, 1, 0, 0)

BASE_COUNTS = {
    "product_category": 40, "product": 200, "campaign": 20, "customer": 1500, "contact": 3000,
    "lead": 800, "opportunity": 1200, "quote": 400, "sales_order": 300, "return_order": 40,
    "activity": 3000, "service_request": 500, "repair_order": 150, "feedback": 200,
    "knowledge_article": 80,
}

# username, display name, role description, is_admin, kind, sales team
STAFF = (
    ("admin", "系统管理员", "系统管理员", True, "admin", None),
    ("zhangwei", "张伟", "总经理", False, "gm", None),
    ("sunli", "孙丽", "销售总监", False, "sales_director", None),
    ("liqiang", "李强", "销售经理（西北西南大区）", False, "sales_manager", "west"),
    ("wangfang", "王芳", "销售经理（华北华东华南大区）", False, "sales_manager", "east"),
    ("zhaolei", "赵磊", "销售代表", False, "rep", "west"),
    ("liuyang", "刘洋", "销售代表", False, "rep", "west"),
    ("chenjing", "陈静", "销售代表", False, "rep", "west"),
    ("yangfan", "杨帆", "销售代表", False, "rep", "east"),
    ("huangli", "黄丽", "销售代表", False, "rep", "east"),
    ("zhoujie", "周杰", "服务经理", False, "service_manager", None),
    ("wuhao", "吴昊", "服务工程师", False, "engineer", None),
    ("sunpeng", "孙鹏", "服务工程师", False, "engineer", None),
    ("zhengxue", "郑雪", "市场专员", False, "marketing", None),
    ("qianyu", "钱宇", "产品专员", False, "product", None),
    ("zhoumin", "周敏", "财务经理", False, "finance", None),
    ("machao", "马超", "仓储经理", False, "warehouse", None),
    ("linna", "林娜", "商务经理", False, "commerce", None),
)

# key, name, English name, parent key, manager username: three levels under the GM's office
DEPARTMENTS = (
    ("gm_office", "总经理办公室", "General manager's office", None, "zhangwei"),
    ("sales_division", "销售事业部", "Sales division", "gm_office", "sunli"),
    ("sales_west", "销售一部（西北西南）", "Sales 1 (north-west & south-west)", "sales_division", "liqiang"),
    ("sales_east", "销售二部（华北华东华南）", "Sales 2 (north, east & south)", "sales_division", "wangfang"),
    ("service", "技术支持与售后服务部", "Technical support & service", "gm_office", "zhoujie"),
    ("marketing", "市场部", "Marketing", "gm_office", "zhengxue"),
    ("product", "产品部", "Product management", "gm_office", "qianyu"),
    ("finance", "财务部", "Finance", "gm_office", "zhoumin"),
    ("warehouse", "仓储部", "Warehouse", "gm_office", "machao"),
    ("commerce", "商务部", "Commerce", "gm_office", "linna"),
)

# department codes are the keys of the 'department' picklist where one fits, so feedback
# routed to a department reaches its manager (workflows/feedback_routing.yaml)
DEPARTMENT_CODES = {"gm_office": "general_office", "sales_division": "sales"}

# kind of staff -> (roles, department key; None: by sales team)
PLACEMENT = {
    "admin": (("system_admin",), "gm_office"),
    "gm": (("general_manager",), "gm_office"),
    "sales_director": (("sales_manager",), "sales_division"),
    "sales_manager": (("sales_manager",), None),
    "rep": (("sales_rep",), None),
    "service_manager": (("service_manager",), "service"),
    "engineer": (("service_engineer",), "service"),
    "marketing": (("marketing",), "marketing"),
    "product": (("product_maintainer",), "product"),
    "finance": (("order_reviewer",), "finance"),
    "warehouse": (("order_reviewer",), "warehouse"),
    "commerce": (("order_reviewer",), "commerce"),
}

WEST = {"shaanxi", "gansu", "ningxia", "qinghai", "xinjiang", "sichuan", "chongqing", "henan"}

# ------------------------------------------------------------------ geography
# city key: (telephone area code, digits of a local number, postal code prefix)
CITY_INFO = {
    "beijing": ("010", 8, "100"), "tianjin": ("022", 8, "300"), "shanghai": ("021", 8, "200"),
    "chongqing": ("023", 8, "400"), "xian": ("029", 8, "710"), "baoji": ("0917", 7, "721"),
    "xianyang": ("029", 8, "712"), "yulin": ("0912", 7, "719"), "hanzhong": ("0916", 7, "723"),
    "lanzhou": ("0931", 7, "730"), "tianshui": ("0938", 7, "741"), "jiuquan": ("0937", 7, "735"),
    "jiayuguan": ("0937", 7, "735"), "yinchuan": ("0951", 7, "750"), "shizuishan": ("0952", 7, "753"),
    "guyuan": ("0954", 7, "756"), "xining": ("0971", 7, "810"), "haidong": ("0972", 7, "810"),
    "wulumuqi": ("0991", 7, "830"), "kelamayi": ("0990", 7, "834"), "hami": ("0902", 7, "839"),
    "chengdu": ("028", 8, "610"), "mianyang": ("0816", 7, "621"), "deyang": ("0838", 7, "618"),
    "yibin": ("0831", 7, "644"), "zhengzhou": ("0371", 8, "450"), "luoyang": ("0379", 8, "471"),
    "kaifeng": ("0371", 8, "475"), "wuhan": ("027", 8, "430"), "yichang": ("0717", 7, "443"),
    "xiangyang": ("0710", 7, "441"), "jinan": ("0531", 8, "250"), "qingdao": ("0532", 8, "266"),
    "yantai": ("0535", 7, "264"), "weifang": ("0536", 7, "261"), "nanjing": ("025", 8, "210"),
    "suzhou": ("0512", 8, "215"), "wuxi": ("0510", 8, "214"), "changzhou": ("0519", 8, "213"),
    "hangzhou": ("0571", 8, "310"), "ningbo": ("0574", 8, "315"), "wenzhou": ("0577", 8, "325"),
    "jiaxing": ("0573", 8, "314"), "guangzhou": ("020", 8, "510"), "shenzhen": ("0755", 8, "518"),
    "dongguan": ("0769", 8, "523"), "foshan": ("0757", 8, "528"), "zhuhai": ("0756", 7, "519"),
}
# the company sits in Xi'an: most customers are in the north-west
CITY_WEIGHT = {
    "xian": 30, "lanzhou": 10, "yinchuan": 5, "xining": 4, "wulumuqi": 5, "baoji": 4, "xianyang": 4,
    "chengdu": 7, "chongqing": 5, "zhengzhou": 4, "beijing": 5, "shanghai": 4, "shenzhen": 3,
    "guangzhou": 3, "hangzhou": 3, "nanjing": 3, "wuhan": 3, "jinan": 2, "qingdao": 2, "suzhou": 2,
}
PROVINCE_CODE = {
    "beijing": "11", "tianjin": "12", "shanghai": "31", "chongqing": "50", "shaanxi": "61", "gansu": "62",
    "qinghai": "63", "ningxia": "64", "xinjiang": "65", "sichuan": "51", "henan": "41", "hubei": "42",
    "shandong": "37", "jiangsu": "32", "zhejiang": "33", "guangdong": "44",
}
STREETS = ("科技路", "高新路", "锦业路", "唐延路", "科技二路", "长安南路", "建设路", "人民路", "解放路",
           "中山路", "东风路", "南京路", "文化路", "朝阳路", "团结路", "天府大道", "金水路", "和平路",
           "滨河路", "光华大道", "创业路", "软件园路", "新华路", "胜利路", "西湖大道", "丈八一路")
BUILDINGS = ("国际大厦", "科技大厦", "金融中心", "商务广场", "创业大厦", "软件园", "时代广场", "中心大厦",
             "信息大厦", "国贸中心", "总部经济园", "企业孵化园")
BANKS = ("中国工商银行", "中国建设银行", "中国银行", "中国农业银行", "交通银行", "招商银行", "浦发银行",
         "兴业银行", "中信银行", "西安银行", "兰州银行", "长安银行")
BANK_BRANCHES = ("高新支行", "经开支行", "城东支行", "城西支行", "南大街支行", "营业部", "科技路支行", "分行营业部")

# --------------------------------------------------------------- company names
BRAND_A = (("华", "hua"), ("金", "jin"), ("瑞", "rui"), ("恒", "heng"), ("博", "bo"), ("天", "tian"),
           ("宏", "hong"), ("鑫", "xin"), ("中", "zhong"), ("新", "xin"), ("通", "tong"), ("永", "yong"),
           ("盛", "sheng"), ("泰", "tai"), ("嘉", "jia"), ("安", "an"), ("正", "zheng"), ("东", "dong"),
           ("德", "de"), ("信", "xin"), ("创", "chuang"), ("远", "yuan"), ("海", "hai"), ("联", "lian"),
           ("长", "chang"), ("兴", "xing"), ("汇", "hui"), ("益", "yi"), ("卓", "zhuo"), ("万", "wan"))
BRAND_B = (("信", "xin"), ("诚", "cheng"), ("达", "da"), ("通", "tong"), ("远", "yuan"), ("成", "cheng"),
           ("源", "yuan"), ("泰", "tai"), ("盛", "sheng"), ("明", "ming"), ("辉", "hui"), ("科", "ke"),
           ("拓", "tuo"), ("诺", "nuo"), ("航", "hang"), ("锐", "rui"), ("博", "bo"), ("峰", "feng"),
           ("腾", "teng"), ("宇", "yu"), ("鼎", "ding"), ("业", "ye"), ("华", "hua"), ("凯", "kai"),
           ("瀚", "han"), ("维", "wei"), ("邦", "bang"), ("睿", "rui"), ("恒", "heng"), ("昌", "chang"))
# industry word, domain suffix, industry key (plugin keys fall back to the second), weight, business
INDUSTRY_WORDS = (
    ("电子科技", "tech", ("it_services", "it_services"), 10, "计算机及外围设备销售、系统集成与技术服务"),
    ("信息技术", "it", ("system_integration", "it_services"), 9, "信息系统集成、网络工程及运维服务"),
    ("网络科技", "net", ("it_services", "it_services"), 6, "网络工程、综合布线及安防监控工程"),
    ("软件", "soft", ("software", "software"), 5, "行业应用软件开发与实施"),
    ("计算机系统", "cs", ("system_integration", "it_services"), 3, "计算机系统集成及数据中心建设"),
    ("数码科技", "digital", ("hardware_distribution", "distribution"), 3, "数码产品及办公设备分销"),
    ("商贸", "trade", ("distribution", "distribution"), 8, "日用百货、办公用品批发零售"),
    ("贸易", "trading", ("distribution", "distribution"), 5, "进出口贸易及国内商品批发"),
    ("机械制造", "machinery", ("manufacturing", "manufacturing"), 5, "通用机械设备研发与制造"),
    ("电气设备", "electric", ("manufacturing", "manufacturing"), 3, "输配电及控制设备制造"),
    ("化工", "chem", ("manufacturing", "manufacturing"), 2, "精细化工产品生产与销售"),
    ("食品", "food", ("manufacturing", "manufacturing"), 2, "食品生产加工及销售"),
    ("建设工程", "build", ("construction", "construction"), 5, "房屋建筑及市政工程施工"),
    ("房地产开发", "estate", ("real_estate", "real_estate"), 3, "房地产开发与经营"),
    ("物业管理", "wy", ("real_estate", "real_estate"), 2, "住宅及商业物业管理服务"),
    ("物流", "logistics", ("logistics", "logistics"), 4, "仓储配送及城际货运"),
    ("医疗器械", "med", ("healthcare", "healthcare"), 3, "医疗器械经营及售后服务"),
    ("医药", "pharma", ("healthcare", "healthcare"), 2, "药品批发及连锁零售"),
    ("能源", "energy", ("energy", "energy"), 3, "油气技术服务及能源工程"),
    ("新能源科技", "newenergy", ("energy", "energy"), 2, "光伏电站建设与运维"),
    ("汽车销售服务", "auto", ("automotive", "automotive"), 3, "品牌汽车销售、维修及配件"),
    ("文化传媒", "media", ("media", "media"), 3, "广告策划、影视制作及活动执行"),
    ("农业科技", "agri", ("agriculture", "agriculture"), 2, "现代农业技术推广及农产品销售"),
    ("酒店管理", "hotel", ("hospitality", "hospitality"), 2, "酒店经营管理及餐饮服务"),
    ("通信技术", "comm", ("telecom", "telecom"), 3, "通信网络工程及运营商代维服务"),
    ("教育科技", "edu", ("education", "education"), 2, "职业教育培训及智慧校园建设"),
    ("环保科技", "eco", ("other", "other"), 2, "环保设备及污水处理工程"),
    ("投资管理", "invest", ("finance", "finance"), 1, "股权投资及资产管理"),
)
SHORT_WORDS = {"房地产开发": "地产", "建设工程": "建设", "汽车销售服务": "汽车", "医疗器械": "医疗", "新能源科技": "新能源",
               "计算机系统": "计算机", "物业管理": "物业", "投资管理": "投资", "酒店管理": "酒店"}
COMPANY_SUFFIX = (("有限公司", 80), ("有限责任公司", 12), ("股份有限公司", 8))
INSTITUTIONS = (
    ("{city}市第{n}中学", "education", "中等教育"),
    ("{city}市第{n}人民医院", "healthcare", "医疗卫生服务"),
    ("{city}{w}职业技术学院", "education", "高等职业教育"),
    ("{city}市{w}信息中心", "government", "政务信息化建设及运维"),
)
INSTITUTION_WORDS = {
    2: ("信息", "交通", "工业", "科技", "财经", "电子", "航空", "能源化工"),
    3: ("公共资源交易", "不动产登记", "医疗保障", "人力资源和社会保障", "大数据管理", "住房公积金管理"),
}
CN_DIGITS = "零一二三四五六七八九"

# ---------------------------------------------------------------- people
SURNAMES = (("王", "wang", 10), ("李", "li", 10), ("张", "zhang", 9), ("刘", "liu", 7), ("陈", "chen", 6),
            ("杨", "yang", 4), ("黄", "huang", 3), ("赵", "zhao", 3), ("吴", "wu", 3), ("周", "zhou", 3),
            ("徐", "xu", 2), ("孙", "sun", 2), ("马", "ma", 2), ("朱", "zhu", 2), ("胡", "hu", 2),
            ("郭", "guo", 2), ("何", "he", 2), ("高", "gao", 2), ("林", "lin", 2), ("罗", "luo", 2),
            ("郑", "zheng", 1), ("梁", "liang", 1), ("谢", "xie", 1), ("宋", "song", 1), ("唐", "tang", 1),
            ("许", "xu", 1), ("韩", "han", 1), ("冯", "feng", 1), ("邓", "deng", 1), ("曹", "cao", 1),
            ("彭", "peng", 1), ("曾", "zeng", 1), ("肖", "xiao", 1), ("田", "tian", 1), ("董", "dong", 1),
            ("袁", "yuan", 1), ("潘", "pan", 1), ("蒋", "jiang", 1), ("蔡", "cai", 1), ("杜", "du", 1),
            ("叶", "ye", 1), ("程", "cheng", 1), ("魏", "wei", 1), ("吕", "lv", 1), ("任", "ren", 1),
            ("姚", "yao", 1), ("崔", "cui", 1), ("雷", "lei", 1), ("贺", "he", 1), ("薛", "xue", 1))
MALE_ONE = (("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("勇", "yong"), ("杰", "jie"),
            ("涛", "tao"), ("斌", "bin"), ("超", "chao"), ("刚", "gang"), ("鹏", "peng"), ("辉", "hui"),
            ("浩", "hao"), ("凯", "kai"), ("峰", "feng"), ("毅", "yi"))
MALE_FIRST = (("建", "jian"), ("志", "zhi"), ("国", "guo"), ("文", "wen"), ("海", "hai"), ("晓", "xiao"),
              ("俊", "jun"), ("宏", "hong"), ("子", "zi"), ("天", "tian"), ("家", "jia"), ("振", "zhen"),
              ("立", "li"), ("永", "yong"), ("春", "chun"), ("明", "ming"))
MALE_SECOND = (("军", "jun"), ("强", "qiang"), ("华", "hua"), ("明", "ming"), ("平", "ping"), ("伟", "wei"),
               ("杰", "jie"), ("涛", "tao"), ("宇", "yu"), ("辉", "hui"), ("林", "lin"), ("峰", "feng"),
               ("波", "bo"), ("东", "dong"), ("龙", "long"), ("斌", "bin"))
FEMALE_ONE = (("丽", "li"), ("静", "jing"), ("敏", "min"), ("燕", "yan"), ("艳", "yan"), ("娟", "juan"),
              ("霞", "xia"), ("芳", "fang"), ("娜", "na"), ("婷", "ting"), ("雪", "xue"), ("琳", "lin"),
              ("颖", "ying"), ("倩", "qian"), ("洁", "jie"), ("璐", "lu"))
FEMALE_FIRST = (("晓", "xiao"), ("秀", "xiu"), ("丽", "li"), ("雅", "ya"), ("欣", "xin"), ("思", "si"),
                ("佳", "jia"), ("美", "mei"), ("春", "chun"), ("玉", "yu"), ("雨", "yu"), ("梦", "meng"),
                ("慧", "hui"), ("淑", "shu"), ("文", "wen"), ("海", "hai"))
FEMALE_SECOND = (("丽", "li"), ("静", "jing"), ("敏", "min"), ("燕", "yan"), ("红", "hong"), ("娟", "juan"),
                 ("霞", "xia"), ("芳", "fang"), ("琳", "lin"), ("婷", "ting"), ("雯", "wen"), ("妍", "yan"),
                 ("萍", "ping"), ("颖", "ying"), ("洁", "jie"), ("怡", "yi"))
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
                   "155", "156", "157", "158", "159", "166", "173", "176", "177", "180", "181", "182", "183",
                   "185", "186", "187", "188", "189", "191", "198", "199")
# job title, department, purchase role, weight
TITLES = (
    ("总经理", "总经理办公室", "decision_maker", 6), ("副总经理", "总经理办公室", "decision_maker", 5),
    ("董事长", "董事会", "decision_maker", 2), ("采购经理", "采购部", "purchaser", 10),
    ("采购专员", "采购部", "purchaser", 7), ("IT主管", "信息部", "technical", 10),
    ("信息中心主任", "信息中心", "technical", 5), ("网络管理员", "信息部", "user", 8),
    ("技术总监", "技术部", "influencer", 4), ("项目经理", "工程部", "influencer", 6),
    ("财务经理", "财务部", "finance", 5), ("出纳", "财务部", "finance", 2),
    ("行政主管", "行政部", "user", 6), ("办公室主任", "办公室", "influencer", 5),
    ("运维工程师", "信息部", "user", 4), ("销售总监", "销售部", "other", 2),
)

# ----------------------------------------------------------------- catalogue
CATEGORIES = (
    ("COMP", "计算机整机", "笔记本、台式机、一体机、工作站及平板电脑", (
        ("COMP-NB", "笔记本电脑"), ("COMP-DT", "台式电脑"), ("COMP-AIO", "一体机"),
        ("COMP-WS", "图形工作站"), ("COMP-TAB", "平板电脑"))),
    ("SRV", "服务器与存储", "机架式/塔式服务器、磁盘阵列及NAS", (
        ("SRV-RACK", "机架式服务器"), ("SRV-TOWER", "塔式服务器"), ("SRV-SAN", "磁盘阵列"), ("SRV-NAS", "NAS存储"))),
    ("NET", "网络设备", "交换机、路由器、防火墙、无线及光模块线缆", (
        ("NET-SW", "交换机"), ("NET-RT", "路由器"), ("NET-FW", "防火墙"), ("NET-AP", "无线接入点"),
        ("NET-OPT", "光模块与线缆"))),
    ("OFF", "打印与办公设备", "打印机、多功能一体机、投影仪及耗材", (
        ("OFF-LP", "激光打印机"), ("OFF-MFP", "多功能一体机"), ("OFF-PJ", "投影仪"), ("OFF-SUP", "打印耗材"))),
    ("SEC", "安防监控", "网络摄像机、硬盘录像机及门禁考勤", (
        ("SEC-IPC", "网络摄像机"), ("SEC-NVR", "网络硬盘录像机"), ("SEC-ACS", "门禁考勤"))),
    ("DC", "机房与电源", "UPS、蓄电池、机柜及精密空调", (
        ("DC-UPS", "UPS不间断电源"), ("DC-BAT", "蓄电池"), ("DC-RACK", "网络机柜"), ("DC-AC", "精密空调"))),
    ("PER", "外设与配件", "显示器、键鼠、硬盘及内存", (
        ("PER-MON", "显示器"), ("PER-KM", "键盘鼠标"), ("PER-SSD", "硬盘与固态硬盘"), ("PER-RAM", "内存条"))),
    ("SW", "软件", "操作系统、办公软件及安全软件授权", (
        ("SW-OS", "操作系统"), ("SW-OFF", "办公软件"), ("SW-SEC", "安全软件"))),
    ("SVC", "技术服务", "综合布线、安装调试、运维及培训服务", (
        ("SVC-CAB", "网络布线"), ("SVC-INST", "安装调试"), ("SVC-MNT", "运维服务"), ("SVC-TRN", "技术培训"))),
)

# category, brand, product line, unit, warranty months, warranty type, [(model/config, spec, price)]
_NB, _UNIT, _PCS = "COMP-NB", "unit", "pcs"
CATALOG = (
    (_NB, "联想", "ThinkPad X1 Carbon Gen 12", _UNIT, 36, "onsite", (
        ("i7-155U/32G/1T", "Ultra 7 155U / 32GB LPDDR5x / 1TB SSD / 14英寸 2.8K OLED", 15999),
        ("i5-125U/16G/512G", "Ultra 5 125U / 16GB / 512GB SSD / 14英寸 WUXGA", 12999))),
    (_NB, "联想", "ThinkPad T14 Gen 5", _UNIT, 36, "onsite", (
        ("i7-155U/16G/1T", "Ultra 7 155U / 16GB / 1TB SSD / 14英寸 WUXGA", 9499),
        ("i5-125U/16G/512G", "Ultra 5 125U / 16GB / 512GB SSD / 14英寸 WUXGA", 7999))),
    (_NB, "联想", "ThinkPad E14 Gen 6", _UNIT, 24, "carry_in", (
        ("i5-13420H/16G/512G", "酷睿 i5-13420H / 16GB / 512GB SSD / 14英寸", 5299),
        ("R7-7735HS/16G/1T", "锐龙 R7-7735HS / 16GB / 1TB SSD / 14英寸", 5699))),
    (_NB, "联想", "ThinkBook 14 G7", _UNIT, 24, "carry_in", (
        ("i5/16G/512G", "Ultra 5 125H / 16GB / 512GB SSD / 14英寸 2.2K", 4999),
        ("i7/32G/1T", "Ultra 7 155H / 32GB / 1TB SSD / 14英寸 2.8K", 6299))),
    (_NB, "联想", "昭阳 K4e", _UNIT, 36, "onsite", (
        ("i5-1335U/16G/512G", "酷睿 i5-1335U / 16GB / 512GB SSD / 14英寸 政企版", 4599),)),
    (_NB, "戴尔", "Latitude 5450", _UNIT, 36, "onsite", (
        ("i5/16G/512G", "Ultra 5 135U / 16GB / 512GB SSD / 14英寸 FHD", 7299),
        ("i7/32G/1T", "Ultra 7 165U / 32GB / 1TB SSD / 14英寸 FHD", 8999))),
    (_NB, "戴尔", "Latitude 7450", _UNIT, 36, "onsite", (
        ("i7/32G/1T", "Ultra 7 165U / 32GB / 1TB / 14英寸 2.5K", 10999), ("U5/16G/512G", "Ultra 5 135U / 16GB / 512GB / 14英寸 FHD+", 8999))),
    (_NB, "戴尔", "Vostro 14 3440", _UNIT, 12, "carry_in", (("i5/16G/512G", "酷睿 i5-1334U / 16GB / 512GB SSD", 4299),)),
    (_NB, "惠普", "EliteBook 840 G11", _UNIT, 36, "onsite", (
        ("U7/32G/1T", "Ultra 7 155U / 32GB / 1TB / 14英寸 WUXGA", 9999), ("U5/16G/512G", "Ultra 5 125U / 16GB / 512GB / 14英寸 WUXGA", 8499))),
    (_NB, "惠普", "ProBook 440 G11", _UNIT, 12, "carry_in", (
        ("U5/16G/512G", "Ultra 5 125U / 16GB / 512GB SSD", 5499), ("U7/16G/1T", "Ultra 7 155U / 16GB / 1TB SSD", 6399))),
    (_NB, "华为", "MateBook 14 2024", _UNIT, 24, "carry_in", (
        ("U5/16G/1T", "Ultra 5 125H / 16GB / 1TB / 2.8K OLED 触屏", 6499), ("U7/32G/1T", "Ultra 7 155H / 32GB / 1TB / 2.8K OLED 触屏", 7999))),
    (_NB, "华为", "MateBook X Pro 2024", _UNIT, 24, "carry_in", (("U9/32G/2T", "Ultra 9 185H / 32GB / 2TB / 14.2英寸 3.1K", 14999),)),
    (_NB, "华为", "MateBook D 16 2024", _UNIT, 24, "carry_in", (("i5/16G/1T", "酷睿 i5-13420H / 16GB / 1TB / 16英寸", 4999),)),
    (_NB, "苹果", "MacBook Air 13", _UNIT, 12, "carry_in", (
        ("M3/16G/512G", "Apple M3 / 16GB 统一内存 / 512GB", 9499), ("M3/24G/1T", "Apple M3 / 24GB 统一内存 / 1TB", 12499))),
    (_NB, "苹果", "MacBook Pro 14", _UNIT, 12, "carry_in", (("M4 Pro/24G/1T", "Apple M4 Pro / 24GB / 1TB / Liquid Retina XDR", 16999),)),
    ("COMP-DT", "联想", "ThinkCentre M90t Gen 5", _UNIT, 36, "onsite", (
        ("i7-14700/16G/1T", "酷睿 i7-14700 / 16GB / 1TB SSD / 立式", 7999),
        ("i5-14500/16G/512G", "酷睿 i5-14500 / 16GB / 512GB SSD / 立式", 6299))),
    ("COMP-DT", "联想", "ThinkCentre M70t", _UNIT, 36, "onsite", (
        ("i5-13400/8G/512G", "酷睿 i5-13400 / 8GB / 512GB SSD", 4999), ("i7-13700/16G/1T", "酷睿 i7-13700 / 16GB / 1TB SSD", 6299))),
    ("COMP-DT", "联想", "ThinkCentre M70q Tiny", _UNIT, 36, "onsite", (("i5-13500T/16G/512G", "酷睿 i5-13500T / 16GB / 512GB / 迷你主机", 4599),)),
    ("COMP-DT", "联想", "扬天 M4000q", _UNIT, 12, "onsite", (("i5-12400/8G/512G", "酷睿 i5-12400 / 8GB / 512GB SSD", 3899),)),
    ("COMP-DT", "联想", "开天 M90n-IN", _UNIT, 36, "onsite", (("KX-U6780A/16G/512G", "兆芯 KX-U6780A / 16GB / 512GB / 信创", 6500),)),
    ("COMP-DT", "戴尔", "OptiPlex 7020 MT", _UNIT, 36, "onsite", (
        ("i7/16G/512G", "酷睿 i7-14700 / 16GB / 512GB SSD", 6999), ("i5/8G/512G", "酷睿 i5-14500 / 8GB / 512GB SSD", 5599))),
    ("COMP-DT", "戴尔", "OptiPlex 3000 SFF", _UNIT, 12, "onsite", (
        ("i5/8G/256G", "酷睿 i5-12500 / 8GB / 256GB SSD", 3999), ("i3/8G/256G", "酷睿 i3-12100 / 8GB / 256GB SSD", 3199))),
    ("COMP-DT", "惠普", "Pro Tower 400 G9", _UNIT, 12, "onsite", (("i5/8G/512G", "酷睿 i5-13500 / 8GB / 512GB SSD", 4299),)),
    ("COMP-DT", "惠普", "EliteDesk 800 G9", _UNIT, 36, "onsite", (("i7/16G/1T", "酷睿 i7-12700 / 16GB / 1TB SSD", 6999),)),
    ("COMP-DT", "华为", "擎云 B730E", _UNIT, 36, "onsite", (("i5/16G/512G", "酷睿 i5-12500 / 16GB / 512GB SSD", 5699),)),
    ("COMP-AIO", "联想", "ThinkCentre neo 50a 24", _UNIT, 12, "onsite", (("i5/16G/512G", "酷睿 i5-13420H / 16GB / 512GB / 23.8英寸", 4999),)),
    ("COMP-AIO", "惠普", "ProOne 440 G9", _UNIT, 12, "onsite", (("i5/16G/512G", "酷睿 i5-12500T / 16GB / 512GB / 23.8英寸", 5999),)),
    ("COMP-AIO", "戴尔", "OptiPlex 7410 一体机", _UNIT, 36, "onsite", (("i7/16G/512G", "酷睿 i7-13700T / 16GB / 512GB / 23.8英寸", 7299),)),
    ("COMP-WS", "戴尔", "Precision 3680 Tower", _UNIT, 36, "onsite", (("i9/64G/RTX A2000", "酷睿 i9-14900K / 64GB / 2TB / RTX A2000 12G", 21999),)),
    ("COMP-WS", "惠普", "Z2 G9 Tower", _UNIT, 36, "onsite", (("i7/32G/T1000", "酷睿 i7-13700K / 32GB / 1TB / T1000 8G", 15999),)),
    ("COMP-WS", "联想", "ThinkStation P3 Tower", _UNIT, 36, "onsite", (("i7/32G/A2000", "酷睿 i7-14700K / 32GB / 1TB / RTX A2000", 17999),)),
    ("COMP-WS", "联想", "ThinkStation P5", _UNIT, 36, "onsite", (("W5-2445/64G/A4000", "至强 W5-2445 / 64GB ECC / 2TB / RTX A4000", 32999),)),
    ("COMP-TAB", "华为", "MatePad Pro 13.2", _UNIT, 12, "carry_in", (("12G/256G", "12GB / 256GB / 13.2英寸 柔性OLED", 5199),)),
    ("COMP-TAB", "苹果", "iPad Air 11", _UNIT, 12, "carry_in", (("M2/128G", "Apple M2 / 128GB / WLAN", 4799),)),
    ("COMP-TAB", "联想", "小新Pad Pro 12.7", _UNIT, 12, "carry_in", (("8G/128G", "天玑8300 / 8GB / 128GB", 1999),)),
    ("SRV-RACK", "戴尔", "PowerEdge R760", _UNIT, 36, "onsite", (
        ("2×4410Y/64G/3×2.4T", "2×至强银牌4410Y / 64GB / 3×2.4TB SAS / H755 / 双电源", 58000),
        ("2×5418Y/128G/4×1.92T SSD", "2×至强金牌5418Y / 128GB / 4×1.92TB SSD / 双电源", 89000))),
    ("SRV-RACK", "戴尔", "PowerEdge R660", _UNIT, 36, "onsite", (
        ("2×4410Y/64G/2×1.2T", "2×至强银牌4410Y / 64GB / 2×1.2TB SAS / 1U", 42000),
        ("2×5416S/128G/4×960G SSD", "2×至强金牌5416S / 128GB / 4×960GB SSD / 1U", 68000))),
    ("SRV-RACK", "华为", "FusionServer 2288H V7", _UNIT, 36, "onsite", (
        ("2×4410Y/64G/4×2.4T", "2×至强银牌4410Y / 64GB / 4×2.4TB SAS / 2U", 52000),
        ("2×6430/256G/8×3.84T SSD", "2×至强金牌6430 / 256GB / 8×3.84TB SSD / 2U", 138000))),
    ("SRV-RACK", "华为", "FusionServer 1288H V7", _UNIT, 36, "onsite", (("2×4410Y/32G/2×600G", "2×至强银牌4410Y / 32GB / 2×600GB SAS / 1U", 38000),)),
    ("SRV-RACK", "浪潮", "NF5280M7", _UNIT, 36, "onsite", (
        ("2×4410Y/64G/3×4T", "2×至强银牌4410Y / 64GB / 3×4TB SATA / 2U", 48000),
        ("2×5418Y/256G/6×3.84T SSD", "2×至强金牌5418Y / 256GB / 6×3.84TB SSD / 2U", 118000))),
    ("SRV-RACK", "浪潮", "NF5270M6", _UNIT, 36, "onsite", (("1×4314/32G/2×2T", "至强银牌4314 / 32GB / 2×2TB / 2U", 35000),)),
    ("SRV-RACK", "联想", "ThinkSystem SR650 V3", _UNIT, 36, "onsite", (("2×4410Y/64G/3×2.4T", "2×至强银牌4410Y / 64GB / 3×2.4TB SAS", 55000),)),
    ("SRV-RACK", "联想", "ThinkSystem SR630 V3", _UNIT, 36, "onsite", (("1×4410Y/32G/2×960G SSD", "至强银牌4410Y / 32GB / 2×960GB SSD / 1U", 42000),)),
    ("SRV-RACK", "新华三", "UniServer R4900 G6", _UNIT, 36, "onsite", (("2×4410Y/64G/4×2.4T", "2×至强银牌4410Y / 64GB / 4×2.4TB SAS", 51000),)),
    ("SRV-RACK", "惠普", "ProLiant DL380 Gen11", _UNIT, 36, "onsite", (("2×4410Y/64G/3×2.4T", "2×至强银牌4410Y / 64GB / 3×2.4TB SAS", 56000),)),
    ("SRV-RACK", "惠普", "ProLiant DL360 Gen11", _UNIT, 36, "onsite", (("1×4410Y/32G/2×1.2T", "至强银牌4410Y / 32GB / 2×1.2TB SAS / 1U", 43000),)),
    ("SRV-TOWER", "戴尔", "PowerEdge T360", _UNIT, 36, "onsite", (
        ("E-2434/16G/2×2T", "至强 E-2434 / 16GB / 2×2TB SATA", 15800), ("E-2488/32G/4×4T", "至强 E-2488 / 32GB / 4×4TB SATA", 21800))),
    ("SRV-TOWER", "戴尔", "PowerEdge T560", _UNIT, 36, "onsite", (("4410Y/32G/3×2.4T", "至强银牌4410Y / 32GB / 3×2.4TB SAS", 28000),)),
    ("SRV-TOWER", "联想", "ThinkSystem ST250 V3", _UNIT, 36, "onsite", (("E-2434/16G/2×2T", "至强 E-2434 / 16GB / 2×2TB SATA", 13800),)),
    ("SRV-TOWER", "惠普", "ProLiant ML30 Gen11", _UNIT, 12, "onsite", (("E-2414/16G/2×1T", "至强 E-2414 / 16GB / 2×1TB", 11800),)),
    ("SRV-SAN", "华为", "OceanStor 5310", _UNIT, 36, "onsite", (("双控/128G/12×3.84T SSD", "双控 / 128GB缓存 / 12×3.84TB SSD / FC+iSCSI", 158000),)),
    ("SRV-SAN", "华为", "OceanStor Dorado 3000 V6", _UNIT, 36, "onsite", (("双控/192G/10×7.68T", "全闪存 双控 / 192GB缓存 / 10×7.68TB NVMe", 238000),)),
    ("SRV-SAN", "戴尔", "PowerVault ME5024", _UNIT, 36, "onsite", (("双控/12×2.4T", "双控 / 12×2.4TB SAS / 12Gb SAS + iSCSI", 98000),)),
    ("SRV-SAN", "联想", "ThinkSystem DE4000H", _UNIT, 36, "onsite", (("双控/12×4T", "混合闪存 双控 / 12×4TB NL-SAS", 118000),)),
    ("SRV-NAS", "群晖", "DS923+", _UNIT, 36, "carry_in", (("4盘位/4G", "4盘位 / AMD R1600 / 4GB / 不含硬盘", 4599),)),
    ("SRV-NAS", "群晖", "RS1221+", _UNIT, 36, "carry_in", (("8盘位机架/4G", "8盘位 2U机架 / V1500B / 4GB / 不含硬盘", 8999),)),
    ("SRV-NAS", "威联通", "TS-464C", _UNIT, 24, "carry_in", (("4盘位/8G", "4盘位 / N5095 / 8GB / 2.5GbE", 2999),)),
    ("NET-SW", "华为", "S5735S-L24T4S-A1", _UNIT, 12, "manufacturer", (("24电+4光", "24个千兆电口 + 4个千兆光口 / 二层网管", 2980),)),
    ("NET-SW", "华为", "S5735-L48T4X-A1", _UNIT, 12, "manufacturer", (("48电+4万兆光", "48个千兆电口 + 4个万兆SFP+ / 三层精简", 6800),)),
    ("NET-SW", "华为", "S5735S-L24P4X-A1", _UNIT, 12, "manufacturer", (("24电PoE+4万兆", "24个千兆PoE+电口 + 4个万兆SFP+ / 380W", 5200),)),
    ("NET-SW", "华为", "CloudEngine S6730-H24X6C", _UNIT, 12, "manufacturer", (("24万兆+6×100G", "24个万兆SFP+ + 6个100GE QSFP28 / 核心", 42000),)),
    ("NET-SW", "华为", "S1730S-L24T-A", _UNIT, 12, "manufacturer", (("24电口", "24个千兆电口 / 非网管 / 桌面型", 980),)),
    ("NET-SW", "新华三", "S5130S-28S-EI", _UNIT, 12, "manufacturer", (("24电+4光", "24个千兆电口 + 4个千兆SFP / 二层网管", 3600),)),
    ("NET-SW", "新华三", "S6520X-30QC-EI", _UNIT, 12, "manufacturer", (("24万兆+2×40G", "24个万兆SFP+ + 2个40G QSFP+ / 三层", 26800),)),
    ("NET-SW", "锐捷", "RG-S2910-24GT4XS-E", _UNIT, 12, "manufacturer", (("24电+4万兆", "24个千兆电口 + 4个万兆SFP+", 2680),)),
    ("NET-SW", "锐捷", "RG-S5750C-28GT4XS-H", _UNIT, 12, "manufacturer", (("24电+4万兆/三层", "24个千兆电口 + 4个万兆SFP+ / 三层汇聚", 8800),)),
    ("NET-SW", "TP-LINK", "TL-SG1024DT", _UNIT, 12, "carry_in", (("24口千兆", "24口全千兆 / 非网管 / 机架式", 799),)),
    ("NET-SW", "思科", "Catalyst 9200L-24T-4G", _UNIT, 12, "manufacturer", (("24电+4光", "24个千兆电口 + 4个千兆SFP / Network Essentials", 16800),)),
    ("NET-RT", "华为", "AR6140E-9G-2AC", _UNIT, 12, "manufacturer", (("9千兆口/双电源", "9个千兆口 / 企业级路由器 / 双交流电源", 6800),)),
    ("NET-RT", "华为", "AR651", _UNIT, 12, "manufacturer", (("千兆/SD-WAN", "2GE WAN + 8GE LAN / SD-WAN", 3200),)),
    ("NET-RT", "新华三", "MSR3610-X1", _UNIT, 12, "manufacturer", (("多业务路由器", "4个千兆 + 2个万兆 / 多业务路由器", 9800),)),
    ("NET-RT", "锐捷", "RG-EG3250", _UNIT, 12, "manufacturer", (("出口网关", "带机量1000 / 多WAN / 上网行为管理", 5800),)),
    ("NET-RT", "TP-LINK", "ER7206", _UNIT, 12, "carry_in", (("多WAN千兆", "千兆多WAN口 / VPN路由器", 1099),)),
    ("NET-FW", "华为", "USG6510E-AC", _UNIT, 12, "manufacturer", (("下一代防火墙", "10GE / 吞吐1Gbps / 含一年特征库", 12800),)),
    ("NET-FW", "华为", "USG6555F", _UNIT, 12, "manufacturer", (("AI防火墙", "吞吐6Gbps / 含三年威胁防护", 38000),)),
    ("NET-FW", "深信服", "AF-1000-B1080", _UNIT, 12, "manufacturer", (("下一代防火墙", "网络层吞吐2Gbps / 含三年规则库升级", 36000),)),
    ("NET-FW", "新华三", "F1000-AK1212", _UNIT, 12, "manufacturer", (("防火墙", "8GE + 4SFP / 吞吐2Gbps", 19800),)),
    ("NET-FW", "天融信", "NGFW4000-UF TG-51030", _UNIT, 12, "manufacturer", (("下一代防火墙", "吞吐3Gbps / 等保合规", 28000),)),
    ("NET-AP", "华为", "AirEngine 5761-11", _UNIT, 12, "manufacturer", (("Wi-Fi 6 吸顶", "Wi-Fi 6 / 双频 / 内置天线 / 吸顶式", 1580),)),
    ("NET-AP", "华为", "AirEngine 6761-21", _UNIT, 12, "manufacturer", (("Wi-Fi 6 高密", "Wi-Fi 6 / 三射频 / 高密场景", 3280),)),
    ("NET-AP", "锐捷", "RG-AP820-L(V3)", _UNIT, 12, "manufacturer", (("Wi-Fi 6 吸顶", "Wi-Fi 6 / 双频 / 吸顶式", 1280),)),
    ("NET-AP", "新华三", "WA6320", _UNIT, 12, "manufacturer", (("Wi-Fi 6 室内", "Wi-Fi 6 / 双频 2.975Gbps", 1680),)),
    ("NET-AP", "TP-LINK", "TL-XAP3007GC-PoE", _UNIT, 12, "carry_in", (("AX3000 吸顶", "AX3000 / 双频千兆 / PoE供电", 599),)),
    ("NET-OPT", "华为", "OMXD30000 万兆多模光模块", _PCS, 12, "manufacturer", (("SFP+ 850nm 300m", "SFP+ / 10G / 850nm / 300m / LC", 280),)),
    ("NET-OPT", "安普", "超五类非屏蔽网线", "box", 0, "none", (("305米/箱", "Cat5e UTP / 305米/箱 / 纯铜", 860),)),
    ("NET-OPT", "康普", "六类非屏蔽网线", "box", 0, "none", (("305米/箱", "Cat6 UTP / 305米/箱 / 23AWG 纯铜", 1280),)),
    ("NET-OPT", "康普", "LC-LC 多模光纤跳线", _PCS, 0, "none", (("OM3 3米", "OM3 / 双芯 / 3米", 25),)),
    ("NET-OPT", "安普", "24口六类配线架", _PCS, 0, "none", (("1U 24口", "1U / 24口 / 含模块", 380),)),
    ("OFF-LP", "惠普", "LaserJet Pro 4004dn", _UNIT, 12, "onsite", (("A4黑白双面网络", "A4 / 40页/分 / 自动双面 / 网络", 3299),)),
    ("OFF-LP", "惠普", "LaserJet M211dw", _UNIT, 12, "carry_in", (("A4黑白无线", "A4 / 29页/分 / 双面 / 无线", 1299),)),
    ("OFF-LP", "兄弟", "HL-L5100DN", _UNIT, 12, "carry_in", (("A4黑白双面网络", "A4 / 40页/分 / 自动双面 / 网络", 2599),)),
    ("OFF-LP", "佳能", "LBP6030", _UNIT, 12, "carry_in", (("A4黑白", "A4 / 18页/分 / USB", 999),)),
    ("OFF-LP", "联想", "LJ2405D", _UNIT, 12, "carry_in", (("A4黑白双面", "A4 / 24页/分 / 自动双面", 899),)),
    ("OFF-LP", "奔图", "P3301DN", _UNIT, 12, "carry_in", (("A4黑白双面网络 信创", "A4 / 33页/分 / 双面 / 网络 / 国产信创", 1699),)),
    ("OFF-MFP", "惠普", "LaserJet Pro MFP 4104fdw", _UNIT, 12, "onsite", (("打印复印扫描传真", "A4 / 40页/分 / 双面 / 无线 / 传真", 4599),)),
    ("OFF-MFP", "佳能", "imageRUNNER 2630", _UNIT, 12, "onsite", (("A3黑白数码复合机", "A3 / 30页/分 / 双面输稿器", 19800),)),
    ("OFF-MFP", "兄弟", "MFC-L2880DW", _UNIT, 12, "carry_in", (("打印复印扫描传真", "A4 / 34页/分 / 双面 / 无线", 2399),)),
    ("OFF-MFP", "理光", "IM C3010", _UNIT, 12, "onsite", (("A3彩色数码复合机", "A3彩色 / 30页/分 / 含工作台", 35800),)),
    ("OFF-MFP", "奔图", "M7160DW", _UNIT, 12, "carry_in", (("打印复印扫描", "A4 / 33页/分 / 双面 / 无线", 1999),)),
    ("OFF-MFP", "爱普生", "L6279 墨仓式", _UNIT, 12, "carry_in", (("彩色墨仓一体机", "A4彩色 / 墨仓式 / 双面 / 无线", 2899),)),
    ("OFF-PJ", "爱普生", "CB-FH52", _UNIT, 24, "carry_in", (("1080P 4000流明", "1080P / 4000流明 / 无线投屏", 5999),)),
    ("OFF-PJ", "明基", "MW560", _UNIT, 24, "carry_in", (("WXGA 4000流明", "WXGA / 4000流明 / 商务", 3399),)),
    ("OFF-PJ", "索尼", "VPL-EX570", _UNIT, 24, "carry_in", (("XGA 4200流明", "XGA / 4200流明 / 教育会议", 8999),)),
    ("OFF-SUP", "惠普", "W1510A 原装黑色硒鼓（151A）", _PCS, 0, "none", (("约3050页", "适用4004dn/4104fdw / 约3050页", 699),)),
    ("OFF-SUP", "惠普", "CF226A 原装黑色硒鼓（26A）", _PCS, 0, "none", (("约3100页", "适用M402/M426 / 约3100页", 759),)),
    ("OFF-SUP", "兄弟", "TN-3435 粉盒", _PCS, 0, "none", (("约3000页", "适用HL-L5100DN / 约3000页", 599),)),
    ("OFF-SUP", "佳能", "CRG-912 硒鼓", _PCS, 0, "none", (("约1500页", "适用LBP6030 / 约1500页", 459),)),
    ("OFF-SUP", "爱普生", "T01C 四色墨水套装", "set", 0, "none", (("四色", "适用L6279 / 黑青品黄各一", 199),)),
    ("OFF-SUP", "得力", "A4复印纸 70g", "box", 0, "none", (("5包/箱", "A4 / 70g / 500张/包 / 5包/箱", 129),)),
    ("SEC-IPC", "海康威视", "DS-2CD3T47WDV3-L 筒型网络摄像机", _UNIT, 24, "carry_in", (
        ("400万 4mm", "400万像素 / 4mm / 全彩 / PoE", 580), ("400万 6mm", "400万像素 / 6mm / 全彩 / PoE", 600))),
    ("SEC-IPC", "海康威视", "DS-2CD3347WDV3-L 半球网络摄像机", _UNIT, 24, "carry_in", (("400万 2.8mm", "400万像素 / 2.8mm / 全彩 / PoE", 520),)),
    ("SEC-IPC", "海康威视", "DS-2DE4423IW-D/GLT 网络球机", _UNIT, 24, "carry_in", (("400万 23倍", "400万像素 / 23倍光学变焦 / 红外100米", 2680),)),
    ("SEC-IPC", "大华", "DH-IPC-HFW2433M-I1 筒型网络摄像机", _UNIT, 24, "carry_in", (("400万 3.6mm", "400万像素 / 3.6mm / 红外50米 / PoE", 460),)),
    ("SEC-IPC", "大华", "DH-SD49425XB-HNR 网络球机", _UNIT, 24, "carry_in", (("400万 25倍", "400万像素 / 25倍光学变焦 / 星光级", 2380),)),
    ("SEC-IPC", "宇视", "IPC2124LE-ADF28KM-G 筒型网络摄像机", _UNIT, 24, "carry_in", (("400万 2.8mm", "400万像素 / 2.8mm / 智能警戒", 398),)),
    ("SEC-NVR", "海康威视", "DS-7816N-K2 网络硬盘录像机", _UNIT, 24, "carry_in", (("16路 2盘位", "16路 / 2盘位 / H.265", 1280),)),
    ("SEC-NVR", "海康威视", "DS-8632N-I8 网络硬盘录像机", _UNIT, 24, "carry_in", (("32路 8盘位", "32路 / 8盘位 / RAID / 智能检索", 5680),)),
    ("SEC-NVR", "大华", "DH-NVR4216-HDS2/I 网络硬盘录像机", _UNIT, 24, "carry_in", (("16路 2盘位", "16路 / 2盘位 / 人脸识别", 1580),)),
    ("SEC-NVR", "宇视", "NVR302-16E2 网络硬盘录像机", _UNIT, 24, "carry_in", (("16路 2盘位", "16路 / 2盘位 / H.265", 980),)),
    ("SEC-ACS", "海康威视", "DS-K1T341AM 人脸识别门禁一体机", _UNIT, 12, "carry_in", (("人脸+刷卡", "4.3英寸 / 人脸+IC卡 / 测温可选", 1480),)),
    ("SEC-ACS", "中控智慧", "xFace600 考勤机", _UNIT, 12, "carry_in", (("人脸+指纹", "人脸+指纹+卡 / 3000人脸容量", 980),)),
    ("SEC-ACS", "大华", "ASI7213X 人脸门禁终端", _UNIT, 12, "carry_in", (("人脸门禁", "7英寸 / 人脸+二维码", 1380),)),
    ("DC-UPS", "山特", "C3K 在线式UPS", _UNIT, 24, "onsite", (("3kVA 内置电池", "3kVA/2.4kW / 在线双变换 / 标机", 3980),)),
    ("DC-UPS", "山特", "C6KS 在线式UPS", _UNIT, 24, "onsite", (("6kVA 长延时", "6kVA/5.4kW / 长延时主机 / 需外接电池", 7980),)),
    ("DC-UPS", "山特", "C10KS 在线式UPS", _UNIT, 24, "onsite", (("10kVA 长延时", "10kVA/9kW / 长延时主机 / 需外接电池", 12800),)),
    ("DC-UPS", "山特", "3C20KS 在线式UPS", _UNIT, 24, "onsite", (("20kVA 三进单出", "20kVA/18kW / 三进单出 / 长延时主机", 26800),)),
    ("DC-UPS", "维谛", "UHA1R-0030 ITA2 UPS", _UNIT, 24, "onsite", (("3kVA 机架式", "3kVA/2.7kW / 机架塔式两用", 4680),)),
    ("DC-UPS", "华为", "UPS2000-A-6KTTL", _UNIT, 24, "onsite", (("6kVA 长延时", "6kVA/6kW / 长延时主机", 6980),)),
    ("DC-UPS", "APC", "SPM1K 在线式UPS", _UNIT, 24, "carry_in", (("1kVA", "1kVA/800W / 在线式 / 内置电池", 1380),)),
    ("DC-BAT", "山特", "6-GFM-100 蓄电池", _PCS, 12, "manufacturer", (("12V 100AH", "12V 100AH / 阀控密封铅酸", 980),)),
    ("DC-BAT", "山特", "6-GFM-65 蓄电池", _PCS, 12, "manufacturer", (("12V 65AH", "12V 65AH / 阀控密封铅酸", 680),)),
    ("DC-BAT", "理士", "DJM12100 蓄电池", _PCS, 12, "manufacturer", (("12V 100AH", "12V 100AH / UPS专用", 920),)),
    ("DC-RACK", "图腾", "G26042 服务器机柜", _UNIT, 12, "none", (("42U 600×1000", "42U / 600×1000mm / 网孔门", 2980),)),
    ("DC-RACK", "图腾", "G36042 网络机柜", _UNIT, 12, "none", (("42U 600×600", "42U / 600×600mm / 钢化玻璃门", 2480),)),
    ("DC-RACK", "图腾", "W2.6412 壁挂机柜", _UNIT, 12, "none", (("12U 壁挂", "12U / 600×450mm / 壁挂式", 680),)),
    ("DC-AC", "维谛", "Liebert DME12MHP1 机房精密空调", _UNIT, 24, "onsite", (("12.5kW 上送风", "制冷量12.5kW / 上送风 / 风冷", 68000),)),
    ("DC-AC", "艾特网能", "CyberMate 机房精密空调", _UNIT, 24, "onsite", (("5.5kW 一体式", "制冷量5.5kW / 机架式一体", 38000),)),
    ("PER-MON", "戴尔", "P2425H 显示器", _UNIT, 36, "carry_in", (("24英寸 FHD IPS", "23.8英寸 / 1920×1080 / IPS / 100Hz", 1499),)),
    ("PER-MON", "戴尔", "U2724D 显示器", _UNIT, 36, "carry_in", (("27英寸 2K IPS", "27英寸 / 2560×1440 / IPS Black / 120Hz", 3299),)),
    ("PER-MON", "联想", "ThinkVision T24i-30 显示器", _UNIT, 36, "carry_in", (("24英寸 FHD", "23.8英寸 / 1920×1080 / IPS / 低蓝光", 1199),)),
    ("PER-MON", "华为", "MateView SE 显示器", _UNIT, 12, "carry_in", (("23.8英寸 FHD", "23.8英寸 / 1920×1080 / 75Hz", 899),)),
    ("PER-MON", "AOC", "24B2H 显示器", _UNIT, 12, "carry_in", (("23.8英寸 FHD", "23.8英寸 / 1920×1080 / IPS", 699),)),
    ("PER-MON", "飞利浦", "27E1N5500 显示器", _UNIT, 12, "carry_in", (("27英寸 2K", "27英寸 / 2560×1440 / IPS / Type-C", 1499),)),
    ("PER-KM", "罗技", "MK270 无线键鼠套装", "set", 12, "carry_in", (("无线套装", "2.4G无线 / 全尺寸键盘", 99),)),
    ("PER-KM", "罗技", "MX Keys S 无线键盘", _PCS, 12, "carry_in", (("蓝牙/Logi Bolt", "背光 / 多设备切换", 699),)),
    ("PER-KM", "联想", "KM4802 有线键鼠套装", "set", 12, "carry_in", (("USB有线", "USB有线 / 防泼溅", 89),)),
    ("PER-KM", "雷柏", "8200T 无线键鼠套装", "set", 12, "carry_in", (("多模无线", "蓝牙+2.4G / 静音", 159),)),
    ("PER-SSD", "三星", "990 PRO 固态硬盘", _PCS, 60, "manufacturer", (("1TB NVMe", "1TB / PCIe 4.0 NVMe M.2", 799),)),
    ("PER-SSD", "西部数据", "SN770 固态硬盘", _PCS, 60, "manufacturer", (("1TB NVMe", "1TB / PCIe 4.0 NVMe M.2", 499),)),
    ("PER-SSD", "希捷", "酷狼 ST8000VN004 NAS硬盘", _PCS, 36, "manufacturer", (("8TB", "8TB / 7200转 / 256MB缓存", 1499),)),
    ("PER-SSD", "希捷", "监控鹰 ST4000VX016 监控硬盘", _PCS, 36, "manufacturer", (("4TB", "4TB / 5400转 / 监控级", 699),)),
    ("PER-SSD", "西部数据", "紫盘 WD43PURZ 监控硬盘", _PCS, 36, "manufacturer", (("4TB", "4TB / 5400转 / 监控级", 689),)),
    ("PER-SSD", "金士顿", "A400 固态硬盘", _PCS, 36, "manufacturer", (("480GB SATA", "480GB / 2.5英寸 SATA3", 219),)),
    ("PER-RAM", "金士顿", "DDR5 5600 笔记本内存", _PCS, 36, "manufacturer", (("16GB", "16GB / DDR5 5600 / SO-DIMM", 359),)),
    ("PER-RAM", "三星", "DDR4 3200 RDIMM 服务器内存", _PCS, 36, "manufacturer", (("32GB", "32GB / DDR4 3200 / ECC RDIMM", 899),)),
    ("PER-RAM", "三星", "DDR5 4800 RDIMM 服务器内存", _PCS, 36, "manufacturer", (("64GB", "64GB / DDR5 4800 / ECC RDIMM", 2299),)),
    ("SW-OS", "微软", "Windows 11 专业版", "license", 0, "none", (("OEM 授权", "64位 / 简体中文 / OEM", 1288),)),
    ("SW-OS", "微软", "Windows Server 2022 标准版", "license", 0, "none", (("16核授权", "16核 / 含2个虚拟机授权", 6800),)),
    ("SW-OS", "统信", "UOS 桌面操作系统专业版 V20", "license", 0, "none", (("单机授权", "信创 / 单机永久授权", 800),)),
    ("SW-OS", "麒麟软件", "银河麒麟高级服务器操作系统 V10", "license", 0, "none", (("单机授权", "信创 / 含一年服务", 8800),)),
    ("SW-OFF", "微软", "Microsoft 365 商业标准版", "year", 0, "none", (("每用户每年", "Office 应用 + Exchange + Teams / 每用户每年", 1056),)),
    ("SW-OFF", "金山", "WPS Office 专业版", "license", 0, "none", (("单机授权", "政企专业版 / 单机永久授权", 398),)),
    ("SW-SEC", "奇安信", "天擎终端安全管理系统", "license", 0, "none", (("单点/年", "防病毒 + 终端管控 / 单点一年", 120),)),
    ("SW-SEC", "火绒", "终端安全管理系统", "license", 0, "none", (("单点/年", "企业版 / 单点一年", 68),)),
    ("SW-SEC", "深信服", "EDR 终端检测响应", "license", 0, "none", (("单点/年", "终端检测与响应 / 单点一年", 180),)),
    ("SVC-CAB", "本公司", "综合布线施工 - 六类信息点", _PCS, 12, "onsite", (("每点", "含线缆、面板、模块及测试 / 平均长度60米", 180),)),
    ("SVC-CAB", "本公司", "光纤熔接施工", _PCS, 12, "onsite", (("每芯", "含尾纤与熔接测试", 60),)),
    ("SVC-CAB", "本公司", "弱电桥架敷设", "meter", 12, "onsite", (("每米", "200×100mm 镀锌桥架 / 含支架", 85),)),
    ("SVC-CAB", "本公司", "机房综合布线改造", "service", 12, "onsite", (("每机柜", "含理线、标签、跳线更换", 1500),)),
    ("SVC-INST", "本公司", "服务器上架安装调试", "service", 0, "none", (("每台", "上架、RAID配置、操作系统安装", 800),)),
    ("SVC-INST", "本公司", "网络设备配置调试", "service", 0, "none", (("每台", "VLAN、路由、安全策略配置", 500),)),
    ("SVC-INST", "本公司", "视频监控系统安装调试", "service", 0, "none", (("每路", "含立杆以外的安装、接线与调试", 150),)),
    ("SVC-INST", "本公司", "操作系统安装与数据迁移", "service", 0, "none", (("每台", "系统安装、驱动、数据迁移", 200),)),
    ("SVC-MNT", "本公司", "IT运维驻场服务", "service", 0, "none", (("每月", "1名工程师驻场 / 工作日8小时", 8000),)),
    ("SVC-MNT", "本公司", "年度网络维保服务（基础版）", "year", 0, "none", (("每年", "季度巡检 + 7×8小时响应", 12000),)),
    ("SVC-MNT", "本公司", "年度网络维保服务（高级版）", "year", 0, "none", (("每年", "月度巡检 + 7×24小时响应 + 备件先行", 36000),)),
    ("SVC-MNT", "戴尔", "ProSupport 服务器延保", "year", 12, "extended", (("一年", "7×24 / 4小时上门", 3800),)),
    ("SVC-MNT", "本公司", "打印机包年维护", "year", 0, "none", (("每台每年", "不含耗材 / 上门维修", 600),)),
    ("SVC-TRN", "本公司", "HCIA-Datacom 认证培训", "service", 0, "none", (("每人", "5天脱产 / 含考试券", 3800),)),
    ("SVC-TRN", "本公司", "网络安全意识培训", "service", 0, "none", (("半天内训", "企业内训 / 半天", 5000),)),
    ("SVC-TRN", "本公司", "办公软件应用培训", "service", 0, "none", (("一天内训", "WPS/Office 高效办公", 2000),)),
)

# opportunity name suffix, product categories of its lines, amount range (yuan)
PROJECTS = (
    ("办公电脑集中采购项目", ("COMP-NB", "COMP-DT", "PER-MON", "PER-KM", "SW-OS"), (40_000, 900_000)),
    ("数据中心服务器扩容项目", ("SRV-RACK", "SRV-SAN", "PER-RAM", "SVC-INST", "SW-OS"), (120_000, 1_500_000)),
    ("园区网络升级改造", ("NET-SW", "NET-RT", "NET-AP", "NET-OPT", "SVC-CAB", "SVC-INST"), (80_000, 1_200_000)),
    ("视频监控系统建设", ("SEC-IPC", "SEC-NVR", "PER-SSD", "SVC-INST", "SVC-CAB"), (30_000, 600_000)),
    ("网络安全等保建设", ("NET-FW", "SW-SEC", "SVC-INST", "SVC-TRN"), (60_000, 500_000)),
    ("打印设备及耗材年度采购", ("OFF-LP", "OFF-MFP", "OFF-SUP"), (10_000, 150_000)),
    ("机房UPS及配电改造", ("DC-UPS", "DC-BAT", "DC-RACK", "DC-AC", "SVC-CAB"), (50_000, 600_000)),
    ("会议室智能化改造", ("OFF-PJ", "COMP-AIO", "NET-AP", "SVC-INST"), (20_000, 200_000)),
    ("IT运维外包服务", ("SVC-MNT", "SVC-TRN"), (50_000, 400_000)),
    ("信创终端替换项目", ("COMP-DT", "SW-OS", "SW-OFF", "OFF-LP"), (100_000, 2_000_000)),
    ("门禁考勤系统项目", ("SEC-ACS", "SVC-CAB", "SVC-INST"), (15_000, 120_000)),
    ("设计部图形工作站采购", ("COMP-WS", "PER-MON"), (60_000, 400_000)),
    ("NAS存储及数据备份方案", ("SRV-NAS", "PER-SSD", "SVC-INST"), (15_000, 150_000)),
    ("移动办公终端采购", ("COMP-NB", "COMP-TAB", "SW-OFF"), (30_000, 500_000)),
)
STAGES = (("initial_contact", 20, 10), ("needs_analysis", 18, 20), ("proposal", 17, 40),
          ("negotiation", 12, 60), ("won", 19, 100), ("lost", 14, 0))
LOST_REASONS = ("竞争对手报价低约8%，客户最终选择了价格更低的方案。", "客户预算被削减，项目推迟到明年。",
                "客户指定国产信创品牌，我方主推产品不在入围目录内。", "招标评分中技术分落后，未中标。",
                "客户与原供应商签订了框架协议。", "交货期无法满足客户要求。", "客户内部决策人更换，项目取消。")
QUOTE_TERMS = ("1. 报价含13%增值税专用发票及运费；\n2. 合同签订后预付30%，到货验收后付清余款；\n"
               "3. 交货期：合同签订后10个工作日内；\n4. 质保按原厂标准执行，我司提供本地化服务。")

CAMPAIGNS = (
    ("2026西部数字化转型峰会（西安站）", "seminar", -200, 2, 150_000),
    ("华为数通新品巡展·兰州站", "exhibition", -150, 1, 60_000),
    ("ThinkPad 开学季校园团购", "promotion", -90, 30, 30_000),
    ("中国国际信息通信展览会参展", "exhibition", -40, 3, 220_000),
    ("信创产品适配及迁移网络研讨会", "webinar", -60, 1, 8_000),
    ("服务器以旧换新促销", "promotion", -20, 45, 40_000),
    ("年终IT设备集采季", "promotion", 15, 45, 50_000),
    ("政府行业客户答谢会", "seminar", 20, 1, 80_000),
    ("等保2.0合规线上公开课", "webinar", -10, 1, 5_000),
    ("视频监控解决方案路演（宝鸡、咸阳）", "seminar", -120, 3, 45_000),
    ("百度搜索推广（第四季度）", "advertising", -30, 92, 90_000),
    ("老客户微信公众号回访活动", "wechat", -45, 30, 6_000),
    ("打印耗材邮件营销", "email", -75, 14, 3_000),
    ("春节前客户短信关怀", "sms", 80, 7, 4_000),
    ("重点客户电话回访计划", "telemarketing", -25, 40, 10_000),
    ("2027新春开工采购季", "promotion", 95, 30, 60_000),
    ("戴尔 PowerEdge 新品体验日", "seminar", -100, 1, 35_000),
    ("海康威视渠道合作伙伴大会", "exhibition", -180, 2, 70_000),
    ("医疗行业信息化沙龙", "seminar", 35, 1, 25_000),
    ("教育行业智慧校园方案推介会", "seminar", -300, 1, 40_000),
    ("UPS及机房免费巡检月", "other", -15, 30, 12_000),
    ("中小企业上云补贴政策宣讲", "webinar", 50, 1, 5_000),
)
CAMPAIGN_AUDIENCE = ("西北五省政企客户IT负责人", "中小企业老板及行政采购", "医院、学校信息中心主任",
                     "现有A/B类客户", "渠道合作伙伴及二级经销商", "制造业工厂IT及设备主管")

ACTIVITY_SUBJECTS = {
    "call": ("电话回访{short}，了解近期采购计划", "电话确认{short}到货时间", "电话跟进{short}报价反馈",
             "与{contact}电话沟通{project}需求", "提醒{short}续签维保合同"),
    "visit": ("拜访{short}{contact}，介绍{project}方案", "上门拜访{short}信息中心", "陪同工程师到{short}现场勘察",
              "拜访{short}采购部，递送样机资料"),
    "meeting": ("{short}{project}方案评审会", "{short}项目启动会", "与{short}技术交流会", "{short}合同条款谈判"),
    "task": ("整理{short}投标文件", "为{short}准备报价单", "提交{short}合同审批", "更新{short}客户资料",
             "申请{short}项目特价"),
    "email": ("向{short}发送产品资料及报价", "邮件发送{short}技术方案", "邮件确认{short}开票信息"),
    "wechat": ("微信沟通{short}交货安排", "微信发送{short}新品资料", "微信确认{contact}拜访时间"),
    "demo": ("为{short}演示{project}样机", "{short}现场产品演示"),
}
ACTIVITY_RESULTS = ("客户对方案基本认可，需内部再讨论，约定下周回复。", "客户预算已批，要求三天内提供正式报价。",
                    "客户反馈价格偏高，希望再优惠3个点。", "已完成，资料已发送客户邮箱。",
                    "客户近期无采购计划，三个月后再跟进。", "确认项目预计下月招标，已索取招标文件。",
                    "客户技术负责人对兼容性有疑问，安排工程师答疑。", "已按约定完成拜访，客户引荐了采购经理。")

SR_SUBJECTS = {
    "installation": ("新购{product}上门安装调试", "{product}上架及系统部署", "办公室搬迁网络设备重新部署"),
    "repair": ("{product}无法开机", "{product}频繁蓝屏死机", "{product}卡纸报错", "{product}硬盘告警灯亮",
               "{product}端口频繁掉线", "{product}显示电池故障", "{product}画面无法回放"),
    "maintenance": ("季度例行维护：机房UPS及服务器", "{product}除尘保养", "年度打印机集中维护"),
    "consultation": ("咨询{product}扩容方案", "咨询{product}保修政策", "咨询Windows授权合规问题"),
    "training": ("{product}使用培训", "信息中心新员工网络管理培训"),
    "inspection": ("机房年度安全巡检", "监控系统季度巡检", "网络设备健康检查"),
    "other": ("协助迁移邮件系统", "协助处理员工电脑病毒"),
}
SR_DESCRIPTIONS = {
    "repair": ("客户来电反映：{subject}。影响{n}名员工正常办公，请尽快安排处理。",
               "客户报修：{subject}，已尝试重启无效。设备位于客户{place}。"),
    "other": ("客户提出服务需求：{subject}，希望本周内安排工程师上门。",
              "客户来电预约：{subject}，联系人要求提前一天电话确认时间。"),
}
PLACES = ("三楼机房", "财务部", "总经理办公室", "一楼前台", "信息中心", "生产车间办公室", "会议室")
WORK_LOG = ("电话远程指导客户排查，初步判断为硬件故障。", "上门检测，确认故障部件，已申请备件。",
            "更换故障部件后测试正常，客户确认。", "升级固件并恢复配置，观察运行一小时无异常。",
            "远程登录检查日志，调整配置后问题解决。", "完成安装调试并对客户管理员进行操作培训。",
            "与厂商400热线确认处理方案，等待备件到货。", "回访客户，设备运行稳定，准备关闭工单。")
SOLUTIONS = {
    "repair": "<p>经检测为<strong>{part}</strong>故障，更换后测试正常。</p><ol><li>备份客户数据</li>"
              "<li>更换故障部件</li><li>开机自检并运行压力测试30分钟</li><li>客户签字确认</li></ol>",
    "consultation": "<p>已电话及邮件答复客户，并提供相关资料。</p><ol><li>确认客户现有配置及需求</li>"
                    "<li>提供方案建议及参考报价</li><li>客户确认无其他疑问</li></ol>",
    "installation": "<p>已完成安装调试，交付文档已发送客户。</p><ul><li>设备上架、加电</li><li>系统初始化配置</li>"
                    "<li>客户验收签字</li></ul>",
    "other": "<p>已完成服务内容，客户确认。</p><ol><li>现场确认需求</li><li>按方案实施并记录变更</li>"
             "<li>验证业务恢复正常</li></ol>",
}

FEEDBACK = {
    "complaint": (
        ("送货延迟，影响项目进度", "原定上周五到货的设备至今未到，项目验收被迫推迟，请给出明确到货时间。",
         ("commerce", "warehouse", "sales")),
        ("工程师上门超时", "报修后承诺4小时内上门，实际第二天才到，希望改进响应速度。", ("service", "customer_centre")),
        ("发票信息开具错误", "增值税专用发票的纳税人识别号有误，无法抵扣，请尽快重开。", ("finance",)),
        ("到货设备外包装破损", "签收时发现两台显示器外包装破损，其中一台屏幕有划痕。", ("warehouse", "commerce")),
        ("维修后问题再次出现", "笔记本上周维修过，今天又出现同样的黑屏问题。", ("service", "technical_support")),
    ),
    "suggestion": (
        ("建议增加微信报修渠道", "希望能通过公众号直接提交报修并查看处理进度，比打电话方便。", ("customer_centre", "information")),
        ("建议提供设备资产清单", "希望每季度提供我单位在贵司采购设备的资产清单和保修到期提醒。", ("service", "sales")),
        ("希望增加周末服务时间", "我们是医院，周末也需要技术支持，建议提供周末值班。", ("service",)),
        ("报价单格式建议", "报价单希望增加产品图片和参数对比，方便我们内部审批。", ("sales", "marketing")),
    ),
    "praise": (
        ("感谢工程师连夜抢修服务器", "服务器故障当晚工程师到场处理至凌晨，保障了次日业务正常，特此表扬。", ("service",)),
        ("销售代表服务周到", "项目经理从方案到交付全程跟进，非常专业，值得表扬。", ("sales", "general_office")),
        ("培训效果很好", "网络安全意识培训内容实用，员工反响很好，希望明年继续合作。", ("technical_support",)),
    ),
    "inquiry": (
        ("咨询ThinkPad延保政策", "我单位50台ThinkPad明年到保，想了解延保价格和办理方式。", ("sales", "service")),
        ("咨询信创产品目录", "我们需要采购信创台式机和打印机，请提供入围产品清单和价格。", ("sales", "marketing")),
        ("咨询旧设备回收", "有一批淘汰的旧电脑和打印机，贵司是否提供回收和数据销毁服务？", ("commerce", "service")),
        ("咨询合同付款进度", "请确认我司上月付款是否已到账，何时可以开具发票。", ("finance",)),
    ),
}
FEEDBACK_RESPONSES = ("已与客户电话沟通致歉，并确认整改措施，客户表示认可。", "已安排专人跟进，问题已处理完毕。",
                      "感谢客户反馈，已转相关部门落实并纳入下季度改进计划。", "已按客户要求提供资料，客户满意。")

REPAIR_PARTS = {
    "COMP": (("主板", 1200, 2600), ("液晶屏总成", 800, 1800), ("键盘", 180, 380), ("电池", 350, 650),
             ("电源适配器 65W", 120, 260), ("固态硬盘 512GB", 280, 450), ("散热风扇", 90, 220), ("内存 16GB", 260, 420)),
    "OFF": (("定影组件", 380, 900), ("搓纸轮", 45, 120), ("激光器组件", 500, 1100), ("转印辊", 120, 260),
            ("主板", 600, 1300), ("硒鼓", 400, 760)),
    "SRV": (("SAS硬盘 2.4TB", 1600, 2600), ("服务器电源模块 800W", 900, 1800), ("RAID卡电池", 300, 600),
            ("内存 32GB RDIMM", 800, 1100), ("风扇模块", 200, 450)),
    "DC": (("12V 100AH 蓄电池", 850, 1000), ("UPS功率板", 1200, 2500), ("UPS控制板", 900, 1600), ("风扇", 80, 160)),
    "PER": (("背光板", 200, 450), ("电源板", 150, 320), ("逻辑板", 180, 400)),
    "SEC": (("镜头模组", 150, 400), ("电源适配器 12V", 30, 60), ("硬盘 4TB 监控级", 620, 720)),
}
REPAIR_FAULTS = {
    "COMP": ("开机无显示，电源灯亮", "进水后无法开机", "屏幕闪烁有横线", "键盘部分按键失灵", "电池无法充电",
             "运行中频繁蓝屏", "风扇噪音大，机身过热自动关机"),
    "OFF": ("频繁卡纸", "打印有黑色竖线", "开机报错 E-03", "进纸时多张同时进入", "定影不牢，字迹可擦掉"),
    "SRV": ("硬盘指示灯黄灯告警", "电源模块告警", "无法识别RAID阵列", "开机自检内存报错"),
    "DC": ("电池无法放电，市电断开即关机", "面板报故障代码，无法开机", "逆变器工作异常，告警长鸣"),
    "PER": ("无显示，电源灯闪烁", "屏幕出现亮线", "画面偏色"),
    "SEC": ("画面模糊，夜视无效", "设备离线无法连接", "录像机硬盘报错"),
}
DIAGNOSES = ("经检测{part}损坏，需更换。", "{part}老化，已超出正常使用寿命。", "客户使用不当导致{part}损坏，非保修范围。",
             "{part}接触不良，清洁后复测仍异常，建议更换。")

# ---------------------------------------------------------------- knowledge
_KB_STEPS_CHECK = "<li>确认设备电源及线缆连接正常，指示灯状态与手册一致；</li>"
KNOWLEDGE_GENERIC = (
    ("troubleshooting", "办公电脑无法连接公司网络的排查步骤", "网络 断网 DHCP 网线",
     "从物理连接、IP地址、DNS到交换机端口逐层排查终端无法上网的问题。",
     "<p>终端无法访问内网或外网时，按照由近到远的顺序排查，可在10分钟内定位大部分问题。</p><ol>"
     "<li>检查网线是否插紧，网卡指示灯是否闪烁；更换一根已知正常的网线测试；</li>"
     "<li>在命令提示符执行 <code>ipconfig /all</code>，确认是否获取到正确网段的IP地址；若为169.254开头，说明DHCP获取失败；</li>"
     "<li>执行 <code>ping 网关地址</code>，不通则检查交换机端口状态及VLAN配置；</li>"
     "<li>网关可通但无法打开网页时，执行 <code>nslookup www.baidu.com</code> 检查DNS；</li>"
     "<li>仍无法解决时记录以上结果，提交服务请求并注明工位号及交换机端口号。</li></ol>"
     "<p><strong>注意：</strong>请勿自行修改IP地址，以免与其他设备冲突。</p>"),
    ("troubleshooting", "Windows 11 加入域失败（找不到域控制器）的处理方法", "Windows 域 DNS 域控",
     "加入域时报“找不到域控制器”，多数由DNS指向错误引起。",
     "<p>加入Active Directory域时提示“找不到域控制器”或“指定的域不存在或无法联系”，按以下步骤处理：</p><ol>"
     "<li>将网卡首选DNS设置为域控制器的IP地址，不要使用公网DNS；</li>"
     "<li>执行 <code>nslookup 域名</code>，确认可以解析到域控制器；</li>"
     "<li>确认客户端与域控的时间差不超过5分钟；</li>"
     "<li>检查计算机名是否与域内已有计算机重名；</li>"
     "<li>使用具有加域权限的账号重新加入，并重启计算机。</li></ol>"),
    ("faq", "Outlook 无法收发邮件的常见原因及处理", "Outlook 邮件 Exchange 密码",
     "Outlook 提示需要密码、发送队列卡住或无法连接服务器时的处理方法。",
     "<p>Outlook 收发异常的常见原因有：密码已修改、配置文件损坏、邮箱容量已满、网络代理设置错误。</p><ol>"
     "<li>在网页邮箱登录确认账号密码正确、邮箱未满；</li>"
     "<li>在“控制面板 → 邮件 → 显示配置文件”中新建配置文件并重新添加账户；</li>"
     "<li>检查发件箱中是否有超过附件大小限制的邮件，删除后重试；</li>"
     "<li>关闭浏览器代理或VPN后再次测试。</li></ol>"),
    ("troubleshooting", "员工电脑感染勒索病毒后的应急处置流程", "勒索病毒 应急 隔离 安全",
     "发现勒索病毒后应立即隔离终端、保护现场并上报，切勿支付赎金。",
     "<p>发现文件被加密、桌面出现勒索信时，按以下流程处置：</p><ol>"
     "<li><strong>立即拔掉网线、断开无线</strong>，不要关机，以便保留内存取证信息；</li>"
     "<li>通知信息中心及我司安全服务热线，说明发现时间和现象；</li>"
     "<li>排查同网段其他终端及共享文件夹是否被加密；</li>"
     "<li>由安全工程师确认病毒家族，评估是否有解密工具；</li>"
     "<li>从离线备份恢复数据，重装系统并加固后再接入网络。</li></ol>"),
    ("installation", "企业无线网络（WPA2-Enterprise）终端接入配置指南", "无线 WiFi 802.1X 认证",
     "Windows、macOS 和手机连接采用域账号认证的企业无线网络的方法。",
     "<p>企业无线网络使用802.1X认证，员工使用域账号密码登录。</p><ol>"
     "<li>在无线列表中选择公司SSID，认证方式选择 PEAP / MSCHAPv2；</li>"
     "<li>输入域账号（不带域名前缀）和密码；</li>"
     "<li>首次连接提示证书时，核对证书颁发者为公司CA后选择信任；</li>"
     "<li>连接后访问内网门户确认网络正常。</li></ol>"),
    ("service_policy", "售后服务响应时限及升级规范（2026版）", "服务规范 响应时间 SLA 升级",
     "明确各级别服务请求的响应、到场和解决时限，以及超时升级路径。",
     "<p>为保证服务质量，服务请求按紧急程度执行以下时限：</p><ul>"
     "<li><strong>紧急</strong>：15分钟内响应，市区4小时内到场；</li>"
     "<li><strong>高</strong>：30分钟内响应，8小时内到场；</li>"
     "<li><strong>普通</strong>：2小时内响应，2个工作日内解决；</li>"
     "<li><strong>低</strong>：1个工作日内响应。</li></ul>"
     "<p>超过时限未解决的，系统自动提醒服务经理；超时24小时升级至总经理。</p>"),
    ("sales_policy", "2026年第四季度渠道销售政策及返点说明", "渠道 返点 销售政策 季度",
     "第四季度渠道伙伴的进货返点、特价申请和账期政策。",
     "<p>第四季度渠道政策自10月1日起执行，至12月31日止。</p><ol>"
     "<li>季度进货额满50万元返点2%，满100万元返点3.5%；</li>"
     "<li>单项目超过20万元可申请项目特价，需提供最终用户信息；</li>"
     "<li>A类渠道伙伴账期最长60天，其余30天；</li>"
     "<li>返点于次季度首月以货款抵扣方式兑现。</li></ol>"),
    ("service_policy", "上门服务工程师现场作业规范", "上门服务 现场 规范 工程师",
     "工程师上门服务的着装、沟通、数据安全与交付要求。",
     "<p>上门服务代表公司形象，所有工程师须遵守以下规范：</p><ol>"
     "<li>提前30分钟电话联系客户确认到场时间；</li>"
     "<li>着工装、佩戴工牌，进入客户机房需登记；</li>"
     "<li>涉及数据的操作前须征得客户同意并先行备份；</li>"
     "<li>完工后清理现场，请客户在服务单上签字确认；</li>"
     "<li>当日在系统中填写服务记录和工时。</li></ol>"),
    ("training", "新员工培训：服务器硬件基础知识", "培训 服务器 CPU 内存 RAID",
     "面向销售和新入职工程师的服务器基础：CPU、内存、硬盘、RAID与电源冗余。",
     "<p>服务器与普通台式机最大的区别在于可靠性与可管理性。</p><ol>"
     "<li><strong>处理器</strong>：至强可扩展系列，分铜、银、金、铂金四个等级；</li>"
     "<li><strong>内存</strong>：使用带ECC校验的RDIMM，插法需按手册对称安装；</li>"
     "<li><strong>硬盘</strong>：SAS/SATA/NVMe，常用RAID1、RAID5、RAID10；</li>"
     "<li><strong>电源</strong>：建议配置1+1冗余电源并接入不同PDU；</li>"
     "<li><strong>带外管理</strong>：iDRAC、iBMC、XClarity 等可远程开关机和查看告警。</li></ol>"),
    ("training", "销售人员必读：信创产品目录与适配说明", "信创 国产化 统信 麒麟 兆芯",
     "政企客户信创采购的产品范围、操作系统适配及常见问答。",
     "<p>信创采购要求整机、操作系统、办公软件均在入围目录内。</p><ul>"
     "<li>整机：联想开天、华为擎云等，CPU为兆芯、海光、鲲鹏、飞腾；</li>"
     "<li>操作系统：统信UOS、银河麒麟；</li>"
     "<li>办公软件：WPS Office 政企版；</li>"
     "<li>打印机：奔图等国产品牌，需确认驱动适配清单。</li></ul>"
     "<p>报价前请与技术支持部确认客户业务软件的适配情况。</p>"),
    ("faq", "如何查询联想、戴尔、惠普产品的保修状态", "保修 查询 序列号 服务标签",
     "通过主机序列号在厂商官网查询保修期和保修类型。",
     "<p>各品牌查询方式如下：</p><ul>"
     "<li>联想：机身底部或BIOS中的“S/N”号，在联想服务官网输入查询；</li>"
     "<li>戴尔：7位服务标签（Service Tag），在戴尔支持网站查询；</li>"
     "<li>惠普：10位序列号（如CN开头），在惠普支持网站查询。</li></ul>"
     "<p>查询结果截图后附在服务请求中，便于判断是否收费。</p>"),
    ("solution", "中小企业视频监控整体解决方案（50路以内）", "视频监控 方案 NVR 摄像机",
     "适用于厂区、门店、写字楼的50路以内网络监控方案及典型配置。",
     "<p>典型配置：400万像素网络摄像机 + 32路NVR + 监控级硬盘，录像保存30天。</p><ol>"
     "<li>出入口使用球机或人脸抓拍机，室内使用半球；</li>"
     "<li>摄像机通过PoE交换机供电，单交换机不超过其PoE总功率的80%；</li>"
     "<li>存储容量按每路每天约40GB估算；</li>"
     "<li>重要区域建议配置UPS保证断电后持续录像。</li></ol>"),
    ("solution", "中小企业网络安全等级保护2.0建设方案", "等保 安全 防火墙 日志审计",
     "等保二级的技术要求梳理及防火墙、终端安全、日志审计的建设建议。",
     "<p>等保2.0二级主要技术要求包括边界防护、访问控制、入侵防范、恶意代码防范和安全审计。</p><ol>"
     "<li>互联网出口部署下一代防火墙并开启IPS、防病毒；</li>"
     "<li>终端统一安装终端安全管理软件；</li>"
     "<li>部署日志审计系统，日志保存不少于6个月；</li>"
     "<li>制定安全管理制度并定期开展安全意识培训。</li></ol>"),
    ("installation", "机房UPS安装前的现场勘察要点", "UPS 机房 勘察 配电",
     "UPS安装前需确认承重、配电、线径、散热和电池位置。",
     "<p>现场勘察须填写《UPS安装勘察表》并拍照存档。</p><ol>"
     "<li>确认输入配电容量及空开规格，线径满足1.25倍额定电流；</li>"
     "<li>电池柜位置地面承重不低于800kg/m²；</li>"
     "<li>机房温度保持在20~25℃，电池寿命受温度影响显著；</li>"
     "<li>确认搬运通道和电梯尺寸。</li></ol>"),
    ("faq", "发票开具与报销常见问题", "发票 开票 增值税 报销",
     "增值税专用发票开具所需信息、重开流程及开票时限。",
     "<p>开具增值税专用发票需提供：单位名称、纳税人识别号、地址电话、开户行及账号。</p><ol>"
     "<li>款项到账后3个工作日内开票并邮寄；</li>"
     "<li>信息错误需重开的，请在收到发票30天内联系商务部；</li>"
     "<li>电子发票将发送至合同约定的邮箱。</li></ol>"),
)
# category prefix of the product, knowledge category, title template, keywords, summary, html
KNOWLEDGE_PRODUCT = (
    (("COMP-NB",), "troubleshooting", "{name} 开机黑屏无显示的排查步骤", "黑屏 开机 笔记本",
     "笔记本开机黑屏、电源灯亮但无显示时的排查方法。",
     "<p>{name} 开机黑屏时按以下顺序排查：</p><ol>" + _KB_STEPS_CHECK +
     "<li>拔掉电源适配器和所有外设，长按电源键15秒释放静电后再开机；</li>"
     "<li>外接显示器并按 Fn+F7（或Win+P）切换显示，判断是否屏幕故障；</li>"
     "<li>进入BIOS确认能否显示，若BIOS也不显示，多为内存或主板问题；</li>"
     "<li>以上无效请提交服务请求，并提供主机序列号。</li></ol>"),
    (("COMP-NB",), "troubleshooting", "{name} 电池无法充电的处理方法", "电池 充电 电源适配器",
     "电池显示“已接通电源，未充电”时的检查与校准步骤。",
     "<p>{name} 电池不充电通常由电源管理设置、适配器或电池老化引起。</p><ol>"
     "<li>在电源管理软件中关闭“电池养护模式”（充电阈值）；</li>"
     "<li>更换原装适配器测试，功率不足的适配器无法充电；</li>"
     "<li>更新BIOS及电源管理驱动；</li>"
     "<li>查看电池健康度，低于60%建议更换电池。</li></ol>"),
    (("COMP-NB", "COMP-DT", "COMP-AIO"), "faq", "{name} 恢复出厂系统的方法", "恢复 重装 系统 出厂",
     "使用一键恢复或官方镜像将电脑恢复到出厂状态。",
     "<p>恢复出厂系统会清除C盘数据，操作前请备份。</p><ol>"
     "<li>备份桌面、文档及浏览器收藏夹；</li>"
     "<li>进入“设置 → 系统 → 恢复 → 重置此电脑”；</li>"
     "<li>选择“删除所有内容”，按提示完成；</li>"
     "<li>恢复后安装公司标准软件并加入域。</li></ol>"),
    (("COMP-DT", "COMP-AIO", "COMP-WS"), "troubleshooting", "{name} 开机报警声含义及处理", "报警声 自检 内存",
     "开机自检蜂鸣声与指示灯代码对应的故障及处理。",
     "<p>{name} 开机自检失败时会发出蜂鸣声或闪烁诊断指示灯。</p><ol>"
     "<li>记录蜂鸣次数或指示灯闪烁模式；</li>"
     "<li>对照说明书中的诊断代码表确认故障部件；</li>"
     "<li>内存报错时重新插拔内存并清洁金手指；</li>"
     "<li>仍报错请联系服务工程师。</li></ol>"),
    (("SRV-RACK", "SRV-TOWER"), "installation", "{name} RAID 阵列配置指南", "RAID 阵列 硬盘 服务器",
     "在阵列卡BIOS或带外管理中创建RAID1/RAID5/RAID10逻辑盘。",
     "<p>{name} 出厂未配置阵列，安装操作系统前需先创建逻辑盘。</p><ol>"
     "<li>开机按提示键进入阵列卡配置界面；</li>"
     "<li>选择物理盘，系统盘建议RAID1，数据盘建议RAID5或RAID10；</li>"
     "<li>设置条带大小（默认即可）并初始化；</li>"
     "<li>配置热备盘，保存退出后安装操作系统。</li></ol>"),
    (("SRV-RACK", "SRV-TOWER"), "troubleshooting", "{name} 硬盘告警灯亮起后的更换流程", "硬盘 告警 热插拔 重建",
     "硬盘故障指示灯亮起时的确认、热插拔更换与阵列重建步骤。",
     "<p>硬盘黄灯常亮或闪烁表示预故障或已故障。</p><ol>"
     "<li>登录带外管理确认故障盘槽位号及阵列状态；</li>"
     "<li>确认阵列仍有冗余后，直接热插拔更换同规格硬盘；</li>"
     "<li>观察重建进度，重建期间避免高负载操作；</li>"
     "<li>更换下的故障盘按客户数据安全要求处理。</li></ol>"),
    (("SRV-RACK", "SRV-TOWER"), "installation", "{name} 带外管理（BMC）远程管理配置", "BMC iDRAC iBMC 远程管理",
     "配置带外管理口IP、账号和告警邮件，实现远程开关机与监控。",
     "<p>带外管理可在操作系统宕机时远程查看服务器状态。</p><ol>"
     "<li>开机进入BIOS，设置BMC管理口的静态IP；</li>"
     "<li>浏览器访问管理口地址，修改默认密码；</li>"
     "<li>配置SNMP或邮件告警；</li>"
     "<li>测试远程控制台和虚拟介质功能。</li></ol>"),
    (("NET-SW",), "installation", "{name} 基础配置：VLAN 划分与 Trunk 端口", "交换机 VLAN Trunk 配置",
     "创建VLAN、配置Access口和Trunk口的命令示例。",
     "<p>以下为 {name} 划分办公VLAN与服务器VLAN的示例。</p><ol>"
     "<li>进入系统视图，执行 <code>vlan batch 10 20</code>；</li>"
     "<li>办公终端端口配置为Access并加入VLAN 10；</li>"
     "<li>上联端口配置为Trunk，允许VLAN 10、20通过；</li>"
     "<li>保存配置并在终端验证获取的地址段。</li></ol>"),
    (("NET-SW",), "troubleshooting", "{name} 端口频繁 up/down 故障排查", "端口 掉线 网线 协商",
     "端口反复断开重连的常见原因：网线质量、双工协商、环路。",
     "<p>端口频繁震荡会导致终端间歇性断网。</p><ol>"
     "<li>查看端口日志及错误包计数，CRC错误多说明线路问题；</li>"
     "<li>更换跳线或用测线仪测试链路；</li>"
     "<li>检查两端速率双工设置一致；</li>"
     "<li>开启环路检测，排查下挂的小交换机是否成环。</li></ol>"),
    (("NET-SW", "NET-RT", "NET-FW"), "faq", "{name} 忘记管理密码的恢复方法", "密码 恢复 Console",
     "通过Console口进入BootROM菜单清除或重置密码。",
     "<p>忘记 {name} 管理密码时，需要现场通过Console口操作，业务会中断，请安排在非工作时间。</p><ol>"
     "<li>使用Console线连接设备，波特率9600；</li>"
     "<li>重启设备，按提示键进入BootROM菜单；</li>"
     "<li>选择清除Console密码或跳过配置启动；</li>"
     "<li>进入系统后重新设置密码并保存配置。</li></ol>"),
    (("NET-FW",), "installation", "{name} 上网行为管控策略配置示例", "防火墙 策略 上网行为",
     "按部门配置访问策略、限制视频和P2P流量的示例。",
     "<p>以下示例实现：办公网段允许访问互联网，限制视频网站带宽。</p><ol>"
     "<li>创建地址对象：办公网段、服务器网段；</li>"
     "<li>配置安全策略：办公网段到Untrust区域允许；</li>"
     "<li>配置带宽策略：视频类应用限速10Mbps；</li>"
     "<li>开启日志，观察策略命中情况。</li></ol>"),
    (("NET-AP",), "troubleshooting", "{name} 无线信号弱、频繁掉线的优化方法", "无线 AP 信道 漫游",
     "通过信道规划、功率调整和漫游阈值优化无线体验。",
     "<p>无线体验差多由同频干扰和覆盖不合理造成。</p><ol>"
     "<li>使用手机WiFi分析工具查看信道占用情况；</li>"
     "<li>2.4G仅使用1、6、11信道，相邻AP错开；</li>"
     "<li>适当降低发射功率，减少粘滞终端；</li>"
     "<li>开启5G优先和智能漫游。</li></ol>"),
    (("OFF-LP", "OFF-MFP"), "troubleshooting", "{name} 频繁卡纸的处理方法", "打印机 卡纸 搓纸轮",
     "卡纸的常见原因：纸张受潮、搓纸轮磨损、纸路有异物。",
     "<p>{name} 频繁卡纸时请按以下步骤处理：</p><ol>"
     "<li>按面板提示打开对应仓门，沿出纸方向缓慢取出卡纸；</li>"
     "<li>检查纸张是否受潮卷曲，更换新纸并抖松后装入；</li>"
     "<li>用湿布清洁搓纸轮表面；</li>"
     "<li>仍频繁卡纸时，搓纸轮可能已磨损，需报修更换。</li></ol>"),
    (("OFF-LP", "OFF-MFP"), "troubleshooting", "{name} 显示脱机无法打印的解决办法", "打印机 脱机 驱动 网络",
     "网络打印机显示“脱机”时的网络与驱动排查。",
     "<p>打印机显示脱机通常是电脑与打印机之间的连接中断。</p><ol>"
     "<li>在打印机面板打印网络配置页，确认IP地址；</li>"
     "<li>在电脑上 <code>ping</code> 该地址，确认网络可达；</li>"
     "<li>在打印机属性的端口中核对IP，必要时删除后重新添加；</li>"
     "<li>取消“脱机使用打印机”勾选并清空打印队列。</li></ol>"),
    (("SEC-IPC", "SEC-NVR"), "troubleshooting", "{name} 接入录像机后无画面的排查", "监控 NVR 无画面 协议",
     "摄像机添加到NVR后显示离线或黑屏的排查步骤。",
     "<p>新装或更换摄像机后无画面，按以下步骤排查：</p><ol>"
     "<li>确认摄像机已激活并设置了密码；</li>"
     "<li>核对摄像机IP与NVR处于同一网段；</li>"
     "<li>添加时选择正确的协议（私有协议或ONVIF）；</li>"
     "<li>检查PoE交换机供电功率是否足够。</li></ol>"),
    (("SEC-NVR",), "faq", "{name} 录像无法回放的常见原因", "录像 回放 硬盘 存储",
     "录像计划、硬盘状态和时间设置导致无法回放的处理方法。",
     "<p>查询不到录像时，请依次确认：</p><ol>"
     "<li>录像计划是否启用并覆盖需要的时间段；</li>"
     "<li>硬盘状态是否正常，是否出现“异常”或“未格式化”；</li>"
     "<li>设备时间是否正确，建议开启NTP校时；</li>"
     "<li>检查录像保存天数设置是否过短。</li></ol>"),
    (("DC-UPS",), "service_policy", "{name} 电池自检与更换操作规范", "UPS 电池 自检 更换",
     "UPS电池定期自检、放电测试和更换的操作要求。",
     "<p>UPS电池寿命一般为3~5年，应每季度自检一次。</p><ol>"
     "<li>在面板或监控软件中执行电池自检，记录结果；</li>"
     "<li>每年进行一次带载放电测试，放电至30%为止；</li>"
     "<li>更换电池须整组更换，不同批次电池不得混用；</li>"
     "<li>废旧电池交由有资质单位回收。</li></ol>"),
    (("DC-UPS",), "troubleshooting", "{name} 市电正常却显示电池供电的故障排查", "UPS 市电 旁路 告警",
     "输入电压、频率超范围或输入空开问题导致UPS转电池的处理。",
     "<p>市电正常但UPS持续电池供电时：</p><ol>"
     "<li>用万用表测量输入电压和零地电压；</li>"
     "<li>检查输入空开和接线端子是否松动；</li>"
     "<li>发电机供电时适当放宽输入频率范围；</li>"
     "<li>仍异常时记录告警代码并报修。</li></ol>"),
    (("SW-OS",), "faq", "{name} 激活失败的常见错误代码", "激活 授权 错误代码 KMS",
     "激活报错代码的含义及处理方法。",
     "<p>{name} 激活失败时请记录错误代码：</p><ul>"
     "<li>0xC004F074：无法连接KMS服务器，检查网络及DNS；</li>"
     "<li>0xC004C003：密钥已被封禁或无效，联系销售更换；</li>"
     "<li>0x803F7001：未找到有效许可证，确认版本与密钥一致。</li></ul>"),
)

# the service requests reported in the last days (dispatched by the rules when the demo loads)
FRESH_TYPES = ("repair", "consultation", "installation", "training", "maintenance", "other", "inspection", "repair")
FRESH_PRIORITIES = ("urgent", "normal", "high", "normal", "low", "high", "normal", "urgent", "normal")


def load_demo(site, *, scale: float = 1.0, seed: int = 2026, progress=None) -> list[tuple[str, str, str]]:
    """Fill an empty site with demo data; return the logins created as (username, password, description).

    ``progress(entity, count)`` is called after each part is loaded, for every entity whose
    number of records changed (``entity`` None: the users)."""
    return _DemoLoader(site, scale, seed, progress).run()


class _DemoLoader:
    def __init__(self, site, scale: float, seed: int, progress=None):
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.progress = progress
        self._reported: dict[str, int] = {}
        self.site = site
        self.scale = scale
        self.rng = random.Random(seed)
        self.meta = site.metadata
        self.svc: dict[str, object] = {}
        self.user_ids: dict[str, int] = {}
        self.kind: dict[str, str] = {}
        self.team: dict[str, str | None] = {}
        self._settable: dict[str, list[str]] = {}
        self.customers: list[dict] = []
        self.contacts_of: dict[int, list[int]] = {}
        self.contact_names: dict[int, str] = {}
        self.products: list[dict] = []
        self.products_by_cat: dict[str, list[dict]] = {}
        self.names_used: set[str] = set()

    # ------------------------------------------------------------- helpers
    def count(self, entity: str) -> int:
        return max(1, round(BASE_COUNTS[entity] * self.scale))

    def has(self, entity: str, field: str | None = None) -> bool:
        ent = self.meta.entities.get(entity)
        return ent is not None and (field is None or field in ent.fields)

    def option(self, picklist: str, *keys: str) -> str | None:
        """The first of ``keys`` the picklist offers (packs may add or retire options)."""
        pl = self.meta.picklists.get(picklist)
        if pl is None:
            return None
        offered = {o.key for o in pl.active()}
        for key in keys:
            if key in offered:
                return key
        return None

    def weighted(self, pairs):
        items = [p[0] for p in pairs]
        return self.rng.choices(items, weights=[p[1] for p in pairs])[0]

    def settable(self, entity: str) -> list[str]:
        """Fields a create may set that have no default of their own."""
        if entity not in self._settable:
            ent = self.meta.entity(entity)
            types = self.site.field_types
            self._settable[entity] = [
                f.name for f in ent.user_fields()
                if not types[f.type].computed and f.type not in ("child_table", "attachment")
                and not f.get("read_only") and f.get("default") is None
            ]
        return self._settable[entity]

    def complete(self, entity: str, data: dict) -> dict:
        # Submit every settable field, as a form does: an empty field is sent as None. (Older
        # record services evaluated rules and formulas over the submitted names only, so an
        # absent field made rules such as "reminder_at == null or ..." fail.)
        ent = self.meta.entity(entity)
        full = {name: None for name in self.settable(entity)}
        full.update(data)
        for child in ent.child_tables():
            if child.name in full:
                full[child.name] = [self.complete(child.target, line) for line in full[child.name]]
        return full

    def editable(self, user: str, entity: str, data: dict) -> dict:
        """Only what this user's roles let them set (a rep cannot set a credit limit)."""
        policy = self.svc[user].policy
        ent = self.meta.entity(entity)
        out = {k: v for k, v in data.items() if policy.can_edit_field(ent, k)}
        for child in ent.child_tables():
            if isinstance(out.get(child.name), list):
                out[child.name] = [self.editable(user, child.target, line) for line in out[child.name]]
        return out

    def draft(self, user: str, entity: str, params: dict) -> dict:
        """A new record as its form opens from a link (``sales_order?quote=7`` copies the
        quote), reduced to what a form submits: no computed fields, no empty lines' ids."""
        record, _given = self.svc[user].drafts.new(entity, {k: str(v) for k, v in params.items()})
        return self.submitted(entity, record)

    def submitted(self, entity: str, record: dict) -> dict:
        ent = self.meta.entity(entity)
        types = self.site.field_types
        out = {}
        for name, value in record.items():
            fld = ent.fields.get(name)
            if fld is None or fld.system or types[fld.type].computed or fld.get("read_only"):
                continue
            out[name] = [self.submitted(fld.target, line) for line in value] if fld.type == "child_table" else value
        return out

    def create(self, user: str, entity: str, data: dict, conn) -> dict:
        try:
            return self.svc[user].create(entity, self.editable(user, entity, self.complete(entity, data)), conn=conn)
        except RecordInvalid as exc:
            exc.add_note(f"demo data for {entity}: {data!r}")
            raise

    def day(self, lo: int, hi: int) -> dt.date:
        return ANCHOR + dt.timedelta(days=self.rng.randint(lo, hi))

    def moment(self, lo: int, hi: int) -> dt.datetime:
        """A working-hours time between ``lo`` and ``hi`` days from the anchor."""
        day = self.day(lo, hi)
        return dt.datetime.combine(day, dt.time(self.rng.randint(8, 17), self.rng.choice((0, 0, 15, 30, 30, 45))))

    def later(self, start: dt.datetime, days: int) -> dt.datetime:
        """A working-hours time ``days`` after ``start``, not before it and not after the anchor."""
        when = dt.datetime.combine(start.date() + dt.timedelta(days=days),
                                   dt.time(self.rng.randint(9, 18), self.rng.choice((0, 30))))
        if when <= start:
            when = start + dt.timedelta(hours=self.rng.randint(1, 3))
        return max(start, min(when, ANCHOR_TIME))

    @staticmethod
    def money(value) -> Decimal:
        return Decimal(value).quantize(Decimal("1"), rounding=ROUND_HALF_UP)

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def landline(self, city: str | None) -> str | None:
        area, width, _ = CITY_INFO.get(city, (None, 8, None))
        if area is None:
            return None
        return f"{area}-{self.rng.choice('88866653')}{self.digits(width - 1)}"

    def mobile(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + self.digits(8)

    def person(self) -> tuple[str, str, str, str]:
        """(name, surname pinyin, given-name pinyin, gender)"""
        surname, s_py, _ = self.rng.choices(SURNAMES, weights=[s[2] for s in SURNAMES])[0]
        male = self.rng.random() < 0.62
        one, first, second = (MALE_ONE, MALE_FIRST, MALE_SECOND) if male else (FEMALE_ONE, FEMALE_FIRST, FEMALE_SECOND)
        if self.rng.random() < 0.4:
            g, g_py = self.rng.choice(one)
        else:
            (a, a_py), (b, b_py) = self.rng.choice(first), self.rng.choice(second)
            if a == b:
                b, b_py = second[(second.index((b, b_py)) + 1) % len(second)]
            g, g_py = a + b, a_py + b_py
        return surname + g, s_py, g_py, "male" if male else "female"

    def sales_owner(self, province: str | None) -> str:
        team = "west" if province in WEST or province is None else "east"
        pairs = [(u, 5 if self.kind[u] == "rep" else 2) for u in self.svc
                 if self.kind[u] in ("rep", "sales_manager") and self.team[u] == team]
        pairs += [(u, 0.4) for u in self.svc if self.kind[u] == "gm"]
        return self.weighted(pairs)

    def users_of(self, *kinds: str) -> list[str]:
        return [u for u in self.svc if self.kind[u] in kinds]

    # ----------------------------------------------------------------- run
    def run(self) -> list[tuple[str, str, str]]:
        if self.site.records(SYSTEM_ACTOR).count("customer"):
            raise RuntimeError("This site already holds customers; load the demo data into an empty site.")
        logins = self.load_users()
        self.report()
        with self.stage() as c:
            self.load_catalog(c)
        with self.stage() as c:
            self.load_campaigns(c)
        with self.stage() as c:
            self.load_customers(c)
        with self.stage() as c:
            self.load_contacts(c)
        with self.stage() as c:
            self.load_leads(c)
        self.convert_leads()
        self.report()
        with self.stage() as c:
            self.load_opportunities(c)
        with self.stage() as c:
            self.load_quotes(c)
        self.load_orders()
        self.report()
        with self.stage() as c:
            self.load_activities(c)
        self.load_skills()
        with self.stage() as c:
            self.load_service(c)
        with self.stage() as c:
            self.load_knowledge(c)
        self.load_approvals()
        self.report()
        return logins

    @contextlib.contextmanager
    def stage(self):
        """One part of the demo in its own write transaction; then report what it added."""
        with self.site.writing() as c:
            yield c
        self.report()

    def report(self) -> None:
        """Tell ``progress`` how many records each entity holds now, where that changed."""
        if self.progress is None:
            return
        svc = self.site.records(SYSTEM_ACTOR)
        users = self.site.user_count()
        if users != self._reported.get("", 0):
            self._reported[""] = users
            self.progress(None, users)
        for name, entity in self.meta.entities.items():
            count = svc.count(name)
            if count != self._reported.get(name, 0):
                self._reported[name] = count
                self.progress(entity, count)

    # ------------------------------------------------------------ approvals
    def load_approvals(self) -> None:
        """Put the records that wait for approval through their workflows (each in its own
        transaction, as in real use): pending quotes, feedback sent to departments, articles
        in review, and draft orders waiting for sign-off (some signed by finance already)."""
        from kehu.errors import WorkflowError

        drafts = [o for o in getattr(self, "orders", []) if o["status"] == "draft"]
        queue = list(getattr(self, "to_submit", [])) + [(o["customer"]["owner"], "sales_order", o["id"]) for o in drafts[: max(1, len(drafts) // 2)]]
        started: dict[tuple[str, int], dict] = {}
        for user, entity, record_id in queue:
            if record_id is None or user not in self.svc:
                continue
            try:
                started[(entity, record_id)] = self.svc[user].approvals.submit(entity, record_id)
            except WorkflowError:  # e.g. a department without a manager: stays a draft
                continue
        decided = set(getattr(self, "to_approve", []))
        signed = [key for key in started if key[0] == "sales_order"][::2]
        # some quotes passed their sales manager already: those over 20% now wait for the GM
        quotes = [key for key in started if key[0] == "quote"][1::3]
        for key in list(decided) + signed + quotes:
            approval = started.get(key)
            if not approval:
                continue
            for task in approval["tasks"]:
                approver = next((u for u, uid in self.user_ids.items() if uid == task.assignee_id), None)
                if task.state == "pending" and approver and (key[0] != "sales_order" or approver == "zhoumin"):
                    self.svc[approver].approvals.approve(task.id, "同意。")
                    break

    # --------------------------------------------------------------- users
    def load_users(self) -> list[tuple[str, str, str]]:
        users = self.site.tables.users
        logins = []
        departments = self.site.tables.departments
        with self.site.writing() as c:
            existing = dict(c.execute(sa.select(users.c.username, users.c.id)).all())
            dept_ids: dict[str, int] = {}
            for key, name, name_en, parent, _manager in DEPARTMENTS:
                dept_ids[key] = c.execute(sa.insert(departments).values(
                    name=name, name_en=name_en, parent_id=dept_ids.get(parent), created_at=dt.datetime.now(),
                    code=DEPARTMENT_CODES.get(key, key)
                ).returning(departments.c.id)).scalar_one()
            for username, name, role, is_admin, kind, team in STAFF:
                roles, dept = PLACEMENT[kind]
                dept_id = dept_ids[dept or ("sales_west" if team == "west" else "sales_east")]
                uid = existing.get(username)
                if uid is None:
                    email = None if kind == "admin" else f"{username}@kehu-demo.cn"
                    uid = self.site.create_user(username, DEMO_PASSWORD, name, is_admin=is_admin, locale="zh",
                                                email=email, department_id=dept_id, roles=roles, conn=c)
                    logins.append((username, DEMO_PASSWORD, role if name == role else f"{name} · {role}"))
                else:  # made before the demo (e.g. by `kehu create-user`): place it, keep its password
                    user_roles = self.site.tables.user_roles
                    c.execute(sa.update(users).where(users.c.id == uid).values(department_id=dept_id))
                    c.execute(sa.delete(user_roles).where(user_roles.c.user_id == uid, user_roles.c.role.in_(roles)))
                    c.execute(sa.insert(user_roles), [{"user_id": uid, "role": r} for r in roles])
                self.user_ids[username] = uid
                self.kind[username] = kind
                self.team[username] = team
            for key, _name, _en, _parent, manager in DEPARTMENTS:
                if manager:
                    c.execute(sa.update(departments).where(departments.c.id == dept_ids[key]).values(
                        manager_id=self.user_ids[manager]))
        for username, uid in self.user_ids.items():
            self.svc[username] = self.site.records(self.site.actor(self.site.user(uid)), "zh")
        return logins

    # ------------------------------------------------------------- catalog
    def load_catalog(self, c) -> None:
        want = min(self.count("product_category"), sum(1 + len(ch) for *_, ch in CATEGORIES))
        # top-level categories first, then children round-robin, so a small site still spans the tree
        order = [("top", i, None) for i in range(len(CATEGORIES))]
        for j in range(max(len(ch) for *_, ch in CATEGORIES)):
            order += [("child", i, j) for i, (*_, ch) in enumerate(CATEGORIES) if j < len(ch)]
        chosen = order[:want]
        cat_ids: dict[str, int] = {}
        for kind, i, j in chosen:
            code, name, desc, children = CATEGORIES[i]
            if kind == "top":
                rec = self.create("admin", "product_category", {"name": name, "code": code, "description": desc}, c)
            else:
                ccode, cname = children[j]
                rec = self.create("admin", "product_category", {
                    "name": cname, "code": ccode, "parent": cat_ids[code], "description": f"{name} - {cname}"}, c)
                code = ccode
            cat_ids[code] = rec["id"]

        variants = [(entry, v, len(entry[6]) > 1) for entry in CATALOG for v in entry[6]]
        want = min(self.count("product"), len(variants))
        if want < len(variants):  # spread the choice over the whole catalogue
            step = len(variants) / want
            variants = [variants[int(i * step)] for i in range(want)]
        warranty = self.has("product", "warranty_months")
        for (cat, brand, line, unit, months, wtype, _), (config, spec, price), multi in variants:
            category = cat_ids.get(cat) or cat_ids.get(cat.split("-")[0])
            name = f"{brand} {line}" if brand != "本公司" else line
            if multi:
                name = f"{name}（{config}）"
            list_price = Decimal(price)
            service = cat.startswith("SVC") or cat.startswith("SW")
            data = {
                "name": name, "category": category, "brand": None if brand == "本公司" else brand,
                "model": line if brand != "本公司" else None, "specification": spec,
                "unit": self.option("product_unit", unit, "pcs"), "list_price": list_price,
                "cost_price": self.money(list_price * Decimal(self.rng.uniform(0.68, 0.88))),
                "stock_quantity": None if service else self.rng.choice((0, 2, 5, 8, 12, 20, 35, 60, 120, 300)),
                "is_active": self.rng.random() > 0.04,
                "description": f"<p><strong>{name}</strong></p><p>{spec}。</p><ul><li>原厂正品，提供正规增值税发票</li>"
                               f"<li>本地化安装与售后服务</li></ul>",
            }
            if warranty:
                data.update(warranty_months=months, warranty_type=self.option("warranty_type", wtype),
                            serial_tracked=unit == "unit" and not service)
            rec = self.create("admin", "product", data, c)
            info = {"id": rec["id"], "name": name, "cat": cat, "price": list_price, "unit": unit, "brand": brand,
                    "line": line, "months": months}
            self.products.append(info)
            self.products_by_cat.setdefault(cat, []).append(info)

    def products_in(self, cats) -> list[dict]:
        found = [p for cat in cats for p in self.products_by_cat.get(cat, [])]
        if not found:
            prefixes = {cat.split("-")[0] for cat in cats}
            found = [p for p in self.products if p["cat"].split("-")[0] in prefixes]
        return found or self.products

    # ----------------------------------------------------------- campaigns
    def load_campaigns(self, c) -> None:
        self.campaign_ids = []
        marketing = self.users_of("marketing") or ["admin"]
        for i in range(self.count("campaign")):
            name, ctype, start_off, days, budget = CAMPAIGNS[i % len(CAMPAIGNS)]
            if i >= len(CAMPAIGNS):
                name, start_off = f"{name}（第{i // len(CAMPAIGNS) + 1}期）", start_off - 365 * (i // len(CAMPAIGNS))
            start = ANCHOR + dt.timedelta(days=start_off)
            end = start + dt.timedelta(days=days - 1)
            if end < ANCHOR:
                status = "cancelled" if self.rng.random() < 0.08 else "completed"
            elif start <= ANCHOR:
                status = "in_progress"
            else:
                status = "planned"
            budget = Decimal(budget)
            data = {
                "name": name, "type": self.option("campaign_type", ctype, "other"),
                "status": self.option("campaign_status", status, "planned"), "start_date": start, "end_date": end,
                "budget": budget, "expected_revenue": self.money(budget * self.rng.randint(5, 20)),
                "actual_cost": self.money(budget * Decimal(self.rng.uniform(0.75, 1.1))) if status == "completed" else None,
                "target_audience": self.rng.choice(CAMPAIGN_AUDIENCE),
                "description": f"<p>{name}。</p><ul><li>目标：获取有效线索、提升品牌认知</li>"
                               f"<li>负责人：市场部</li><li>预算：{budget:,.0f} 元</li></ul>",
            }
            rec = self.create(self.rng.choice(marketing), "campaign", data, c)
            self.campaign_ids.append(rec["id"])

    # ----------------------------------------------------------- customers
    def pick_city(self) -> tuple[str, str, str | None]:
        pls = self.meta.picklists
        cities = [o for o in pls["region_city"].active()] if "region_city" in pls else []
        if not hasattr(self, "_city_weights"):
            self._city_weights = [CITY_WEIGHT.get(o.key, 1) for o in cities]
        city = self.rng.choices(cities, weights=self._city_weights)[0]
        districts = pls["region_district"].active(city.key) if "region_district" in pls else []
        district = self.rng.choice(districts).key if districts and self.rng.random() < 0.85 else None
        return city.parent, city.key, district

    def city_label(self, key: str) -> str:
        label = self.meta.picklists["region_city"].option(key).label.zh
        return label[:-1] if label.endswith("市") and len(label) > 2 else label

    def city_pinyin(self, key: str) -> str:
        return "".join(ch for ch in self.meta.picklists["region_city"].option(key).label.en.lower() if ch.isalpha())

    def company_name(self, city: str, group_brand=None) -> tuple[str, str, str, str, tuple, str]:
        """(name, short name, brand, brand pinyin, industry tuple, suffix)"""
        for _ in range(1000):
            if group_brand:
                brand, brand_py = group_brand
            else:
                (a, a_py), (b, b_py) = self.rng.choice(BRAND_A), self.rng.choice(BRAND_B)
                if a == b:
                    continue
                brand, brand_py = a + b, a_py + b_py
            word = self.rng.choices(INDUSTRY_WORDS, weights=[w[3] for w in INDUSTRY_WORDS])[0]
            suffix = self.weighted(COMPANY_SUFFIX)
            name = f"{self.city_label(city)}{brand}{word[0]}{suffix}"
            if name not in self.names_used:
                self.names_used.add(name)
                return name, f"{brand}{SHORT_WORDS.get(word[0], word[0][:2])}", brand, brand_py, word, suffix
        raise RuntimeError("ran out of company names")

    def institution_name(self, city: str) -> tuple[str, str, str] | None:
        tpl, industry, business = self.rng.choice(INSTITUTIONS)
        city_name = self.city_label(city)
        n = self.rng.randint(1, 6 if "医院" in tpl else 19)
        numeral = (CN_DIGITS[n] if n < 10 else ("十" + (CN_DIGITS[n % 10] if n % 10 else "")))
        words = INSTITUTION_WORDS[2] if "学院" in tpl else INSTITUTION_WORDS[3]
        name = tpl.format(city=city_name, n=numeral, w=self.rng.choice(words))
        if name in self.names_used:
            return None
        self.names_used.add(name)
        return name, industry, business

    def customer_data(self, province, city, district, name, short, brand_py, word, industry, business, parent=None):
        rng = self.rng
        postal = CITY_INFO.get(city, (None, 8, None))[2]
        phone = self.landline(city) or f"400-{self.digits(3)}-{self.digits(4)}"
        domain = f"{self.city_pinyin(city)[:2] if rng.random() < 0.4 else ''}{brand_py}{word}.{rng.choice(('com', 'com.cn', 'cn', 'com'))}"
        size = rng.choices(((5, 50), (50, 200), (200, 1000), (1000, 8000)), weights=(45, 35, 15, 5))[0]
        employees = rng.randint(*size)
        revenue = self.money(employees * rng.uniform(150_000, 900_000) / 10_000) * 10_000
        tier = rng.choices(("a", "b", "c", "d"), weights=(1 + (employees > 500) * 8, 12 + (employees > 200) * 10, 40, 40))[0]
        category = self.weighted((("customer", 46), ("prospect", 34), ("dealer", 6), ("partner", 5),
                                  ("supplier", 3), ("competitor", 2), ("churned", 4)))
        street = rng.choice(STREETS)
        dlabel = self.meta.picklists["region_district"].option(district).label.zh if district else ""
        address = f"{dlabel}{street}{rng.randint(1, 300)}号" + (
            f"{rng.choice(BUILDINGS)}{rng.randint(2, 28)}{rng.randint(1, 20):02d}室" if rng.random() < 0.6 else "")
        founded = rng.randint(1992, 2022)
        credit = None
        if category in ("customer", "dealer", "partner"):
            credit = Decimal(rng.choice((5, 10, 20, 30, 50, 100, 200, 500))) * 10_000
        tax = None
        if rng.random() < 0.8:
            alnum = "0123456789ABCDEFGHJKLMNPQRTUWXY"
            tax = ("91" + PROVINCE_CODE.get(province, "61") + "01" + self.digits(2) + "MA"
                   + "".join(rng.choice(alnum) for _ in range(7)) + rng.choice(alnum))
        data = {
            "name": name, "short_name": short, "parent": parent, "category": self.option("customer_category", category, "customer"),
            "industry": industry, "value_tier": tier if rng.random() < 0.9 else None,
            "source": self.option("customer_source", self.weighted((("referral", 18), ("phone", 14), ("web", 12),
                                  ("visit", 12), ("exhibition", 10), ("bidding", 9), ("campaign", 8), ("partner", 7),
                                  ("wechat", 6), ("advertising", 3), ("other", 1)))),
            "province": province, "city": city, "district": district, "address": address,
            "postal_code": f"{postal}{rng.randint(0, 9)}{rng.choice(('00', '01', '02', '05', '10', '11', '21', '31', '61'))}"
            if postal else None, "phone": phone,
            "fax": phone[:-2] + self.digits(2) if rng.random() < 0.25 else None,
            "website": f"http://www.{domain}" if rng.random() < 0.7 else None,
            "email": f"{rng.choice(('info', 'service', 'sales', 'office', 'hr'))}@{domain}" if rng.random() < 0.6 else None,
            "employees": employees, "annual_revenue": revenue, "credit_limit": credit, "tax_number": tax,
            "bank_name": f"{rng.choice(BANKS)}{self.city_label(city)}{rng.choice(BANK_BRANCHES)}" if tax else None,
            "bank_account": (rng.choice(("3700", "6100", "2602", "1029", "4100")) + self.digits(15)) if tax else None,
            "next_follow_up": self.day(-20, 60) if category in ("customer", "prospect") and rng.random() < 0.6 else None,
            "description": f"公司成立于{founded}年，主要从事{business}，现有员工约{employees}人。",
            "notes": "<p>客户关注<strong>售后响应速度</strong>，采购需走招标流程。</p>" if rng.random() < 0.1 else None,
        }
        return data

    def industry_key(self, word) -> str | None:
        return self.option("industry", *word[2])

    def load_customers(self, c) -> None:
        total = self.count("customer")
        n_groups = round(total * 0.03)
        made = 0
        while made < total:
            province, city, district = self.pick_city()
            if n_groups and made + 2 < total and self.rng.random() < 0.05:
                n_groups -= 1
                made += self.make_group(c, province, city, district, min(total - made - 1, self.rng.randint(2, 5)))
                continue
            if self.rng.random() < 0.04:
                inst = self.institution_name(city)
                if inst is None:
                    continue
                name, industry, business = inst
                data = self.customer_data(province, city, district, name, None, "", "gov", self.option("industry", industry),
                                          business)
                data["short_name"] = name.replace(self.city_label(city), "", 1).lstrip("市")[:50]
                data["website"] = None
                data["category"] = self.option("customer_category", "customer", "prospect")
            else:
                name, short, brand, brand_py, word, _ = self.company_name(city)
                data = self.customer_data(province, city, district, name, short, brand_py, word[1],
                                          self.industry_key(word), word[4])
            self.add_customer(c, data)
            made += 1

    def add_customer(self, c, data, owner: str | None = None) -> dict:
        owner = owner or self.sales_owner(data["province"])
        rec = self.create(owner, "customer", data, c)
        info = {"id": rec["id"], "name": rec["name"], "short": rec["short_name"] or rec["name"][:6], "owner": owner,
                "province": rec["province"], "city": rec["city"], "address": rec["address"],
                "domain": (rec["website"] or "").removeprefix("http://www.") or None,
                "size": rec["employees"] or 10, "category": rec["category"], "tier": rec["value_tier"],
                "industry": rec["industry"]}
        self.customers.append(info)
        return info

    def make_group(self, c, province, city, district, subsidiaries: int) -> int:
        (a, a_py), (b, b_py) = self.rng.choice(BRAND_A), self.rng.choice(BRAND_B)
        brand, brand_py = (a + b, a_py + b_py) if a != b else (a + "信", a_py + "xin")
        prov_label = self.meta.picklists["region_province"].option(province).label.zh
        name = f"{prov_label[:2]}{brand}集团有限公司"
        if name in self.names_used:
            return 0
        self.names_used.add(name)
        word = ("集团", "group", ("other",), 0, "多元化投资、工程建设、商贸流通等业务")
        data = self.customer_data(province, city, district, name, f"{brand}集团", brand_py, "group", None, word[4])
        data.update(employees=self.rng.randint(2000, 12000), value_tier=self.rng.choice(("a", "a", "b")),
                    category=self.option("customer_category", "customer"))
        data["annual_revenue"] = Decimal(data["employees"]) * self.rng.randint(40, 120) * 10_000
        group = self.add_customer(c, data)
        made = 1
        for _ in range(subsidiaries):
            sp, sc, sd = (province, city, district) if self.rng.random() < 0.5 else self.pick_city()
            sname, short, _, _, sword, _ = self.company_name(sc, (brand, brand_py))
            sdata = self.customer_data(sp, sc, sd, sname, short, brand_py, sword[1], self.industry_key(sword), sword[4],
                                       parent=group["id"])
            self.add_customer(c, sdata, owner=group["owner"])  # a group's companies stay with one salesperson
            made += 1
        return made

    # ------------------------------------------------------------ contacts
    def contact_data(self, customer: dict, primary: bool) -> dict:
        rng = self.rng
        name, s_py, g_py, gender = self.person()
        title, department, role, _ = rng.choices(TITLES, weights=[t[3] for t in TITLES])[0]
        if primary and rng.random() < 0.5:
            title, department, role = rng.choice((("总经理", "总经理办公室", "decision_maker"), ("IT主管", "信息部", "technical"),
                                                  ("采购经理", "采购部", "purchaser")))
        mobile = self.mobile()
        if customer["domain"] and rng.random() < 0.6:
            email = f"{g_py}.{s_py}@{customer['domain']}" if rng.random() < 0.5 else f"{s_py}{g_py}@{customer['domain']}"
        elif rng.random() < 0.5:
            email = f"{rng.randint(10_000, 2_999_999_999)}@{rng.choice(('qq.com', '163.com', '126.com'))}"
        else:
            email = None
        return {
            "name": name, "customer": customer["id"], "title": title, "department": department,
            "role": self.option("contact_role", role, "other"), "gender": self.option("gender", gender),
            "mobile": mobile if rng.random() < 0.95 else None,
            "phone": self.landline(customer["city"]) if rng.random() < 0.5 else None,
            "email": email, "wechat": (f"{s_py}{g_py}{rng.randint(1, 999)}" if rng.random() < 0.5 else mobile) if rng.random() < 0.6 else None,
            "birthday": dt.date(rng.randint(1965, 1998), rng.randint(1, 12), rng.randint(1, 28)) if rng.random() < 0.3 else None,
            "is_primary": primary,
            "notes": rng.choice((None, None, None, "喜欢喝茶，周一上午开例会不便打扰。", "项目决策需报集团审批。",
                                 "对价格敏感，重视售后。", "技术出身，关注产品参数。")),
        }

    def load_contacts(self, c) -> None:
        total = self.count("contact")
        custs = list(self.customers)
        first = custs if total >= len(custs) else self.rng.sample(custs, total)
        plan = [(cust, True) for cust in first]
        weights = [1 + min(cust["size"], 3000) / 300 for cust in custs]
        plan += [(cust, False) for cust in self.rng.choices(custs, weights=weights, k=max(0, total - len(plan)))]
        for cust, primary in plan:
            rec = self.create(cust["owner"], "contact", self.contact_data(cust, primary), c)
            self.contacts_of.setdefault(cust["id"], []).append(rec["id"])
            self.contact_names[rec["id"]] = rec["name"]

    def contact_for(self, customer: dict) -> int | None:
        ids = self.contacts_of.get(customer["id"])
        return self.rng.choice(ids) if ids else None

    # --------------------------------------------------------------- leads
    def load_leads(self, c) -> None:
        self.converted_leads: dict[int, int] = {}  # customer id -> lead id
        self.to_convert: list[tuple[str, int, dict]] = []
        marketing = self.users_of("marketing")
        for _ in range(self.count("lead")):
            rng = self.rng
            status = self.weighted((("new", 28), ("contacted", 25), ("qualified", 18), ("converted", 14), ("unqualified", 15)))
            customer = rng.choice(self.customers) if status == "converted" else None
            if customer:
                company, province, city = customer["name"], customer["province"], customer["city"]
                owner, industry = customer["owner"], customer["industry"]
            else:
                province, city, _ = self.pick_city()
                word = rng.choices(INDUSTRY_WORDS, weights=[w[3] for w in INDUSTRY_WORDS])[0]
                (a, _), (b, _) = rng.choice(BRAND_A), rng.choice(BRAND_B)
                company = f"{self.city_label(city)}{a}{b}{word[0]}有限公司"
                industry = self.industry_key(word)
                owner = rng.choice(marketing) if marketing and status == "new" and rng.random() < 0.5 else self.sales_owner(province)
            name, s_py, g_py, _ = self.person()
            source = self.weighted((("web", 16), ("search_engine", 14), ("phone", 14), ("exhibition", 10), ("referral", 12),
                                    ("campaign", 10), ("wechat", 8), ("bidding", 6), ("partner", 5), ("email", 3), ("other", 2)))
            project = rng.choice(PROJECTS)
            data = {
                "company_name": company, "contact_name": name,
                "title": rng.choice(("总经理", "采购经理", "IT主管", "信息中心主任", "行政主管", "项目经理")),
                "mobile": self.mobile(), "phone": self.landline(city) if rng.random() < 0.3 else None,
                "email": f"{g_py}{s_py}@{rng.choice(('qq.com', '163.com', '126.com', 'sina.com'))}" if rng.random() < 0.4 else None,
                "source": self.option("lead_source", source, "other"),
                "campaign": rng.choice(self.campaign_ids) if source == "campaign" and self.campaign_ids else None,
                "industry": industry, "status": self.option("lead_status", status, "new"),
                "province": province, "city": city,
                "estimated_amount": Decimal(rng.randrange(project[2][0], project[2][1], 1000)) if rng.random() < 0.7 else None,
                "next_follow_up": self.day(-15, 45) if status in ("new", "contacted", "qualified") else None,
                "description": f"客户有{project[0].replace('项目', '')}需求，"
                               + rng.choice(("预计本季度内采购。", "需先提供方案和预算报价。", "正在比较三家供应商。", "已有预算，等待立项。")),
            }
            if customer:  # converted below, through the conversion (which links the customer)
                data["status"] = self.option("lead_status", "qualified", "new")
            rec = self.create(owner, "lead", data, c)
            if customer:
                self.converted_leads[customer["id"]] = rec["id"]
                self.to_convert.append((owner, rec["id"], customer))

    def convert_leads(self) -> None:
        """Convert the leads that became customers, each in its own transaction as a rep does:
        linked to its customer and one of the customer's contacts (or a new contact made from
        the lead when the customer has none)."""
        for owner, lead_id, customer in self.to_convert:
            contact = (self.contacts_of.get(customer["id"]) or [None])[0]  # (the random stream stays as it was)
            choices = {"customer": {"mode": "existing", "id": customer["id"]},
                       "contact": {"mode": "existing", "id": contact} if contact else {"mode": "new"},
                       "opportunity": {"mode": "none"}, "allow_duplicates": True}
            self.svc[owner].conversion.convert_lead(lead_id, choices)

    # ------------------------------------------------------- opportunities
    def load_opportunities(self, c) -> None:
        self.opportunities: list[dict] = []
        buyers = [cu for cu in self.customers if cu["category"] not in ("competitor", "supplier")] or self.customers
        weights = [{"a": 6, "b": 3}.get(cu["tier"], 1) for cu in buyers]
        for _ in range(self.count("opportunity")):
            rng = self.rng
            cust = rng.choices(buyers, weights=weights)[0]
            stage, _, probability = rng.choices(STAGES, weights=[s[1] for s in STAGES])[0]
            project = rng.choice(PROJECTS)
            lo, hi = project[2]
            amount = self.money(rng.uniform(lo, hi) / 100) * 100
            if stage in ("won", "lost"):
                close = self.day(-240, -1)
            else:
                close = self.day(-20, 180)
                probability = min(90, max(5, probability + rng.choice((-10, -5, 0, 0, 5, 10))))
            year = rng.choice(("", "", "2026年", "2027年" if close.year == 2027 else "2026年度"))
            data = {
                "name": f"{cust['short']}{year}{project[0]}", "customer": cust["id"], "contact": self.contact_for(cust),
                "lead": self.converted_leads.get(cust["id"]) if rng.random() < 0.8 else None,
                "stage": self.option("opportunity_stage", stage), "probability": probability,
                "amount": amount if stage == "won" or rng.random() < 0.93 else None, "expected_close": close,
                "source": self.option("customer_source", rng.choice(("referral", "phone", "web", "visit", "bidding", "campaign"))),
                "lost_reason": rng.choice(LOST_REASONS) if stage == "lost" else None,
                "description": f"{cust['name']}计划实施{project[0]}，涉及{ '、'.join(self.cat_names(project[1][:3])) }等。",
            }
            rec = self.create(cust["owner"], "opportunity", data, c)
            self.opportunities.append({"id": rec["id"], "customer": cust, "stage": stage, "project": project,
                                       "close": close, "name": rec["name"], "contact": rec["contact"]})

    def cat_names(self, codes) -> list[str]:
        names = {ccode: cname for *_, children in CATEGORIES for ccode, cname in children}
        return [names.get(code, code) for code in codes]

    # --------------------------------------------------------------- quotes
    def lines_for(self, cats, n: int, big: bool) -> list[dict]:
        pool = self.products_in(cats)
        picks = self.rng.sample(pool, min(n, len(pool)))
        lines = []
        for p in picks:
            price = p["price"]
            if price >= 20_000:
                qty = self.rng.randint(1, 4 if big else 2)
            elif price >= 2_000:
                qty = self.rng.randint(1, 40 if big else 10)
            elif p["unit"] in ("meter",):
                qty = self.rng.randrange(50, 800, 10)
            else:
                qty = self.rng.randint(1, 120 if big else 20)
            discount = Decimal(self.rng.choice(("0", "0", "2", "5", "8", "10", "12")))
            lines.append({"product": p["id"], "description": None if self.rng.random() < 0.6 else "含安装调试及原厂质保",
                          "quantity": Decimal(qty), "unit": self.option("product_unit", p["unit"]),
                          "unit_price": self.money(price), "discount_percent": discount})
        return lines

    def load_quotes(self, c) -> None:
        self.quotes: list[dict] = []
        self.to_submit: list[tuple[str, str, int | None]] = []
        eligible = [o for o in self.opportunities if o["stage"] in ("proposal", "negotiation", "won", "lost")] or self.opportunities
        for _ in range(self.count("quote")):
            rng = self.rng
            opp = rng.choice(eligible)
            cust = opp["customer"]
            stage = opp["stage"]
            status = {
                "won": (("accepted", 85), ("approved", 10), ("sent", 5)),
                "lost": (("rejected", 60), ("expired", 40)),
                "negotiation": (("sent", 50), ("approved", 30), ("pending_approval", 20)),
            }.get(stage, (("draft", 30), ("pending_approval", 25), ("approved", 20), ("sent", 25)))
            status = self.weighted(status)
            quote_date = min(ANCHOR, opp["close"]) - dt.timedelta(days=rng.randint(3, 45))
            valid = quote_date + dt.timedelta(days=rng.choice((15, 30, 30, 60)))
            if status == "sent" and valid < ANCHOR and rng.random() < 0.5:
                status = "expired"
            data = {
                "subject": f"{opp['name']}报价", "customer": cust["id"], "opportunity": opp["id"],
                "contact": opp["contact"], "quote_date": quote_date, "valid_until": valid,
                "status": self.option("quote_status", status, "draft"),
                "discount_percent": Decimal(rng.choice((12, 15, 18, 22, 25)) if status == "pending_approval"
                                            else rng.choice((0, 0, 0, 2, 3, 5, 5, 8, 10))),
                "lines": self.lines_for(opp["project"][1], rng.randint(1, 5), cust["size"] > 200),
                "terms": QUOTE_TERMS,
            }
            if status == "pending_approval":  # submitted below, through the workflow
                data["status"] = self.option("quote_status", "draft")
                self.to_submit.append((cust["owner"], "quote", None))
            rec = self.create(cust["owner"], "quote", data, c)
            if status == "pending_approval":
                self.to_submit[-1] = (cust["owner"], "quote", rec["id"])
            self.quotes.append({"id": rec["id"], "customer": cust, "status": status, "date": quote_date,
                                "contact": rec["contact"], "lines": data["lines"], "subject": rec["subject"]})

    # --------------------------------------------------------------- orders
    ORDER_STEPS = ("confirmed", "shipped", "delivered", "invoiced", "paid", "completed")
    STEP_DATE = {"confirmed": "confirmed_on", "shipped": "shipped_on", "delivered": "delivered_on",
                 "invoiced": "invoiced_on", "paid": "paid_on"}

    def load_orders(self) -> None:
        """Orders as reps make them: most opened from an accepted quote (its customer, contact
        and lines copied), the rest typed in. Each goes through the sign-off before it moves
        on (shipped, delivered, invoiced, paid, each step with its date); a few are returned
        in part, by their lines."""
        rng = self.rng
        orders = self.orders = []
        accepted = [q for q in self.quotes if q["status"] == "accepted"]
        rng.shuffle(accepted)
        won = [o for o in self.opportunities if o["stage"] == "won"] or self.opportunities
        with self.site.writing() as c:
            for i in range(self.count("sales_order")):
                quote = accepted[i] if i < len(accepted) else None
                if quote:
                    cust = quote["customer"]
                    data = self.draft(cust["owner"], "sales_order", {"quote": quote["id"]})
                    order_date = quote["date"] + dt.timedelta(days=rng.randint(1, 20))
                    data["subject"] = quote["subject"].removesuffix("报价") + "订单"
                else:
                    opp = rng.choice(won)
                    cust = opp["customer"]
                    data = {"subject": f"{opp['name']}订单", "customer": cust["id"], "contact": opp["contact"],
                            "lines": self.lines_for(opp["project"][1], rng.randint(1, 4), cust["size"] > 200)}
                    order_date = opp["close"] - dt.timedelta(days=rng.randint(0, 10)) if opp["stage"] == "won" else self.day(-200, 0)
                order_date = min(order_date, ANCHOR)
                age = (ANCHOR - order_date).days
                if age > 60:
                    status = self.weighted((("completed", 45), ("paid", 25), ("invoiced", 10), ("delivered", 12), ("cancelled", 8)))
                elif age > 20:
                    status = self.weighted((("delivered", 30), ("invoiced", 15), ("shipped", 30), ("completed", 20), ("cancelled", 5)))
                else:
                    status = self.weighted((("draft", 25), ("confirmed", 45), ("shipped", 30)))
                dates = self.step_dates(order_date, status)
                data.update({
                    "order_date": order_date, "delivery_date": order_date + dt.timedelta(days=rng.choice((3, 5, 7, 10, 15, 20))),
                    "status": self.option("order_status", "cancelled" if status == "cancelled" else "draft"),
                    "confirmed_on": dates.get("confirmed_on"),
                    "shipping_address": f"{self.meta.picklists['region_city'].option(cust['city']).label.zh}{cust['address'] or ''}",
                    "notes": rng.choice((None, None, "发货前电话通知收货人。", "分两批发货。", "需随货提供合格证及装箱单。")),
                })
                rec = self.create(cust["owner"], "sales_order", data, c)
                orders.append({"id": rec["id"], "customer": cust, "status": status, "date": order_date, "dates": dates,
                               "lines": [(line["id"], line["quantity"]) for line in rec["lines"]]})
        for order in orders:  # the sign-off, each in its own transaction as in real use
            if order["status"] in self.ORDER_STEPS and not self.sign_off(order["customer"]["owner"], order["id"]):
                order["status"] = "draft"
        with self.site.writing() as c:  # the rep records shipping, delivery, invoice and payment
            for order in orders:
                if order["status"] in self.ORDER_STEPS[1:]:
                    user = order["customer"]["owner"]
                    current = self.svc[user].get("sales_order", order["id"], conn=c)
                    change = {"status": order["status"], **{k: v for k, v in order["dates"].items() if k != "confirmed_on"}}
                    self.svc[user].update("sales_order", order["id"], self.editable(user, "sales_order", change),
                                          current["row_version"], conn=c)
        self.load_returns(orders)

    def step_dates(self, order_date: dt.date, status: str) -> dict[str, dt.date]:
        """The dates of the steps an order has passed, a few days apart, none after the anchor."""
        if status not in self.ORDER_STEPS:
            return {}
        out, day = {}, order_date
        for step in self.ORDER_STEPS[: self.ORDER_STEPS.index(status) + 1]:
            if step in self.STEP_DATE:
                day = min(day + dt.timedelta(days=self.rng.randint(1, 6)), ANCHOR)
                out[self.STEP_DATE[step]] = day
        return out

    def sign_off(self, user: str, order_id: int) -> bool:
        """Submit an order and let every department sign it off; whether it is confirmed."""
        from kehu.errors import WorkflowError

        try:
            approval = self.svc[user].approvals.submit("sales_order", order_id)
        except WorkflowError:  # e.g. a department without a manager: stays a draft
            return False
        by_id = {uid: name for name, uid in self.user_ids.items()}
        for task in approval["tasks"]:
            approver = by_id.get(task.assignee_id)
            if task.state == "pending" and approver:
                approval = self.svc[approver].approvals.approve(task.id, "同意。")
        return approval["state"] == "approved"

    def load_returns(self, orders: list[dict]) -> None:
        """Returns by lines: one or two lines of a delivered order, part of what was delivered,
        never more than is left after the order's earlier returns."""
        rng = self.rng
        returnable = [o for o in orders if o["status"] in ("delivered", "invoiced", "paid", "completed") and o["lines"]]
        if not returnable:
            return
        left = {o["id"]: {line_id: qty for line_id, qty in o["lines"]} for o in returnable}
        with self.site.writing() as c:
            for _ in range(self.count("return_order")):
                order = rng.choice(returnable)
                user = order["customer"]["owner"]
                draft = self.draft(user, "return_order", {"sales_order": order["id"]})
                pairs = [(line, line_id) for line, (line_id, _qty) in zip(draft.get("lines", []), order["lines"])
                         if left[order["id"]][line_id] >= 1]
                if not pairs:
                    continue
                chosen = rng.sample(pairs, min(len(pairs), rng.choice((1, 1, 2))))
                lines = []
                for line, line_id in chosen:
                    room = int(left[order["id"]][line_id])
                    qty = rng.randint(1, max(1, min(room, 3 if room < 20 else room // 5)))
                    left[order["id"]][line_id] -= qty
                    lines.append({**line, "quantity": Decimal(qty)})
                reason = self.weighted((("quality_issue", 30), ("damaged_in_transit", 20), ("wrong_item", 15),
                                        ("not_as_described", 10), ("wrong_quantity", 10), ("customer_cancelled", 10), ("other", 5)))
                status = self.weighted((("draft", 10), ("pending_approval", 15), ("approved", 20), ("received", 20),
                                        ("refunded", 30), ("rejected", 5)))
                data = {
                    **draft, "lines": lines,
                    "return_date": min(order["dates"].get("delivered_on", order["date"]) + dt.timedelta(days=rng.randint(1, 20)), ANCHOR),
                    "reason": self.option("return_reason", reason, "other"), "status": self.option("return_status", status, "draft"),
                    "description": {"quality_issue": "到货后开机测试故障，客户要求退货。", "damaged_in_transit": "物流运输导致外包装及设备损坏。",
                                    "wrong_item": "发货型号与订单不符。", "customer_cancelled": "客户项目取消，协商退回未拆封设备。"}
                    .get(reason, "经与客户协商办理退货。"),
                }
                self.create(user, "return_order", data, c)

    # ----------------------------------------------------------- activities
    def load_activities(self, c) -> None:
        opps_of: dict[int, list[dict]] = {}
        for o in self.opportunities:
            opps_of.setdefault(o["customer"]["id"], []).append(o)
        weights = [{"a": 5, "b": 3, "c": 2}.get(cu["tier"], 1) for cu in self.customers]
        for _ in range(self.count("activity")):
            rng = self.rng
            cust = rng.choices(self.customers, weights=weights)[0]
            atype = self.weighted((("call", 30), ("visit", 20), ("task", 18), ("meeting", 10), ("wechat", 10),
                                   ("email", 8), ("demo", 4)))
            opp = rng.choice(opps_of[cust["id"]]) if cust["id"] in opps_of and rng.random() < 0.5 else None
            project = (opp["project"] if opp else rng.choice(PROJECTS))[0].replace("项目", "")
            contact_id = self.contact_for(cust)
            due = self.moment(-90, 45)
            if due.date() < ANCHOR:
                status = self.weighted((("completed", 78), ("not_started", 10), ("cancelled", 6), ("deferred", 6)))
            else:
                status = self.weighted((("not_started", 85), ("in_progress", 15)))
            reminder = None
            if rng.random() < 0.35:
                reminder = due - rng.choice((dt.timedelta(minutes=15), dt.timedelta(minutes=30), dt.timedelta(hours=1),
                                             dt.timedelta(days=1)))
            owner = cust["owner"]
            assignee = owner if rng.random() < 0.85 else rng.choice(self.users_of("rep", "sales_manager") or [owner])
            subject = rng.choice(ACTIVITY_SUBJECTS.get(atype, ACTIVITY_SUBJECTS["task"])).format(
                short=cust["short"], contact=self.contact_names.get(contact_id, "客户"), project=project)
            data = {
                "subject": subject[:200], "type": self.option("activity_type", atype, "task"),
                "status": self.option("activity_status", status, "not_started"),
                "priority": self.option("priority", self.weighted((("normal", 65), ("high", 20), ("low", 10), ("urgent", 5)))),
                "customer": cust["id"], "contact": contact_id, "opportunity": opp["id"] if opp else None,
                "assigned_to": self.user_ids[assignee], "due_at": due, "reminder_at": reminder,
                "duration_minutes": rng.choice((15, 30, 30, 60, 60, 90, 120)) if atype in ("visit", "meeting", "demo", "call") else None,
                "location": cust["address"] if atype in ("visit", "meeting") else None,
                "result": rng.choice(ACTIVITY_RESULTS) if status == "completed" else None,
            }
            self.create(owner, "activity", data, c)

    # -------------------------------------------------------------- service
    # what each engineer is skilled in (matched with a request's type by the dispatch rules);
    # nobody takes consultations, training or "other": those wait on the dispatch board
    SKILLS = {"wuhao": ("repair", "installation", "inspection"), "sunpeng": ("repair", "maintenance", "installation")}

    def load_skills(self) -> None:
        """Engineers' skills, kept by the service manager on the dispatch board."""
        assignment = self.meta.assignment_for("service_request")
        if assignment is None or "skill" not in assignment.attributes():
            return
        keys = self.meta.picklists[self.meta.entity("service_request").field(assignment.attributes()["skill"]).picklist].keys()
        manager = (self.users_of("service_manager") or ["admin"])[0]
        for username, skills in self.SKILLS.items():
            if username in self.user_ids:
                self.svc[manager].dispatch.set_attributes("service_request", self.user_ids[username], "skill",
                                                          [k for k in skills if k in keys])

    def quiet_closed_work(self, c) -> None:
        """The demo's history was typed in at once: notifications that someone was named on a
        request, repair or feedback long closed would only bury the live ones, so they are read."""
        n = self.site.tables.notification
        for entity, field, final in (("service_request", "status", ("resolved", "closed")),
                                     ("repair_order", "status", ("delivered",)),
                                     ("feedback", "status", ("replied", "closed"))):
            if not self.has(entity, field):
                continue
            table = self.site.tables[entity]
            closed = sa.select(table.c.id).where(table.c[field].in_(final))
            c.execute(sa.update(n).where(n.c.kind == "assigned", n.c.entity == entity, n.c.record_id.in_(closed),
                                         n.c.read_at.is_(None)).values(read_at=ANCHOR_TIME))

    def load_service(self, c) -> None:
        rng = self.rng
        engineers = self.users_of("engineer") or self.users_of("service_manager") or ["admin"]
        service_staff = self.users_of("service_manager", "engineer") or ["admin"]
        dispatched = self.meta.assignment_for("service_request") is not None
        hardware = [p for p in self.products if not p["cat"].startswith(("SVC", "SW", "NET-OPT", "OFF-SUP"))] or self.products
        repair_requests = []
        total = self.count("service_request")
        just_in = max(6, total // 25)  # the last ones came in the last days: the dispatch rules' work
        for i in range(total):
            fresh = i - (total - just_in)
            cust = rng.choice(self.customers)
            stype = self.weighted((("repair", 40), ("installation", 18), ("maintenance", 12), ("consultation", 12),
                                   ("inspection", 8), ("training", 5), ("other", 5)))
            if fresh >= 0:  # every kind of request: some find a skilled engineer, some wait on the board
                stype = self.option("service_request_type", FRESH_TYPES[fresh % len(FRESH_TYPES)]) or stype
            product = rng.choice(hardware) if rng.random() < 0.8 else None
            subject = rng.choice(SR_SUBJECTS[stype]).format(product=product["name"] if product else "设备")
            reported = self.moment(-150, 0) if fresh < 0 else self.moment(-3, 0)
            age = (ANCHOR_TIME - reported).days
            if age > 30:
                status = self.weighted((("closed", 70), ("resolved", 25), ("waiting_customer", 5)))
            elif age > 7:
                status = self.weighted((("resolved", 40), ("closed", 25), ("in_progress", 20), ("waiting_customer", 15)))
            else:
                status = self.weighted((("new", 25), ("assigned", 30), ("in_progress", 35), ("resolved", 10)))
            priority = self.weighted((("normal", 55), ("high", 25), ("urgent", 8), ("low", 12)))
            if fresh >= 0:
                status, priority = "new", FRESH_PRIORITIES[fresh % len(FRESH_PRIORITIES)]
            engineer = rng.choice(engineers) if status != "new" else None
            if dispatched and status in ("new", "assigned"):
                # reported lately and not started: the dispatch rules choose the engineer (or
                # leave it on the board for the service manager)
                status, engineer = "new", None
            due = reported + dt.timedelta(hours={"urgent": 4, "high": 8, "normal": 48, "low": 120}[priority])
            resolved = None
            if status in ("resolved", "closed"):
                resolved = self.later(reported, rng.choice((0, 0, 1, 1, 2, 3, 5)))
            end = (resolved or ANCHOR_TIME).date()
            logs = []
            if status not in ("new",):
                for _ in range(rng.randint(1, 4) if status not in ("assigned",) else rng.randint(0, 1)):
                    span = max(0, (end - reported.date()).days)
                    logs.append({"work_date": reported.date() + dt.timedelta(days=rng.randint(0, span)),
                                 "engineer": self.user_ids[engineer or rng.choice(engineers)],
                                 "hours": Decimal(rng.choice(("0.5", "1", "1.5", "2", "3", "4", "6", "8"))),
                                 "content": rng.choice(WORK_LOG)})
                logs.sort(key=lambda line: line["work_date"])
            parts = REPAIR_PARTS.get((product or {}).get("cat", "COMP").split("-")[0], REPAIR_PARTS["COMP"])
            data = {
                "subject": subject[:200], "customer": cust["id"], "contact": self.contact_for(cust),
                "product": product["id"] if product else None, "type": self.option("service_request_type", stype, "other"),
                "priority": self.option("priority", priority, "normal"),
                "status": self.option("service_request_status", status, "new"),
                "engineer": self.user_ids[engineer] if engineer else None, "reported_at": reported, "due_at": due,
                "resolved_at": resolved,
                "description": rng.choice(SR_DESCRIPTIONS["repair" if stype == "repair" else "other"]).format(
                    subject=subject, n=rng.randint(1, 30), place=rng.choice(PLACES)),
                "solution": SOLUTIONS.get(stype, SOLUTIONS["other"]).format(part=rng.choice(parts)[0]) if resolved else None,
                "work_log": logs,
            }
            # the service desk (the service manager) or the customer's sales rep records a request:
            # engineers may not set a request's customer
            desk = self.users_of("service_manager") or service_staff
            owner = cust["owner"] if cust.get("owner") in self.svc and rng.random() < 0.25 else rng.choice(desk)
            rec = self.create(owner, "service_request", data, c)
            if stype == "repair" and product:
                repair_requests.append((rec["id"], cust, product, reported, engineer or desk[0]))
        if self.has("repair_order"):
            self.load_repairs(c, repair_requests, engineers, service_staff)
        self.load_feedback(c)
        self.quiet_closed_work(c)

    def serial(self, brand: str) -> str:
        alnum = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
        pick = lambda n: "".join(self.rng.choice(alnum) for _ in range(n))  # noqa: E731
        if brand == "联想":
            return "PF" + pick(6)
        if brand == "戴尔":
            return pick(7)
        if brand == "惠普":
            return "CN" + pick(8)
        if brand == "华为":
            return "2102" + self.digits(8) + pick(8)
        return pick(12)

    def load_repairs(self, c, repair_requests, engineers, service_staff) -> None:
        rng = self.rng
        repairable = [p for p in self.products if p["cat"].split("-")[0] in REPAIR_FAULTS and p["unit"] == "unit"] or self.products
        for i in range(self.count("repair_order")):
            if i < len(repair_requests) and rng.random() < 0.6:
                request, cust, product, reported, request_owner = repair_requests[i]
                received = self.later(reported, rng.randint(0, 3))
            else:
                request, cust, product, request_owner = None, rng.choice(self.customers), rng.choice(repairable), None
                received = self.moment(-120, 0)
            group = product["cat"].split("-")[0]
            group = group if group in REPAIR_FAULTS else "COMP"
            age = (ANCHOR_TIME - received).days
            if age > 20:
                status = self.weighted((("delivered", 85), ("ready", 10), ("waiting_parts", 5)))
            else:
                status = self.weighted((("received", 15), ("diagnosing", 20), ("waiting_parts", 20), ("repairing", 25),
                                        ("ready", 10), ("delivered", 10)))
            warranty = rng.random() < 0.6 and product["months"] > 0
            used = rng.sample(REPAIR_PARTS[group], rng.randint(1, min(3, len(REPAIR_PARTS[group])))) \
                if status not in ("received", "diagnosing") else []
            parts = [{"part_name": name, "quantity": rng.choice((1, 1, 1, 2)),
                      "unit_price": Decimal(0) if warranty else Decimal(rng.randrange(lo, hi, 10))}
                     for name, lo, hi in used]
            engineer = rng.choice(engineers) if status != "received" or rng.random() < 0.5 else None
            data = {
                "customer": cust["id"], "contact": self.contact_for(cust), "service_request": request,
                "product": product["id"], "serial_number": self.serial(product["brand"]),
                "fault_description": rng.choice(REPAIR_FAULTS[group]),
                "diagnosis": rng.choice([d for d in DIAGNOSES if not (warranty and "非保修" in d)]).format(part=used[0][0])
                if used else None,
                "received_at": received, "engineer": self.user_ids[engineer] if engineer else None,
                "status": self.option("repair_status", status, "received"), "under_warranty": warranty,
                "repair_fee": None if warranty else Decimal(rng.choice((80, 150, 200, 300, 500))),
                "parts": parts,
                "delivered_at": self.later(received, rng.randint(1, 14)) if status == "delivered" else None,
            }
            # a repair order opened from a service request is opened by its engineer (or the service desk)
            self.create(request_owner or engineer or rng.choice(service_staff), "repair_order", data, c)

    def load_feedback(self, c) -> None:
        rng = self.rng
        handlers_by_dept = {
            "service": self.users_of("service_manager", "engineer"), "technical_support": self.users_of("engineer"),
            "sales": self.users_of("sales_manager", "rep"), "marketing": self.users_of("marketing"),
            "general_office": self.users_of("gm"), "customer_centre": self.users_of("service_manager"),
        }
        owners = self.users_of("service_manager", "engineer") or ["admin"]  # the service desk records feedback
        for _ in range(self.count("feedback")):
            ftype = self.weighted((("complaint", 30), ("suggestion", 25), ("praise", 15), ("inquiry", 30)))
            subject, content, depts = rng.choice(FEEDBACK[ftype])
            dept = self.option("department", *depts, "customer_centre", "service") or depts[0]
            status = self.weighted((("new", 12), ("submitted", 15), ("in_progress", 18), ("replied", 25), ("closed", 30)))
            handlers = handlers_by_dept.get(dept) or self.users_of("service_manager") or ["admin"]
            handler = rng.choice(handlers) if status != "new" else None
            cust = rng.choice(self.customers)
            data = {
                "subject": subject, "customer": cust["id"], "contact": self.contact_for(cust),
                "type": self.option("feedback_type", ftype), "department": dept, "handler": self.user_ids[handler] if handler else None,
                "status": self.option("feedback_status", status, "new"),
                "priority": self.option("priority", "high" if ftype == "complaint" and rng.random() < 0.5 else "normal"),
                "received_at": self.moment(-120, 0), "content": content,
                "response": rng.choice(FEEDBACK_RESPONSES) if status in ("replied", "closed") or rng.random() < 0.1 and status != "new" else None,
            }
            if status == "submitted":  # routed below, through the workflow
                data["status"] = self.option("feedback_status", "new")
            owner = rng.choice(owners)
            rec = self.create(owner, "feedback", data, c)
            if status == "submitted" and rec.get("status") == "new":
                self.to_submit.append((owner, "feedback", rec["id"]))

    # ------------------------------------------------------------ knowledge
    def load_knowledge(self, c) -> None:
        rng = self.rng
        self.to_approve: list[tuple[str, int]] = []
        items = [(cat, title, kw, summary, html, None) for cat, title, kw, summary, html in KNOWLEDGE_GENERIC]
        product_items = []
        for prefixes, cat, title, kw, summary, html in KNOWLEDGE_PRODUCT:
            for p in self.products:
                if p["cat"] in prefixes:
                    name = p["name"].split("（")[0]
                    product_items.append((cat, title.format(name=name), f"{p['brand']} {kw}", summary,
                                          html.format(name=name), p["id"]))
        rng.shuffle(product_items)
        seen, chosen = set(), []
        for item in items + product_items:
            if item[1] not in seen:
                seen.add(item[1])
                chosen.append(item)
        want = self.count("knowledge_article")
        base = list(chosen)
        while len(chosen) < want:  # beyond the built-in texts: yearly revisions
            k = len(chosen) // len(base)
            item = base[len(chosen) % len(base)]
            chosen.append((item[0], f"{item[1]}（{2026 - k}版）") + item[2:])
        chosen = chosen[:want]
        rng.shuffle(chosen)
        authors = self.users_of("service_manager", "engineer") or ["admin"]
        for cat, title, kw, summary, html, product in chosen:
            status = self.weighted((("published", 70), ("draft", 10), ("submitted", 7), ("reviewed", 6), ("archived", 7)))
            author = "zhengxue" if cat == "sales_policy" and "zhengxue" in self.svc else rng.choice(authors)
            data = {
                "title": title[:200], "category": self.option("knowledge_category", cat), "status": self.option("knowledge_status", status, "draft"),
                "product": product, "keywords": kw[:200], "summary": summary, "content": html,
                "published_at": self.day(-400, 0) if status in ("published", "archived") else None,
            }
            if status in ("submitted", "reviewed"):  # reviewed below, through the workflow
                data["status"] = self.option("knowledge_status", "draft")
            rec = self.create(author, "knowledge_article", data, c)
            if status in ("submitted", "reviewed") and rec.get("status") == "draft":
                self.to_submit.append((author, "knowledge_article", rec["id"]))
                if status == "reviewed":
                    self.to_approve.append(("knowledge_article", rec["id"]))
