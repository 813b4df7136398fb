"""Find packs, read and validate their documents, merge the layers, build the snapshot.

Order of work: every document is read (YAML with lines) and validated against the JSON
Schema of its kind; the valid ones are merged pack by pack (:mod:`kehu.metadata.merge`);
semantic checks (:mod:`kehu.metadata.checks`) then run on each document against the merged
result, so errors point at the file and line that caused them. All problems are collected
and raised together as one :class:`MetadataError`.

One broken document is one problem, not forty: a document that cannot be read or fails its
schema is left out of the merge, so every layout, role and lookup naming what it defines
would also say "unknown entity 'customer'". Those follow-on problems (each carries the
(kind, name) it is ``about``) are dropped while the document they stem from is broken.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable

import jsonschema
from referencing import Registry, Resource

from kehu.metadata import build, checks, merge
from kehu.metadata.documents import Document, read_document
from kehu.metadata.model import Metadata
from kehu.metadata.problems import MetadataError, Problem, did_you_mean

KINDS = ("pack", "entity", "picklist", "layout", "role", "workflow", "module", "assignment")
DOC_FOLDERS = ("metadata", "layouts", "workflows")
SUFFIXES = (".yaml", ".yml", ".json")


@lru_cache(maxsize=None)
def validators() -> dict[str, jsonschema.protocols.Validator]:
    folder = resources.files("kehu.metadata") / "schemas"
    schemas = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in folder.iterdir() if p.name.endswith(".json")}
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values()
    )
    out = {}
    for kind in KINDS:
        schema = schemas[f"{kind}.json"]
        cls = jsonschema.validators.validator_for(schema)
        out[kind] = cls(schema, registry=registry)
    return out


def schema_of(kind: str) -> dict:
    return validators()[kind].schema


def base_pack_path() -> Path:
    """The base pack: bundled in the wheel, else the repository root of this checkout."""
    bundled = Path(str(resources.files("kehu"))) / "_base"
    if (bundled / "metadata" / "pack.yaml").is_file():
        return bundled
    return Path(__file__).resolve().parents[3]


def discover_packs(base: Path | None, plugins_dir: Path | None, extra: Iterable[Path] = ()) -> list[Path]:
    """Pack folders in load order before dependency sorting: base, plugins/*, extra."""
    found = []
    if base is not None:
        found.append(Path(base))
    if plugins_dir is not None and Path(plugins_dir).is_dir():
        found.extend(sorted(p for p in Path(plugins_dir).iterdir() if (p / "metadata" / "pack.yaml").is_file()))
    found.extend(Path(p) for p in extra)
    return found


def _display(path: Path, root: Path) -> str:
    """A short name for messages: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


FOLDER_KINDS = {"entities": "entity", "picklists": "picklist", "roles": "role", "workflows": "workflow", "layouts": "layout"}
_TOP_KEY = re.compile(r"^(kind|name|entity):[ \t]*['\"]?([A-Za-z][A-Za-z0-9_]*)", re.MULTILINE)


def defines(path: Path) -> tuple[str, str] | None:
    """What a document that could not be parsed was meant to define, (kind, name), read from
    its top-level ``kind:`` and ``name:`` lines, else from its folder and file name."""
    try:
        with path.open("rb") as stream:
            text = stream.read(200_000).decode("utf-8", "replace")
    except OSError:
        text = ""
    found = {key: value for key, value in reversed(_TOP_KEY.findall(text))}
    kind = found.get("kind") or FOLDER_KINDS.get(path.parent.name) or ("pack" if path.name == "pack.yaml" else None)
    name = found.get("entity" if kind == "layout" else "name") or path.name.split(".")[0]
    return (kind, name) if kind else None


def read_pack(folder: Path, problems: list[Problem], broken: set | None = None) -> list[Document]:
    """Read every document of one pack; the manifest comes first. What an unreadable
    document would have defined is added to ``broken``."""
    folder = folder.resolve()
    manifest = folder / "metadata" / "pack.yaml"
    if not manifest.is_file():
        problems.append(Problem(str(folder), 1, "", "not a pack: metadata/pack.yaml is missing"))
        return []
    files = [manifest]
    for sub in DOC_FOLDERS:
        root = folder / sub
        if root.is_dir():
            files.extend(sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES and p != manifest and p.is_file()))
    docs = []
    for path in files:
        if path.is_symlink():
            problems.append(Problem(str(path), 1, "", "links are not followed in packs"))
            continue
        doc = read_document(path, _display(path, folder), problems)
        if doc is not None:
            docs.append(doc)
        elif broken is not None and (meant := defines(path)):
            broken.add(meant)
    return docs


def _defined_by(doc: Document) -> tuple[str, str] | None:
    data = doc.data if isinstance(doc.data, dict) else {}
    name = data.get("entity") if doc.kind == "layout" else data.get("name")
    return (doc.kind, name) if isinstance(doc.kind, str) and isinstance(name, str) else None


def validate_shape(doc: Document, problems: list[Problem]) -> bool:
    kind = doc.kind
    if kind not in KINDS:
        hint = did_you_mean(kind, KINDS) if isinstance(kind, str) else ""
        msg = "missing 'kind'" if kind is None else f"unknown kind '{kind}'"
        problems.append(doc.problem(("kind",), f"{msg}; one of: {', '.join(KINDS)}.{hint}"))
        return False
    ok = True
    for err in validators()[kind].iter_errors(doc.data):
        path = tuple(err.absolute_path)
        message = err.message
        if err.validator == "additionalProperties":
            extra = [k for k in err.instance if k not in err.schema.get("properties", {})]
            known = list(err.schema.get("properties", {}))
            message = "; ".join(f"unknown property '{k}'.{did_you_mean(k, known)}" for k in extra)
            if extra:
                path = path + (extra[0],)
        elif "propertyNames" in err.schema_path and isinstance(err.instance, str):
            path = path + (err.instance,)
            choices = err.schema.get("enum") if isinstance(err.schema, dict) else None
            if choices:  # a fixed set of keys (e.g. a role's actions)
                message = f"unknown key '{err.instance}'; one of: {', '.join(choices)}.{did_you_mean(err.instance, choices)}"
            else:
                message = f"'{err.instance}' is not a valid name (lower-case ASCII letters, digits and _, starting with a letter, 2-40 characters)"
        elif err.validator == "type" and isinstance(err.instance, bool) and "string" in str(err.validator_value):
            message += " (YAML reads yes/no/on/off/true/false as booleans; put the text in quotes)"
        elif err.validator == "pattern" and isinstance(err.instance, str):
            message = f"'{err.instance}' is not a valid name here (expected pattern {err.validator_value})"
        problems.append(doc.problem(path, message))
        ok = False
    return ok


def load_documents(pack_dirs: list[Path], problems: list[Problem], broken: set | None = None) -> list[list[Document]]:
    """Read and shape-check every pack; return packs (lists of docs) in dependency order.
    What the documents left out would have defined is added to ``broken``."""
    broken = set() if broken is None else broken
    packs: dict[str, list[Document]] = {}
    order: list[str] = []
    for folder in pack_dirs:
        docs = read_pack(folder, problems, broken)
        if not docs:
            continue
        manifest = docs[0]
        valid = [d for d in docs if validate_shape(d, problems)]
        broken.update(meant for d in docs if d not in valid and (meant := _defined_by(d)))
        if manifest not in valid or manifest.kind != "pack":
            # the whole pack is left out: so is everything its documents define
            broken.update(meant for d in docs if (meant := _defined_by(d)))
            continue
        name = manifest.data["name"]
        if name in packs:
            problems.append(manifest.problem(("name",), f"pack '{name}' is also defined by {packs[name][0].file}"))
            continue
        for d in valid:
            d.pack = name
        packs[name] = [d for d in valid if d.kind != "pack" or d is manifest]
        for d in valid:
            if d.kind == "pack" and d is not manifest:
                problems.append(d.problem(("kind",), "a pack has one manifest, metadata/pack.yaml"))
        order.append(name)
    # dependency order: stable topological sort keeping discovery order otherwise
    placed: list[str] = []
    visiting: set[str] = set()

    def place(name: str, chain: tuple[str, ...]) -> None:
        if name in placed:
            return
        manifest = packs[name][0]
        if name in visiting:
            problems.append(manifest.problem(("requires",), f"packs require each other in a cycle: {' -> '.join(chain + (name,))}"))
            return
        visiting.add(name)
        for i, dep in enumerate(manifest.data.get("requires", [])):
            if dep not in packs:
                problems.append(manifest.problem(("requires", i), f"requires pack '{dep}', which is not installed.{did_you_mean(dep, packs)}",
                                                 about=("pack", dep)))
            else:
                place(dep, chain + (name,))
        visiting.discard(name)
        placed.append(name)

    for name in order:
        place(name, ())
    return [packs[n] for n in placed]


def load_metadata(pack_dirs: list[Path], field_types) -> Metadata:
    """Load, validate and merge ``pack_dirs``; raise MetadataError listing every problem."""
    problems: list[Problem] = []
    broken: set[tuple[str, str]] = set()
    packs = load_documents(pack_dirs, problems, broken)
    merged = merge.merge(packs, problems)
    checks.check(packs, merged, field_types, problems)
    problems = [p for p in problems if not (p.about and p.about in broken)]  # follow-ons of a broken document
    if problems:
        raise MetadataError(problems)
    digest = hashlib.sha256(json.dumps(merged.as_json(), sort_keys=True, default=str).encode()).hexdigest()[:16]
    return build.build(merged, packs, digest)
