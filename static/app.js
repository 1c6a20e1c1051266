// mfaportal's page behaviour: no framework, no inline script (the CSP forbids it).
// - the filters submit themselves when changed;
// - the select-all checkbox selects the rows of the page;
// - the quick steps pane follows the selection.
(function () {
  "use strict";

  document.querySelectorAll("form.filters select").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.requestSubmit(); });
  });

  var table = document.querySelector("table.users");
  if (!table) { return; }
  var all = table.querySelector("input.select-all");
  var rows = Array.prototype.slice.call(table.querySelectorAll("input.select-row"));
  var pane = document.querySelector("aside.quick");

  function update() {
    var picked = rows.filter(function (c) { return c.checked; });
    rows.forEach(function (c) { c.closest("tr").classList.toggle("selected", c.checked); });
    if (all) {
      all.checked = picked.length > 0 && picked.length === rows.length;
      all.indeterminate = picked.length > 0 && picked.length < rows.length;
    }
    if (!pane) { return; }
    var none = pane.querySelector(".none"), one = pane.querySelector(".one"), many = pane.querySelector(".many");
    none.hidden = picked.length !== 0;
    one.hidden = picked.length !== 1;
    many.hidden = picked.length < 2;
    if (picked.length === 1) {
      one.querySelector(".name").textContent = picked[0].dataset.name;
      one.querySelector(".status").textContent = picked[0].dataset.state;
      one.querySelector("a.manage").href = picked[0].dataset.href;
    }
    if (picked.length > 1) {
      many.querySelector(".count").textContent = String(picked.length);
    }
  }

  if (all) {
    all.addEventListener("change", function () {
      rows.forEach(function (c) { c.checked = all.checked; });
      update();
    });
  }
  rows.forEach(function (c) { c.addEventListener("change", update); });
  update();
})();
