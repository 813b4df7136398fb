// Small behaviours htmx does not cover: lookup picking, child-grid rows, tabs,
// cascading resets, visibility toggles and clean list URLs. No build step.
(function () {
  "use strict";

  function closest(el, sel) { return el && el.closest ? el.closest(sel) : null; }

  document.addEventListener("click", function (ev) {
    var pick = closest(ev.target, "[data-pick]");
    if (pick) {
      var box = closest(pick, "[data-lookup]");
      var hidden = box.querySelector("input[type=hidden]");
      var text = box.querySelector("input[type=search]");
      hidden.value = pick.getAttribute("data-pick");
      text.value = pick.getAttribute("data-label");
      box.querySelector(".lookup-results").innerHTML = "";
      hidden.dispatchEvent(new Event("change", { bubbles: true }));
      if (box.hasAttribute("data-fill")) { fill(box, hidden); }
      return;
    }
    var add = closest(ev.target, "[data-add-row]");
    if (add) {
      var name = add.getAttribute("data-add-row");
      var table = document.querySelector('[data-grid="' + name + '"]');
      var tpl = document.getElementById("tpl-" + name);
      var index = table.querySelectorAll("tbody tr[data-row]").length;
      var holder = document.createElement("tbody");
      holder.innerHTML = tpl.innerHTML.split("__i__").join(String(index));
      var row = holder.firstElementChild;
      table.querySelector("tbody").appendChild(row);
      if (window.htmx) { htmx.process(row); }
      var first = row.querySelector("input:not([type=hidden]), select");
      if (first) { first.focus(); }
      table.dispatchEvent(new Event("kehu:rows", { bubbles: true }));
      return;
    }
    var remove = closest(ev.target, "[data-remove-row]");
    if (remove) {
      var tr = closest(remove, "tr");
      var grid = closest(tr, "[data-grid]");
      tr.parentNode.removeChild(tr);
      renumber(grid);
      grid.dispatchEvent(new Event("kehu:rows", { bubbles: true }));
      return;
    }
    var tab = closest(ev.target, "[data-tab]");
    if (tab) {
      var tabs = closest(tab, "[data-tabs]");
      tabs.querySelectorAll("[data-tab]").forEach(function (b) {
        b.setAttribute("aria-selected", b === tab ? "true" : "false");
      });
      tabs.querySelectorAll("[data-panel]").forEach(function (p) {
        p.hidden = p.getAttribute("data-panel") !== tab.getAttribute("data-tab");
      });
    }
  });

  // A lookup with `fill` in metadata: after a pick, ask the server what the picked record
  // fills (its price, unit, ...) and put it into the inputs of the same row (or form) that
  // are still empty or hold what an earlier pick filled; what the user typed is kept.
  function fill(box, hidden) {
    var form = closest(box, "form");
    var name = hidden.getAttribute("name") || "";
    var own = box.getAttribute("data-fill-field") || "";
    var prefix = name.slice(0, name.length - own.length);
    if (!form || !hidden.value) { return; }
    fetch(box.getAttribute("data-fill") + "?id=" + encodeURIComponent(hidden.value),
          { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (values) {
        var last = null;
        Object.keys(values).forEach(function (target) {
          var input = form.querySelector('[name="' + prefix + target + '"]');
          if (!input || input.type === "file") { return; }
          var checkbox = input.type === "checkbox";
          var current = checkbox ? String(input.checked) : input.value;
          var filled = input.getAttribute("data-filled");
          if (filled === null ? (current !== "" && !checkbox) : current !== filled) { return; }
          var item = values[target];
          if (checkbox) { input.checked = item.value === "true"; } else { input.value = item.value; }
          input.setAttribute("data-filled", item.value);
          var lookup = closest(input, "[data-lookup]");
          var text = lookup && lookup.querySelector("input[type=search]");
          if (text && item.label !== undefined) { text.value = item.label; }
          last = input;
        });
        if (last) { last.dispatchEvent(new Event("change", { bubbles: true })); }
      });
  }

  // Parts of a form shown only for one choice: data-when="name=value" (a radio or checkbox).
  function applyWhen(form) {
    form.querySelectorAll("[data-when]").forEach(function (el) {
      var rule = el.getAttribute("data-when").split("=");
      var chosen = form.querySelector('[name="' + rule[0] + '"]:checked');
      el.hidden = !(chosen && chosen.value === rule[1]);
    });
  }
  document.addEventListener("change", function (ev) {
    var form = closest(ev.target, "form");
    if (form && form.querySelector("[data-when]")) { applyWhen(form); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form").forEach(function (form) {
      if (form.querySelector("[data-when]")) { applyWhen(form); }
    });
  });

  // "Select all" on a list ticks every row's checkbox of the same name.
  document.addEventListener("change", function (ev) {
    var all = ev.target;
    if (!all.hasAttribute || !all.hasAttribute("data-check-all")) { return; }
    var table = closest(all, "table");
    table.querySelectorAll('tbody input[type=checkbox][name="' + all.getAttribute("data-check-all") + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });

  // Rows are numbered 0..n-1 so the server's line numbers match the form's.
  function renumber(grid) {
    var name = grid.getAttribute("data-grid");
    var pattern = new RegExp("^" + name + "-\\d+-");
    grid.querySelectorAll("tbody tr[data-row]").forEach(function (tr, i) {
      tr.querySelectorAll("[name], [id]").forEach(function (el) {
        ["name", "id"].forEach(function (attr) {
          var v = el.getAttribute(attr);
          if (!v) { return; }
          var prefix = attr === "id" ? v.replace(/^(f-|calc-)/, "") : v;
          if (pattern.test(prefix)) {
            var head = attr === "id" ? v.slice(0, v.length - prefix.length) : "";
            el.setAttribute(attr, head + prefix.replace(pattern, name + "-" + i + "-"));
          }
        });
      });
    });
  }

  // Close lookup menus when focus leaves them.
  document.addEventListener("focusout", function (ev) {
    var box = closest(ev.target, "[data-lookup]");
    if (!box) { return; }
    setTimeout(function () {
      if (!box.contains(document.activeElement)) {
        var menu = box.querySelector(".lookup-results");
        if (menu) { menu.innerHTML = ""; }
        var text = box.querySelector("input[type=search]");
        var hidden = box.querySelector("input[type=hidden]");
        if (text && hidden && text.value === "" && hidden.value !== "") {
          hidden.value = "";
          hidden.dispatchEvent(new Event("change", { bubbles: true }));
        }
      }
    }, 200);
  });

  document.addEventListener("htmx:configRequest", function (ev) {
    // Filter forms: leave empty values and type-ahead text out of the URL.
    if (ev.detail.verb === "get" && ev.detail.elt && ev.detail.elt.id === "filters") {
      var params = ev.detail.parameters;
      var keys = params instanceof FormData ? Array.from(params.keys()) : Object.keys(params);
      keys.forEach(function (k) {
        var v = params instanceof FormData ? params.get(k) : params[k];
        if (v === "" || /__search$/.test(k)) {
          if (params instanceof FormData) { params.delete(k); } else { delete params[k]; }
        }
      });
    }
  });

  document.addEventListener("htmx:beforeSwap", function (ev) {
    // A type-ahead answer that arrives after the user moved on is dropped: menus open
    // only for the lookup that has the focus.
    var target = ev.detail.target;
    if (target && target.classList && target.classList.contains("lookup-results")) {
      var box = closest(target, "[data-lookup]");
      if (box && !box.contains(document.activeElement)) { ev.detail.shouldSwap = false; }
    }
  });

  document.addEventListener("htmx:afterSwap", function (ev) {
    // A cascading list that got new options resets the lists that depend on it.
    if (ev.detail.target && ev.detail.target.hasAttribute && ev.detail.target.hasAttribute("data-cascade")) {
      ev.detail.target.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  document.addEventListener("htmx:oobAfterSwap", function (ev) {
    var el = ev.detail.target;
    if (!el || el.id !== "kehu-visibility") { return; }
    // detail.target is the element that was swapped out: read the one now in the page
    var box = document.getElementById("kehu-visibility") || el;
    var hidden = (box.getAttribute("data-hidden") || "").split(/\s+/);
    document.querySelectorAll("#record-form .field[data-conditional]").forEach(function (f) {
      f.hidden = hidden.indexOf(f.getAttribute("data-field")) >= 0;
    });
  });
})();
