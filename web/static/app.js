// A little hand-written JavaScript where it clearly helps; every form works without it.
"use strict";

// Ctrl+Enter (or Cmd+Enter) submits the form being typed in.
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    const form = event.target.closest && event.target.closest("form");
    if (form) {
      event.preventDefault();
      form.requestSubmit();
    }
  }
});

// Fields that follow a choice: <div data-show-when="channel=meeting,station"> is shown only for those values.
function applyShowWhen(root) {
  root.querySelectorAll("[data-show-when]").forEach((box) => {
    const [name, values] = box.dataset.showWhen.split("=");
    const control = root.querySelector(`[name="${name}"]`);
    if (!control) return;
    const show = values.split(",").includes(control.value);
    box.hidden = !show;
    box.querySelectorAll("input, select, textarea").forEach((input) => { input.disabled = !show; });
  });
}
document.addEventListener("change", (event) => applyShowWhen(event.target.form || document));
document.addEventListener("DOMContentLoaded", () => applyShowWhen(document));

// Live hints: <div data-hint-url="/intake/duplicates" data-hint-from="title,petitioner_phone"> is filled with
// the HTML the URL returns for those fields, a moment after the user stops typing.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-hint-url]").forEach((box) => {
    const form = box.closest("form") || document;
    const names = box.dataset.hintFrom.split(",");
    let timer = null;
    const refresh = () => {
      const params = new URLSearchParams();
      names.forEach((name) => {
        const input = form.querySelector(`[name="${name}"]`);
        if (input && input.value.trim()) params.set(name, input.value.trim());
      });
      if ([...params.keys()].length === 0) { box.innerHTML = ""; return; }
      fetch(`${box.dataset.hintUrl}?${params}`, { credentials: "same-origin" })
        .then((response) => (response.ok ? response.text() : ""))
        .then((html) => { box.innerHTML = html; })
        .catch(() => {});
    };
    names.forEach((name) => {
      const input = form.querySelector(`[name="${name}"]`);
      if (input) input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 300); });
    });
  });
});

// A search box that filters the options of a <select data-filter-by="id-of-input">.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("select[data-filter-by]").forEach((select) => {
    const input = document.getElementById(select.dataset.filterBy);
    if (!input) return;
    const options = [...select.options];
    input.hidden = false;
    input.addEventListener("input", () => {
      const term = input.value.trim().toLowerCase();  // a credit code typed in lower case still matches
      options.forEach((option) => {
        option.hidden = term !== "" && option.value !== "" && !option.text.toLowerCase().includes(term);
      });
      const first = options.find((option) => !option.hidden && option.value !== "");
      if (term && first) select.value = first.value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
  });
});

// Select-all: <input type="checkbox" data-tick-all="case_no" hidden> in a table's header ticks every box of that
// name in the table. Shown only when this script runs; without it each box is ticked on its own.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[data-tick-all]").forEach((all) => {
    const table = all.closest("table");
    if (!table) return;
    const boxes = () => [...table.querySelectorAll(`tbody input[type=checkbox][name="${all.dataset.tickAll}"]`)];
    const sync = () => {
      const ticked = boxes().filter((box) => box.checked).length;
      all.checked = ticked > 0 && ticked === boxes().length;
      all.indeterminate = ticked > 0 && ticked < boxes().length;
    };
    all.hidden = boxes().length === 0;
    all.addEventListener("change", () => { boxes().forEach((box) => { box.checked = all.checked; }); });
    table.addEventListener("change", (event) => { if (event.target !== all) sync(); });
    sync();
  });
});
