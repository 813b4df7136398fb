"""Journey and property tests on the demo data (fixtures in tests/conftest.py)."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter):
    """The property tests' figures: fields typed per form, links checked per role."""
    forms, links = [], []
    for report in [r for key in ("passed", "failed", "xfailed") for r in terminalreporter.stats.get(key, [])]:
        props = dict(getattr(report, "user_properties", ()))
        if report.when != "call":
            continue
        if "form_fields" in props:
            forms.append((report.nodeid.split("[")[-1].rstrip("]"), props["form_fields"], props["form_types"]))
        if "links_checked" in props:
            links.append((props["links_role"], props["links_checked"], props.get("buttons_checked", 0)))
    if forms:
        types = sorted({t for _, _, ts in forms for t in ts.split(",") if t})
        terminalreporter.write_sep("-", "form round trips")
        terminalreporter.write_line(f"{len(forms)} forms (entity x signed-in role), {sum(n for _, n, _ in forms)} "
                                    f"fields typed and read back, {len(types)} field types: {', '.join(types)}")
    if links:
        terminalreporter.write_sep("-", "links and buttons")
        for role, checked, buttons in sorted(links):
            terminalreporter.write_line(f"{role}: {checked} links, {buttons} kinds of button")
