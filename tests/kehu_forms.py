"""Forms as a browser sees them: parse a rendered ``<form>``, change its controls the way a
person does, and submit exactly what a browser would.

The form's state *is* its parsed HTML: typing sets an input's ``value``, ticking sets
``checked``, choosing sets an option's ``selected``, and "+ Add row" copies the grid's
``<template>`` row with ``__i__`` replaced (as ``kehu.js`` does). :meth:`HtmlForm.entries`
then builds the entry list by the HTML rules: controls inside ``<template>`` or disabled are
not submitted, an unticked checkbox sends nothing, a ``<select>`` sends its selected option
(else its first), only the pressed button is sent.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

from bs4 import BeautifulSoup, Tag

NOT_SUBMITTED = {"submit", "button", "image", "reset"}


def _in_template(el: Tag) -> bool:
    return any(parent.name == "template" for parent in el.parents)


def _disabled(el: Tag) -> bool:
    if el.has_attr("disabled"):
        return True
    return any(p.name == "fieldset" and p.has_attr("disabled") for p in el.parents)


class HtmlForm:
    """One ``<form>`` of a page, to be filled in and submitted like a browser does."""

    def __init__(self, form: Tag, page_url: str = "/"):
        self.form = form
        self.page_url = page_url
        self.files: dict[str, tuple[bytes, str]] = {}

    @classmethod
    def of(cls, html: str, selector: str = "form#record-form", page_url: str = "/") -> "HtmlForm":
        doc = BeautifulSoup(html, "html.parser")
        form = doc.select_one(selector)
        assert form is not None, f"no {selector} on {page_url}"
        return cls(form, page_url)

    # ------------------------------------------------------------ reading
    @property
    def action(self) -> str:
        return self.form.get("action") or urlsplit(self.page_url).path

    @property
    def method(self) -> str:
        return (self.form.get("method") or "get").lower()

    def controls(self, name: str | None = None) -> list[Tag]:
        """Submittable controls (not inside a <template>), optionally only those named ``name``:
        the form's own, and those elsewhere in the page that name it (``form="<id>"``)."""
        kinds = ["input", "select", "textarea", "button"]
        own = [el for el in self.form.find_all(kinds) if el.get("form") in (None, self.form.get("id"))]
        if self.form.get("id"):
            root = self.form
            while root.parent is not None:
                root = root.parent
            own += [el for el in root.find_all(kinds, attrs={"form": self.form["id"]}) if not self.form in el.parents]
        return [el for el in own if not _in_template(el) and (name is None or el.get("name") == name)]

    def control(self, name: str) -> Tag:
        found = [el for el in self.controls(name) if not (el.name == "button")]
        assert found, f"the form has no control named {name!r}"
        return found[0]

    def has(self, name: str) -> bool:
        return any(el.name != "button" for el in self.controls(name))

    def value(self, name: str):
        """What the control ``name`` shows: text, the selected option's value, checked or not,
        or the list of ticked values of a checkbox group."""
        els = [el for el in self.controls(name) if el.name != "button"]
        assert els, f"the form has no control named {name!r}"
        el = els[0]
        if el.name == "input" and el.get("type") == "checkbox":
            ticked = [e.get("value", "on") for e in els if e.has_attr("checked")]
            return ticked if len(els) > 1 or el.find_parent(class_="multi") else bool(ticked)
        if el.name == "select":
            chosen = [o for o in el.find_all("option") if o.has_attr("selected")] or el.find_all("option")[:1]
            return chosen[0].get("value", chosen[0].get_text()) if chosen else ""
        if el.name == "textarea":
            return el.get_text()
        return el.get("value", "")

    def entries(self, submitter: Tag | None = None) -> list[tuple[str, object]]:
        """The entry list a browser submits (files as (bytes, filename))."""
        out: list[tuple[str, object]] = []
        for el in self.controls():
            name = el.get("name")
            if not name or _disabled(el):
                continue
            kind = (el.get("type") or ("submit" if el.name == "button" else "text")).lower()
            if el.name == "button" or kind in NOT_SUBMITTED:
                if el is submitter:
                    out.append((name, el.get("value", "")))
                continue
            if el.name == "select":
                options = el.find_all("option")
                chosen = [o for o in options if o.has_attr("selected")]
                if not chosen and options and not el.has_attr("multiple"):
                    chosen = options[:1]
                out.extend((name, o.get("value", o.get_text())) for o in chosen)
            elif el.name == "textarea":
                out.append((name, el.get_text().replace("\r\n", "\n").replace("\n", "\r\n")))
            elif kind in ("checkbox", "radio"):
                if el.has_attr("checked"):
                    out.append((name, el.get("value", "on")))
            elif kind == "file":
                out.append((name, self.files.get(name, (b"", ""))))
            else:
                out.append((name, el.get("value", "")))
        return out

    def button(self, value: str | None = None, name: str = "_action") -> Tag:
        for el in self.form.find_all("button"):
            if _in_template(el) or (el.get("type") or "submit") != "submit":
                continue
            if value is None or (el.get("name") == name and el.get("value") == value):
                return el
        raise AssertionError(f"no submit button {name}={value!r} in the form")

    # ------------------------------------------------------------ typing
    def type(self, name: str, text: str) -> None:
        el = self.control(name)
        if el.name == "textarea":
            el.string = text
        else:
            el["value"] = text

    def tick(self, name: str, on: bool = True, value: str | None = None) -> None:
        boxes = [el for el in self.controls(name) if el.get("type") == "checkbox"
                 and (value is None or el.get("value") == value)]
        assert boxes, f"no checkbox {name}={value!r}"
        for box in boxes:
            if on:
                box["checked"] = ""
            elif box.has_attr("checked"):
                del box["checked"]

    def choose(self, name: str, value: str) -> None:
        select = self.control(name)
        options = select.find_all("option")
        assert any(o.get("value") == value for o in options), f"{name} offers no option {value!r}"
        for option in options:
            if option.get("value") == value:
                option["selected"] = ""
            elif option.has_attr("selected"):
                del option["selected"]

    def options(self, name: str) -> list[str]:
        return [o.get("value") for o in self.control(name).find_all("option") if o.get("value")]

    def replace_options(self, name: str, options_html: str) -> None:
        """Swap a select's options (what htmx does with a cascading list's answer)."""
        select = self.control(name)
        select.clear()
        for option in BeautifulSoup(options_html, "html.parser").find_all("option"):
            select.append(option)

    def attach(self, name: str, content: bytes, filename: str) -> None:
        self.control(name)
        self.files[name] = (content, filename)

    def add_row(self, grid: str) -> int:
        """Click the grid's "+ Add row": copy its <template> row with the next index."""
        table = self.form.select_one(f'[data-grid="{grid}"]')
        template = self.form.select_one(f"template#tpl-{grid}")
        assert table is not None and template is not None, f"no grid {grid!r} with a row template"
        index = len(table.select("tbody tr[data-row]"))
        row_html = template.decode_contents().replace("__i__", str(index))
        row = BeautifulSoup(f"<table><tbody>{row_html}</tbody></table>", "html.parser").select_one("tr")
        table.tbody.append(row)
        return index

    def rows(self, grid: str) -> int:
        table = self.form.select_one(f'[data-grid="{grid}"]')
        return len(table.select("tbody tr[data-row]")) if table is not None else 0

    # ------------------------------------------------------------ posting
    def post_data(self, submitter: Tag | None = None) -> dict:
        """The entry list as data for Flask's test client (lists for repeated names)."""
        data: dict[str, list] = {}
        for name, value in self.entries(submitter):
            if isinstance(value, tuple):
                content, filename = value
                value = (io.BytesIO(content), filename) if filename else (io.BytesIO(b""), "")
            data.setdefault(name, []).append(value)
        return data

    def submit(self, client, submitter: Tag | None = None, htmx: bool = True, **kwargs):
        """Post (or get) the form through ``client`` as a browser with htmx would."""
        headers = {"HX-Request": "true"} if htmx else {}
        if self.method == "get":
            query = urlencode([(k, v) for k, v in self.entries(submitter) if isinstance(v, str)])
            return client.get(self.action + ("?" + query if query else ""), headers=headers, **kwargs)
        content_type = "multipart/form-data" if (self.form.get("enctype") or "").startswith("multipart") else None
        return client.post(self.action, data=self.post_data(submitter), headers=headers,
                           content_type=content_type, **kwargs)


