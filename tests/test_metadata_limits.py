"""Metadata that would cost minutes, crash the loader or hold a worker is refused when it
loads, with its file and line: heavy YAML (aliases, depth, size), loops (formulas, line
entities, cascading lists), patterns that backtrack, defaults YAML would retype. And
`kehu validate` checks the packs the app loads (KEHU_PACKS), one problem per broken
document."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kehu.metadata import MetadataError, load_metadata
from kehu.metadata.documents import MAX_BYTES, MAX_DEPTH
from kehu.plugins import field_type_registry, make_plugin_manager
from kehu_testing import FIXTURE_PACK, REPO, line_of, write

REGISTRY = field_type_registry(make_plugin_manager())
KEHU = Path(sys.executable).parent / "kehu"


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(FIXTURE_PACK, tmp_path / "base")
    return tmp_path


def problems(*packs) -> list[str]:
    with pytest.raises(MetadataError) as info:
        load_metadata(list(packs), REGISTRY)
    return [str(p) for p in info.value.problems]


def thing(work: Path, fields: str, extra: str = "") -> Path:
    return write(work / "base", "metadata/entities/thing.yaml",
                 "kind: entity\nname: thing\nlabel: {en: Thing, zh: 东西}\n" + extra + "fields:\n" + fields)


# ---------------------------------------------------------------- heavy YAML
def test_billion_laughs_is_one_problem_not_minutes(work):
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):  # 10^9 values once expanded
        levels.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    path = write(work / "base", "metadata/entities/lol.yaml", "kind: entity\nname: lol\n" + "\n".join(levels) + "\n")
    found = problems(work / "base")
    assert len(found) == 1
    # a4 is the first key whose value passes 100,000 values (10^5 once expanded)
    assert found == [f"base/metadata/entities/lol.yaml:{line_of(path, 'a4:')}: more than 100,000 values once "
                     "its aliases are expanded; write the document without aliases"]


def test_too_many_aliases_are_refused_where_they_start(work):
    body = "kind: entity\nname: many\nbase: &b x\nlist: [" + ", ".join(["*b"] * 101) + "]\n"
    write(work / "base", "metadata/entities/many.yaml", body)
    assert problems(work / "base") == [
        "base/metadata/entities/many.yaml:4: not valid YAML: more than 100 aliases (*name); write the values out"]


def test_deep_nesting_is_refused_without_a_recursion_error(work):
    write(work / "base", "metadata/entities/deep.yaml", "kind: entity\nname: deep\nx: " + "[" * 20000 + "]" * 20000 + "\n")
    found = problems(work / "base")
    assert found == [f"base/metadata/entities/deep.yaml:3: not valid YAML: nested more than {MAX_DEPTH} levels deep"]


def test_an_oversized_document_is_refused_before_it_is_parsed(work):
    write(work / "base", "metadata/entities/huge.yaml", "kind: entity\nname: huge\n# " + "x" * MAX_BYTES + "\n")
    assert problems(work / "base") == [
        f"base/metadata/entities/huge.yaml:1: the document is larger than {MAX_BYTES:,} bytes; split it"]


# ---------------------------------------------------------------------- loops
def test_formulas_reading_each_other_are_refused_with_the_loop(work):
    path = thing(work, """\
      aa:
        type: formula
        label: {en: A, zh: 甲}
        expression: "coalesce(bb, 0) + 1"
      bb:
        type: formula
        label: {en: B, zh: 乙}
        expression: "coalesce(cc, 0) * 2"
      cc:
        type: formula
        label: {en: C, zh: 丙}
        expression: "aa"
      dd:
        type: formula
        label: {en: D, zh: 丁}
        expression: "dd + 1"
    """)
    found = problems(work / "base")
    assert found == [
        f"base/metadata/entities/thing.yaml:{line_of(path, 'coalesce(bb')}: fields.aa.expression: formulas read each other "
        "in a loop: aa -> bb -> cc -> aa; one of them must be computed from other fields",
        f"base/metadata/entities/thing.yaml:{line_of(path, 'dd + 1')}: fields.dd.expression: formulas read each other "
        "in a loop: dd -> dd; one of them must be computed from other fields",
    ]


def test_formulas_are_computed_after_the_formulas_they_read(work):
    thing(work, """\
      nn:
        type: integer
        label: {en: N, zh: 数}
      total:
        type: formula
        label: {en: Total, zh: 合计}
        expression: "coalesce(double, 0) + 1"
      double:
        type: formula
        label: {en: Double, zh: 双倍}
        expression: "coalesce(nn, 0) * 2"
    """)
    meta = load_metadata([work / "base"], REGISTRY)
    assert [f.name for f in meta.entity("thing").formulas()] == ["double", "total"]


def test_line_entities_of_each_other_are_refused_with_the_loop(work):
    write(work / "base", "metadata/entities/egg.yaml",
          "kind: entity\nname: egg\nlabel: {en: Egg, zh: 蛋}\nchild_of: hen\nfields:\n  hen:\n    type: lookup\n"
          "    label: {en: Hen, zh: 鸡}\n    entity: hen\n")
    path = write(work / "base", "metadata/entities/hen.yaml",
                 "kind: entity\nname: hen\nlabel: {en: Hen, zh: 鸡}\nchild_of: egg\nfields:\n  egg:\n    type: lookup\n"
                 "    label: {en: Egg, zh: 蛋}\n    entity: egg\n")
    found = [p for p in problems(work / "base") if "loop" in p]
    assert found == ["base/metadata/entities/egg.yaml:4: child_of: entities are lines of each other in a loop: "
                     "egg -> hen -> egg; a line entity's parent is a top-level entity"]
    assert path.exists()


def test_cascading_lists_depending_on_each_other_are_refused(work):
    write(work / "base", "metadata/picklists/ping.yaml",
          "kind: picklist\nname: ping\nlabel: {en: Ping, zh: 乒}\nparent: pong\noptions:\n  - {key: a, label: {en: A, zh: 甲}, parent: b}\n")
    write(work / "base", "metadata/picklists/pong.yaml",
          "kind: picklist\nname: pong\nlabel: {en: Pong, zh: 乓}\nparent: ping\noptions:\n  - {key: b, label: {en: B, zh: 乙}, parent: a}\n")
    path = thing(work, """\
      xx:
        type: picklist
        label: {en: X, zh: 甲}
        picklist: ping
        depends_on: yy
      yy:
        type: picklist
        label: {en: Y, zh: 乙}
        picklist: pong
        depends_on: xx
    """)
    found = [p for p in problems(work / "base") if "loop" in p]
    assert found == [
        f"base/metadata/entities/thing.yaml:{line_of(path, 'depends_on')}: fields.xx.depends_on: cascading fields depend on "
        "each other in a loop: xx -> yy -> xx",
        "base/metadata/picklists/ping.yaml:4: parent: picklists are each other's parents in a loop: ping -> pong -> ping",
    ]


# ------------------------------------------------------------------- patterns
def test_a_catastrophic_pattern_cannot_hold_a_worker(work):
    thing(work, """\
      code:
        type: text
        label: {en: Code, zh: 编码}
        pattern: "^(a+)+$"
        max_length: 100000
    """)
    meta = load_metadata([work / "base"], REGISTRY)
    field = meta.entity("thing").field("code")
    checked = REGISTRY["text"].input_field(field, "en")
    from marshmallow import ValidationError

    with pytest.raises(ValidationError) as info:  # Python's re backtracks 2^n times here; RE2 is linear
        checked.deserialize("a" * 50_000 + "!")
    assert info.value.messages == ["Not in the expected format."]
    assert checked.deserialize("a" * 50_000) == "a" * 50_000


def test_a_pattern_re2_cannot_run_is_refused_at_load(work):
    path = thing(work, """\
      code:
        type: text
        label: {en: Code, zh: 编码}
        pattern: "^(a)\\\\1$"
      other:
        type: phone
        label: {en: Other, zh: 其他}
        pattern: "^(?=1)[0-9]+$"
    """)
    found = problems(work / "base")
    assert len(found) == 2
    assert found[0].startswith(f"base/metadata/entities/thing.yaml:{line_of(path, 'pattern')}: fields.code.pattern: "
                               "not a regular expression Kehu can run: invalid escape sequence: \\1")
    assert "fields.other.pattern: not a regular expression Kehu can run: invalid perl operator: (?=" in found[1]


# ------------------------------------------------------------------- defaults
def test_text_defaults_stay_as_written(work):
    thing(work, """\
      code:
        type: text
        label: {en: Code, zh: 编码}
        default: 010
      answer:
        type: text
        label: {en: Answer, zh: 回答}
        default: yes
      since:
        type: text
        label: {en: Since, zh: 起始}
        default: 2024-01-01
      ratio:
        type: text
        label: {en: Ratio, zh: 比例}
        default: 1.50
      count:
        type: integer
        label: {en: Count, zh: 数量}
        default: 010
      flag:
        type: boolean
        label: {en: Flag, zh: 标志}
        default: yes
      day:
        type: date
        label: {en: Day, zh: 日期}
        default: 2024-01-01
      price:
        type: currency
        label: {en: Price, zh: 价格}
        default: 0.1
    """)
    meta = load_metadata([work / "base"], REGISTRY)
    entity = meta.entity("thing")
    defaults = {name: REGISTRY[entity.field(name).type].default(entity.field(name))
                for name in ("code", "answer", "since", "ratio", "count", "flag", "day", "price")}
    import datetime as dt
    from decimal import Decimal

    assert defaults == {"code": "010", "answer": "yes", "since": "2024-01-01", "ratio": "1.50", "count": 10,
                        "flag": True, "day": dt.date(2024, 1, 1), "price": Decimal("0.10")}


def test_defaults_that_are_not_values_of_their_field_are_refused(work):
    path = thing(work, """\
      count:
        type: integer
        label: {en: Count, zh: 数量}
        default: many
      small:
        type: integer
        label: {en: Small, zh: 小}
        max: 10
        default: 11
      day:
        type: date
        label: {en: Day, zh: 日期}
        default: 2024-13-01
      tier:
        type: picklist
        label: {en: Tier, zh: 等级}
        picklist: tier
        default: platinum
      code:
        type: text
        label: {en: Code, zh: 编码}
        max_length: 2
        default: abc
      total:
        type: formula
        label: {en: Total, zh: 合计}
        expression: "count"
        default: 1
    """)
    where = {name: line_of(path, "default:", i) for i, name in enumerate(("count", "small", "day", "tier", "code", "total"), 1)}
    assert problems(work / "base") == [
        f"base/metadata/entities/thing.yaml:{where['count']}: fields.count.default: default 'many' is not a valid integer: Enter a whole number.",
        f"base/metadata/entities/thing.yaml:{where['small']}: fields.small.default: default '11' is not a valid integer: Must be at most 10.",
        f"base/metadata/entities/thing.yaml:{where['day']}: fields.day.default: default '2024-13-01' is not a valid date: "
        "Enter a date as YYYY-MM-DD. (a date is written YYYY-MM-DD, or 'today')",
        f"base/metadata/entities/thing.yaml:{where['tier']}: fields.tier.default: default 'platinum' is not an option of 'tier'.",
        f"base/metadata/entities/thing.yaml:{where['code']}: fields.code.default: default 'abc' is not a valid text: Enter at most 2 characters.",
        f"base/metadata/entities/thing.yaml:{where['total']}: fields.total.default: a formula field has no default; it is not typed in",
    ]


def test_values_a_workflow_sets_must_fit_their_columns(work):
    path = write(work / "base", "workflows/account_review.yaml", """\
        kind: workflow
        name: account_review
        label: {en: Review, zh: 审核}
        entity: account
        on_submit: {set: {ratio: 1.0e+30, status: 010, notes: "a\\u0000b", employees: 5}}
        steps:
          - name: check
            label: {en: Check, zh: 检查}
            approvers: [{role: manager}]
    """)
    line = line_of(path, "on_submit")
    assert problems(work / "base") == [
        f"base/workflows/account_review.yaml:{line}: on_submit.set.notes: 'a\\x00b' cannot be stored in 'notes': "
        "Remove the control character U+0000 (NULL); it cannot be stored.",
        f"base/workflows/account_review.yaml:{line}: on_submit.set.ratio: 1e+30 cannot be stored in 'ratio': "
        "Must be at most 999,999,999,999,999.999.",
        f"base/workflows/account_review.yaml:{line}: on_submit.set.status: 8 cannot be stored in 'status': Enter text.",
    ]


# ------------------------------------------------------------------ validate
def _broken_copy(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    for part in ("metadata", "layouts", "workflows"):
        shutil.copytree(REPO / part, project / part)
    customer = project / "metadata" / "entities" / "customer.yaml"
    customer.write_text(customer.read_text(encoding="utf-8").replace("name: customer\n", "name: customer\n  broken: [\n", 1),
                        encoding="utf-8")
    return project


def test_one_broken_document_is_one_problem(tmp_path):
    project = _broken_copy(tmp_path)
    result = subprocess.run([str(KEHU), "validate", str(project)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == ["project/metadata/entities/customer.yaml:3: not valid YAML: mapping values are not allowed here",
                     "1 problem(s) found."]


def test_a_schema_error_in_an_entity_is_not_repeated_by_everything_naming_it(tmp_path):
    project = _broken_copy(tmp_path)
    customer = project / "metadata" / "entities" / "customer.yaml"
    text = REPO.joinpath("metadata", "entities", "customer.yaml").read_text(encoding="utf-8")
    customer.write_text(text.replace("name: customer\n", "name: customer\ncolour: red\n", 1), encoding="utf-8")
    found = problems(project)
    assert len(found) == 1 and found[0].endswith("customer.yaml:3: colour: unknown property 'colour'."), found


def test_validate_checks_the_packs_named_in_kehu_packs(tmp_path):
    extra = tmp_path / "extra"
    write(extra, "metadata/pack.yaml", "kind: pack\nname: extra\nlabel: {en: Extra, zh: 扩展}\nversion: '1.0'\nrequires: [base]\n")
    write(extra, "metadata/entities/gadget.yaml", "kind: entity\nname: gadget\nlabel: {en: Gadget, zh: 小工具}\n"
                                                  "fields:\n  size:\n    type: integr\n    label: {en: Size, zh: 尺寸}\n")
    env = {"PATH": "/usr/bin:/bin", "KEHU_PACKS": str(extra)}
    result = subprocess.run([str(KEHU), "validate"], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 1
    assert "fields.size.type: unknown field type 'integr'. Did you mean 'integer'?" in result.stderr
    assert "Traceback" not in result.stderr
    write(extra, "metadata/entities/gadget.yaml", "kind: entity\nname: gadget\nlabel: {en: Gadget, zh: 小工具}\n")
    result = subprocess.run([str(KEHU), "validate"], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: 3 pack(s), ")
