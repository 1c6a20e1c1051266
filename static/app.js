// mfaportal's page behaviour: no framework, no inline script (the CSP forbids it).
// - a page showing a secret once is not posted again by a reload;
// - times are shown in the reader's time zone;
// - the filters apply on an explicit choice (Enter, apply, a click, leaving the control);
// - server-rendered dialogs open as modals; closing one keeps the page and returns the focus;
// - the select-all checkbox selects the rows of the page, and offers every matching user;
// - the quick steps pane follows the selection: a step shows when it applies to a selected user;
// - the users table's rows are one tab stop, walked with the arrow keys.
(function () {
  "use strict";

  // A secret shown once (an API token, an app password, a setup link) is the answer to a POST: the
  // address becomes that of the page it belongs to, so that reloading asks for the page again
  // rather than posting again, which would make another secret (and end the setup link just given).
  var once = document.querySelector("[data-shown-once]");
  if (once && window.history && history.replaceState) {
    history.replaceState(null, "", once.getAttribute("data-shown-once"));
  }

  // Times: the server writes each instant in UTC ("2026-12-01 14:05 UTC") in <time datetime data-local>;
  // show it in the reader's own time zone, keeping the UTC text as the element's title.
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  var zone = function (d) {
    try {
      var part = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(d)
        .filter(function (p) { return p.type === "timeZoneName"; })[0];
      return part ? " " + part.value : "";
    } catch (e) { return ""; }
  };
  document.querySelectorAll("time[data-local]").forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (isNaN(d.getTime())) { return; }
    el.title = el.textContent;
    el.textContent = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + zone(d);
  });

  // Filters change on an explicit choice: Enter, the apply button, a click on an option, a
  // checkbox, or leaving a control whose value changed; never while ↓ walks through a list. After
  // leaving one, the reloaded page puts the focus where it was going.
  document.querySelectorAll("form.filters").forEach(function (form) {
    form.querySelectorAll("select").forEach(function (sel) {
      var chosen = sel.value, keys = false;
      sel.addEventListener("keydown", function (ev) {
        keys = true;
        if (ev.key === "Enter") { ev.preventDefault(); form.requestSubmit(); }
      });
      sel.addEventListener("mousedown", function () { keys = false; });
      sel.addEventListener("change", function () { if (!keys) { form.requestSubmit(); } });
      sel.addEventListener("blur", function (ev) {
        if (sel.value === chosen) { return; }
        if (ev.relatedTarget && ev.relatedTarget.id) { sessionStorage.setItem("mfaportal.focus", ev.relatedTarget.id); }
        form.requestSubmit();
      });
    });
    form.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      box.addEventListener("change", function () { form.requestSubmit(); });
    });
  });
  var refocus = document.getElementById(sessionStorage.getItem("mfaportal.focus") || "");
  sessionStorage.removeItem("mfaportal.focus");
  if (refocus && !document.querySelector("dialog[data-open]")) { refocus.focus(); }

  // The registration tab: a checkbox that selects every user of the page for notify.
  document.querySelectorAll("input.select-page").forEach(function (all) {
    all.addEventListener("change", function () {
      all.form.querySelectorAll('input[name="sel"]').forEach(function (box) { box.checked = all.checked; });
    });
  });

  // Dialogs rendered by the server open as modals, focus on their safe choice (cancel, no, close).
  // Closing one (that link, or Escape) stays on the page behind it, which is the page the link
  // leads to: the selection and the changed rows stay, and focus returns to what opened it.
  var closeDialog = function (dlg) {
    dlg.close();
    dlg.remove();
    window.history.replaceState(null, "", dlg.dataset.return);
    var target = Array.prototype.filter.call(document.querySelectorAll("[data-opens]"), function (el) {
      return el.dataset.opens === dlg.dataset.opener && !el.hidden;
    })[0] || document.querySelector("[data-focus-after-dialog]") || document.querySelector("main h1");
    if (target) {
      if (!target.hasAttribute("tabindex") && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) { target.tabIndex = -1; }
      target.focus();
    }
    document.dispatchEvent(new Event("mfaportal:dialog-closed"));
  };
  document.querySelectorAll("dialog[data-open]").forEach(function (dlg) {
    if (typeof dlg.showModal === "function") {
      if (dlg.open) { dlg.close(); }
      dlg.showModal();
    } else {
      dlg.setAttribute("open", "");
    }
    dlg.addEventListener("cancel", function (ev) {
      ev.preventDefault();
      closeDialog(dlg);
    });
    dlg.querySelectorAll("a.cancel").forEach(function (a) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        closeDialog(dlg);
      });
    });
  });

  // Bulk update progress: poll the job's status every second until it ends, then show Done.
  var progress = document.getElementById("progress");
  if (progress && progress.dataset.finished === "false") {
    var fmt = function (n) { return Math.round(n).toLocaleString("en-US"); };
    var set = function (field, value) {
      var el = progress.querySelector('[data-field="' + field + '"]');
      if (el) { el.textContent = value; }
    };
    var poll = function () {
      fetch(progress.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (st) {
          if (!st) { return; }
          if (st.finished) { window.location.reload(); return; }
          var bar = document.getElementById("bar");
          bar.max = Math.max(st.total, 1);
          bar.value = st.done;
          set("done", fmt(st.done));
          set("total", fmt(st.total));
          set("changed", fmt(st.changed));
          var summary = progress.querySelector("[data-plan-unchanged]");
          set("unchanged", fmt(st.unchanged + Number(summary ? summary.dataset.planUnchanged : 0)));
          set("remaining", fmt(st.total - st.done));
          set("failed", fmt(st.failed));
          set("status", st.cancelRequested ? "cancelling" : (st.status === "queued" ? "waiting to start" : st.status));
          var rate = st.rate > 0 ? fmt(st.rate) + " rows/s" : "starting…";
          if (st.etaSeconds > 0) { rate += " · about " + Math.ceil(st.etaSeconds) + " s left"; }
          set("rate", rate);
          var paused = progress.querySelector('[data-field="paused"]');
          if (paused) {
            paused.textContent = st.pausedReason || "";
            paused.hidden = !st.pausedReason;
          }
        })
        .catch(function () { /* keep polling: the server may be restarting */ })
        .finally(function () { window.setTimeout(poll, 1000); });
    };
    window.setTimeout(poll, 1000);
  }

  // Directory sync (Microsoft Graph): while a sync runs, show its progress; reload when it ends.
  var syncPanel = document.getElementById("sync");
  if (syncPanel && syncPanel.dataset.running === "true") {
    var syncPoll = function () {
      fetch(syncPanel.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (st) {
          if (!st) { return; }
          if (!st.running) { window.location.reload(); return; }
          var el = syncPanel.querySelector('[data-field="sync-progress"]');
          if (el) {
            el.textContent = Math.round(st.done).toLocaleString("en-US") +
              (st.total > 0 ? " of " + Math.round(st.total).toLocaleString("en-US") : "") + " users";
          }
        })
        .catch(function () { /* keep polling */ })
        .finally(function () { window.setTimeout(syncPoll, 1000); });
    };
    window.setTimeout(syncPoll, 1000);
  }

  var table = document.querySelector("#selection table.users");
  if (!table) { return; }
  var all = table.querySelector("input.select-all");
  var rows = Array.prototype.slice.call(table.querySelectorAll("input.select-row"));
  var pane = document.querySelector("aside.quick");
  var allMatching = document.getElementById("all-matching");
  var offer = document.querySelector(".select-all-matching");
  var chooseAll = document.getElementById("choose-all");

  // Which steps apply to a state (SPEC §2): Enable to Disabled, Enforce to Enabled, Disable to both others.
  var applies = {
    enable: function (s) { return s === "disabled"; },
    enforce: function (s) { return s === "enabled"; },
    disable: function (s) { return s === "enabled" || s === "enforced"; },
    exempt: function (s) { return s === "enabled" || s === "enforced"; }, // Disable for a while
    manage: function () { return true; }
  };

  function update() {
    var picked = rows.filter(function (c) { return c.checked; });
    rows.forEach(function (c) { c.closest("tr").classList.toggle("selected", c.checked); });
    var whole = picked.length > 0 && picked.length === rows.length;
    if (all) {
      all.checked = whole;
      all.indeterminate = picked.length > 0 && !whole;
    }
    if (!whole && allMatching) { allMatching.value = ""; }
    var everyone = allMatching && allMatching.value === "1";
    if (offer) {
      offer.hidden = !whole;
      offer.querySelector(".msg").textContent = everyone ? "All " + offer.dataset.total + " matching users are selected." :
        "All " + rows.length + " users on this page are selected.";
      if (chooseAll) { chooseAll.hidden = everyone; }
    }
    if (!pane) { return; }
    var none = pane.querySelector(".none"), one = pane.querySelector(".one"), many = pane.querySelector(".many");
    none.hidden = picked.length !== 0;
    one.hidden = picked.length !== 1 || everyone;
    many.hidden = picked.length < 2 && !everyone;
    if (picked.length === 1) {
      one.querySelector(".name").textContent = picked[0].dataset.name;
      one.querySelector(".status").textContent = picked[0].dataset.label;
      one.querySelector("a.manage").href = picked[0].dataset.href;
    }
    many.querySelector(".count").textContent = everyone ? offer.dataset.total + " matching" : String(picked.length);
    pane.querySelectorAll("button.step").forEach(function (b) {
      var test = applies[b.dataset.step];
      b.hidden = picked.length === 0 || !(everyone || picked.some(function (c) { return test(c.dataset.state); }));
    });
  }

  if (all) {
    all.addEventListener("change", function () {
      rows.forEach(function (c) { c.checked = all.checked; });
      update();
    });
  }
  if (chooseAll) {
    chooseAll.addEventListener("click", function () {
      allMatching.value = "1";
      update();
      offer.querySelector(".msg").focus();
    });
  }
  rows.forEach(function (c) { c.addEventListener("change", update); });
  document.addEventListener("mfaportal:dialog-closed", update);
  update();

  // The table's rows are one tab stop, walked with the arrow keys (↑ ↓ Home End between rows,
  // ← → between a row's checkbox and name), so that the next Tab after a row is the link to the
  // quick steps, which follows the table.
  var cells = rows.map(function (c) { return [c, c.closest("tr").querySelector("a")]; });
  var rove = function (i, col, focus) {
    cells.forEach(function (pair, k) {
      pair.forEach(function (el, n) { if (el) { el.tabIndex = k === i && n === col ? 0 : -1; } });
    });
    if (focus && cells[i][col]) { cells[i][col].focus(); }
  };
  cells.forEach(function (pair, i) {
    pair.forEach(function (el, col) {
      if (!el) { return; }
      el.addEventListener("focus", function () { rove(i, col); });
      el.addEventListener("keydown", function (ev) {
        if (ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) { return; }
        var row = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: cells.length - 1 }[ev.key];
        var to = { ArrowLeft: 0, ArrowRight: 1 }[ev.key];
        if (row === undefined && to === undefined) { return; }
        ev.preventDefault();
        rove(row === undefined ? i : Math.max(0, Math.min(cells.length - 1, row)), to === undefined ? col : to, true);
      });
    });
  });
  rove(Math.max(0, rows.findIndex(function (c) { return c.checked; })), 0);
})();