# ----------------------------------------------------------------- values
def regex_example(pattern: str, serial: int = 0) -> str:
    """A string that fully matches ``pattern`` (the simple patterns metadata uses: literals,
    classes, repeats, groups, alternatives, anchors). Different ``serial`` numbers give
    different strings where the pattern allows (for unique fields)."""
    import re._parser as sre_parse  # noqa: PLC0415  (the standard library's own regex parser)
    from re._constants import (ANY, BRANCH, CATEGORY, CATEGORY_DIGIT, CATEGORY_SPACE, CATEGORY_WORD,  # noqa: PLC0415
                               IN, LITERAL, MAX_REPEAT, MIN_REPEAT, NEGATE, RANGE, SUBPATTERN)

    counter = [serial]

    def choices_of(op, arg) -> list[str]:
        if op is LITERAL:
            return [chr(arg)]
        if op is ANY:
            return list("abcdefgh")
        if op is IN:
            if arg and arg[0][0] is NEGATE:
                return ["x"]
            out: list[str] = []
            for kind, value in arg:
                if kind is LITERAL:
                    out.append(chr(value))
                elif kind is RANGE:
                    out.extend(chr(c) for c in range(value[0], min(value[1], value[0] + 9) + 1))
                elif kind is CATEGORY:
                    out.extend({CATEGORY_DIGIT: "0123456789", CATEGORY_SPACE: " ", CATEGORY_WORD: "abcdef"}.get(value, "a"))
            return out or ["a"]
        return []

    def pick(options: list[str]) -> str:
        value = options[counter[0] % len(options)]
        counter[0] //= len(options)
        return value

    def walk(parsed) -> str:
        out = []
        for op, arg in parsed:
            if op in (LITERAL, ANY, IN):
                out.append(pick(choices_of(op, arg)))
            elif op in (MAX_REPEAT, MIN_REPEAT):
                lo, hi, sub = arg
                count = lo if hi == lo else min(hi, max(lo, 1) + 4)
                out.append("".join(walk(sub) for _ in range(count)))
            elif op is SUBPATTERN:
                out.append(walk(arg[-1]))
            elif op is BRANCH:
                out.append(walk(arg[1][0]))
        return "".join(out)

    text = walk(sre_parse.parse(pattern))
    assert re.fullmatch(pattern, text), f"could not make an example of {pattern!r} (got {text!r})"
    return text


# ------------------------------------------------------ Kehu record forms

# what a person types into each kind of widget, by variant (0: a new record, 1: an edit)
DATES = ("2026-03-16", "2026-04-20")
TIMES = ("2026-03-16T10:30", "2026-04-20T15:45")
FILES = {"txt": b"Kehu test attachment\n", "csv": b"a,b\n1,2\n", "pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
         "png": bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                              "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")}


class FillError(AssertionError):
    """A field that could not be filled the way a person would (no choice offered, ...)."""


class RecordForm:
    """A Kehu record form (``/app/<entity>/new`` or ``…/<id>/edit``) as rendered, filled with
    valid values through each widget — lookups through their type-ahead URL, cascading lists
    through their options URL, grid rows from the row <template>, visibility through the
    form's compute URL — and posted as a browser with htmx would.

    :meth:`fill` returns what was typed: ``{field: value}``, and ``{grid: [{column: value}]}``
    for child grids, with values as a person gave them (text, a picked id, a ticked box...).
    """

    def __init__(self, client, url: str, metadata, field_types, serial: int, keep=()):
        self.keep = set(keep)  # fields left as the form opened them (a record made from another)
        self.client = client
        self.url = url
        self.meta = metadata
        self.types = field_types
        self.serial = serial
        response = client.get(url)
        assert response.status_code == 200, f"GET {url} answered {response.status_code}"
        self.html = response.get_data(as_text=True)
        self.form = HtmlForm.of(self.html, page_url=url)
        self.entity = metadata.entity(url.split("/")[2])
        self.skipped: dict[str, str] = {}   # field -> why it was not typed into
        self.displayed: set[str] = set()     # fields shown as text, not as inputs

    # --------------------------------------------------------- the fields
    def wrappers(self) -> list[Tag]:
        return [w for w in self.form.form.select(".field[data-field]") if not _in_template(w)]

    def shown(self, wrapper: Tag) -> bool:
        return not wrapper.has_attr("hidden") and not any(p.has_attr("hidden") and p.get("role") != "tabpanel"
                                                          for p in wrapper.parents if isinstance(p, Tag))

    def fill(self, variant: int = 0) -> dict:
        typed: dict = {}
        for _round in range(4):  # filling a field can show others (conditional visibility)
            for wrapper in self.wrappers():
                name = wrapper["data-field"]
                if name in typed or name in self.displayed or not self.shown(wrapper):
                    continue
                fld = self.entity.field(name)
                if name in self.keep:
                    typed[name] = self.as_opened(fld)
                elif wrapper.select_one(f'[data-grid="{name}"]') is not None:
                    typed[name] = self.fill_grid(fld, variant)
                elif not self.form.has(name):
                    self.displayed.add(name)
                else:
                    value = self.fill_field(self.entity, fld, name, variant)
                    if value is not _SKIP:
                        typed[name] = value
            if not self.refresh_visibility():
                break
        return typed

    def as_opened(self, fld):
        """What a kept field holds as the form opened: a value as a person would have given it,
        and for a grid its lines (each column that holds something)."""
        def value(f, name):
            widget = self.types[f.type].widget
            raw = self.form.value(name)
            if widget == "checkbox":
                return bool(raw)
            if widget in ("lookup", "user"):
                return int(raw) if raw else None
            return raw or None

        if fld.type != "child_table":
            return value(fld, fld.name)
        centity = self.meta.entity(fld.target)
        lines = []
        for i in range(self.form.rows(fld.name)):
            prefix = f"{fld.name}-{i}-"
            columns = {el["name"][len(prefix):].split("__")[0] for el in self.form.controls()
                       if el.get("name", "").startswith(prefix)} - {"id"}
            line = {c: value(centity.field(c), prefix + c) for c in sorted(columns)}
            lines.append({c: v for c, v in line.items() if v is not None})
        return lines

    def refresh_visibility(self) -> bool:
        """Ask the form's compute URL which conditional fields are hidden now, as the page does
        while it is filled in; True when something changed."""
        body = self.form.form.select_one(".form-body[hx-post]")
        if body is None or not self.form.form.select(".field[data-conditional]"):
            return False
        response = self.client.post(body["hx-post"], data=self.form.post_data(), headers={"HX-Request": "true"},
                                    content_type="multipart/form-data")
        assert response.status_code == 200, f"compute answered {response.status_code}"
        box = BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one("#kehu-visibility")
        hidden = set((box.get("data-hidden") or "").split()) if box is not None else set()
        changed = False
        for wrapper in self.form.form.select(".field[data-conditional]"):
            hide = wrapper["data-field"] in hidden
            if hide != wrapper.has_attr("hidden"):
                changed = True
                if hide:
                    wrapper["hidden"] = ""
                else:
                    del wrapper["hidden"]
        return changed

    def fill_grid(self, fld, variant: int) -> list[dict]:
        """Edit the lines a person would: change every line already there, add one (an edit)
        or two (a new record) from the row template."""
        centity = self.meta.entity(fld.target)
        lines = []
        existing = self.form.rows(fld.name)
        for i in range(existing):
            lines.append(self.fill_line(fld, centity, i, variant, i))
        for k in range(1 if existing else 2):
            i = self.form.add_row(fld.name)
            lines.append(self.fill_line(fld, centity, i, variant, i + k))
        return lines

    def fill_line(self, fld, centity, i: int, variant: int, nth: int) -> dict:
        line = {}
        prefix = f"{fld.name}-{i}-"
        columns = sorted({el["name"][len(prefix):].split("__")[0] for el in self.form.controls()
                          if el.get("name", "").startswith(prefix)} - {"id"})
        for column in columns:
            value = self.fill_field(centity, centity.field(column), prefix + column, variant + nth)
            if value is not _SKIP:
                line[column] = value
        if self.form.has(prefix + "id"):
            line["id"] = int(self.form.value(prefix + "id"))
        return line

    def fill_field(self, entity, fld, name: str, variant: int):
        """Type a valid value into the control(s) of ``fld`` named ``name``; return it."""
        widget = self.types[fld.type].widget
        n = self.serial * 10 + variant
        if widget in ("text", "email", "tel", "url"):
            value = self.text_value(fld, widget, n)
        elif widget in ("number", "decimal", "currency", "percent"):
            value = self.number_value(fld, widget, variant)
        elif widget == "date":
            value = DATES[variant % 2]
        elif widget == "datetime":
            value = TIMES[variant % 2]
        elif widget in ("textarea", "rich_text"):
            value = f"{fld.label.zh} 第{n}行\nline two of {fld.name}" if widget == "textarea" else f"{fld.label.zh} {n}"
            value = value[: fld.get("max_length") or 4000]
        elif widget == "checkbox":
            value = not bool(self.form.value(name))  # toggle what is shown (both ways get tested)
            self.form.tick(name, value)
            return value
        elif widget == "select":
            return self.choose(entity, fld, name, variant)
        elif widget == "multiselect":
            options = [el.get("value") for el in self.form.controls(name) if el.get("type") == "checkbox"]
            if not options:
                raise FillError(f"{entity.name}.{fld.name}: a multi-select without options")
            chosen = sorted(options[:2]) if variant % 2 == 0 else sorted(options[-1:])
            self.form.tick(name, False)
            for key in chosen:
                self.form.tick(name, True, key)
            return chosen
        elif widget in ("lookup", "user"):
            return self.pick(entity, fld, name, variant)
        elif widget == "file":
            return self.upload(fld, name, n)
        else:
            raise FillError(f"{entity.name}.{fld.name}: no way to fill a {widget!r} widget")
        self.form.type(name, value)
        return value

    def text_value(self, fld, widget: str, n: int) -> str:
        if fld.get("pattern"):
            return regex_example(fld.get("pattern"), n)
        if widget == "email":
            return f"user{n}@example.com"
        if widget == "tel":
            return f"029-8{n % 10_000_000:07d}"
        if widget == "url":
            return f"https://example.com/kehu/{n}"
        text = f"{fld.label.zh}{n}"
        high = fld.get("max_length") or 200
        low = fld.get("min_length") or 0
        if len(text) > high:
            text = str(n)[-high:]
        return text.ljust(low, "x")

    def number_value(self, fld, widget: str, variant: int) -> str:
        value = {"number": Decimal(3 + 4 * (variant % 2)), "decimal": Decimal("3.25") + 4 * (variant % 2),
                 "currency": Decimal("1280.50") * (1 + variant % 2),
                 "percent": Decimal("5") + Decimal("2.5") * (variant % 2)}[widget]
        if fld.get("max") is not None and value > Decimal(str(fld.get("max"))):
            value = Decimal(str(fld.get("max")))
        if fld.get("min") is not None and value < Decimal(str(fld.get("min"))):
            value = Decimal(str(fld.get("min")))
        if fld.type == "integer":
            return str(int(value))
        scale = self.types[fld.type].scale(fld) if hasattr(self.types[fld.type], "scale") else None
        if scale is not None:  # as many decimals as the field keeps (more would be rounded)
            value = value.quantize(Decimal(1).scaleb(-scale))
        return str(value)

    def choose(self, entity, fld, name: str, variant: int):
        select = self.form.control(name)
        span = select.find_parent("span", class_="cascade")
        if span is not None and span.get("hx-get"):
            # the list follows its parent: ask for the parent's options, as the page does
            parent = fld.get("depends_on")
            parent_value = self.form.value(parent) if self.form.has(parent) else ""
            if not parent_value:
                self.skipped[fld.name] = "its parent list is empty"
                return _SKIP
            response = self.client.get(span["hx-get"] + "?" + urlencode({parent: parent_value}),
                                       headers={"HX-Request": "true"})
            assert response.status_code == 200
            self.form.replace_options(name, response.get_data(as_text=True))
        options = self.form.options(name)
        if not options:
            self.skipped[fld.name] = "no options offered"
            return _SKIP
        current = self.form.value(name)
        if variant % 2 == 0 and current in options:
            value = current  # a new record keeps the default a person sees (the first status...)
        else:
            others = [o for o in options if o != current] or options
            value = others[(variant // 2) % len(others)] if variant % 2 == 0 else others[-1]
        self.form.choose(name, value)
        return value

    def pick(self, entity, fld, name: str, variant: int):
        """Type into the lookup's search box and pick from the menu the server offers."""
        box = self.form.control(name + "__search")
        params = {name + "__search": ""}
        params.update(json.loads(box.get("hx-vals") or "{}"))
        response = self.client.get(box["hx-get"] + "?" + urlencode(params), headers={"HX-Request": "true"})
        assert response.status_code == 200, f"type-ahead {box['hx-get']} answered {response.status_code}"
        menu = BeautifulSoup(response.get_data(as_text=True), "html.parser").select("[data-pick]")
        current = self.form.value(name)
        offered = [(b["data-pick"], b["data-label"]) for b in menu if b["data-pick"] != current] or \
                  [(b["data-pick"], b["data-label"]) for b in menu]
        if not offered:
            if fld.required:
                raise FillError(f"{entity.name}.{fld.name}: the type-ahead offers nothing to choose")
            self.skipped[fld.name] = "the type-ahead offers nothing"
            return _SKIP
        picked, label = offered[variant % len(offered)]
        self.form.type(name, picked)
        self.form.type(name + "__search", label)
        return int(picked)

    def upload(self, fld, name: str, n: int):
        accept = self.form.control(name).get("accept") or ""
        allowed = [a.strip().lstrip(".") for a in accept.split(",") if a.strip()] or list(FILES)
        ext = next((e for e in FILES if e in allowed), None)
        if ext is None:
            self.skipped[fld.name] = f"cannot make a file of types {allowed}"
            return _SKIP
        filename = f"附件-{n}.{ext}"
        self.form.attach(name, FILES[ext], filename)
        return filename

    # --------------------------------------------------------- submitting
    def save(self, action: str = "save"):
        return self.form.submit(self.client, self.form.button(action))

    def problems(self, response) -> str:
        """The messages of a refused form (field errors, the alert), for a failure message."""
        doc = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        lines = [" ".join(doc.select_one(".alert").get_text(" ", strip=True).split())] if doc.select_one(".alert") else []
        for err in doc.select(".errors"):
            text = err.get_text(" ", strip=True)
            if text:
                owner = err.get("id") or (err.find_parent(attrs={"data-field"}) or {}).get("data-field", "?")
                lines.append(f"{owner}: {text}")
        return "; ".join(lines) or response.get_data(as_text=True)[:300]


class _Marker:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


_SKIP = _Marker("<skipped>")


# ------------------------------------------------------------- comparing
def same_value(fld, widget: str, typed, stored) -> bool:
    """Whether ``stored`` (a value the record service returns) is what was typed."""
    if widget in ("text", "email", "tel", "url", "rich_text"):
        return stored == typed
    if widget == "textarea":
        return isinstance(stored, str) and stored.replace("\r\n", "\n") == typed.replace("\r\n", "\n")
    if widget in ("number", "decimal", "currency", "percent"):
        return stored is not None and Decimal(str(stored)) == Decimal(typed)
    if widget == "date":
        return stored is not None and str(stored)[:10] == typed
    if widget == "datetime":
        return isinstance(stored, dt.datetime) and stored.strftime("%Y-%m-%dT%H:%M") == typed
    if widget == "checkbox":
        return bool(stored) is typed and (stored is not None or typed is False)
    if widget == "select":
        return stored == typed
    if widget == "multiselect":
        keys = json.loads(stored) if isinstance(stored, str) else (stored or [])
        return sorted(keys) == sorted(typed)
    if widget in ("lookup", "user"):
        return stored == typed
    if widget == "file":
        return bool(stored) and json.loads(stored)["name"] == typed
    raise AssertionError(f"no comparison for widget {widget!r}")


def shown_value(form: HtmlForm, widget: str, name: str, typed) -> bool:
    """Whether the (re-rendered) form shows ``typed`` in the control(s) of ``name``."""
    if widget == "file":
        wrapper = form.form.select_one(f'input[type=file][name="{name}"]').parent
        current = wrapper.select_one(".current")
        return current is not None and typed in current.get_text()
    value = form.value(name)
    if widget in ("number", "decimal", "currency", "percent"):
        return value != "" and Decimal(value) == Decimal(typed)
    if widget == "textarea":
        return value.replace("\r\n", "\n").lstrip("\n") == typed.replace("\r\n", "\n")
    if widget in ("lookup", "user"):
        return value == str(typed)
    if widget == "multiselect":
        return sorted(value) == sorted(typed)
    return value == typed
