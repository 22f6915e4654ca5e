// A little hand-written JavaScript where it clearly helps; every form works without it.
"use strict";

// Ctrl+Enter (or Cmd+Enter) submits the form being typed in.
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    const form = event.target.closest && event.target.closest("form");
    if (form) {
      event.preventDefault();
      // A form of several opposite decisions (approve / reject) is sent by its buttons only: go to the first.
      if (form.hasAttribute("data-explicit-submit")) form.querySelector("button[formaction]")?.focus();
      else form.requestSubmit();
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

// A search box that filters the options of a <select data-filter-by="id-of-input">. Typing only narrows the
// list: the person picks with a click, or with the arrow keys in the box (Enter takes the first match when
// nothing shown is chosen yet). When the chosen option is filtered out, the choice is cleared (back to the blank
// option), so the form never submits a choice the person can no longer see; a required list is then refused
// with its message. Query and options are compared NFKC-normalised and lower-cased (full-width ０９６ is 096,
// a credit code typed in lower case matches), and every space-separated term must occur in the option's text
// or value: "光电科技 096" finds 云帆光电科技有限公司（…096…）.
function pickerText(text) {
  return text.normalize("NFKC").toLowerCase();
}
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("select[data-filter-by]").forEach((select) => {
    const input = document.getElementById(select.dataset.filterBy);
    if (!input) return;
    const options = [...select.options];
    const haystack = new Map(options.map((option) => [option, pickerText(`${option.text} ${option.value}`)]));
    const shown = () => options.filter((option) => !option.hidden && option.value !== "");
    const choose = (option) => {
      select.value = option ? option.value : "";
      if (!option && select.value !== "") select.selectedIndex = -1;  // no blank option to fall back to
      select.dispatchEvent(new Event("change", { bubbles: true }));
    };
    input.hidden = false;
    input.addEventListener("input", () => {
      const terms = pickerText(input.value).split(/\s+/).filter(Boolean);
      options.forEach((option) => {
        option.hidden = option.value !== "" && !terms.every((term) => haystack.get(option).includes(term));
      });
      const chosen = select.selectedOptions[0];
      if (chosen && chosen.hidden) choose(null);
    });
    input.addEventListener("keydown", (event) => {
      if (!["ArrowDown", "ArrowUp", "Enter"].includes(event.key) || event.ctrlKey || event.metaKey) return;
      event.preventDefault();  // Enter in the search box picks; it never submits the form
      const visible = shown();
      if (visible.length === 0) return;
      const at = visible.indexOf(select.selectedOptions[0]);
      if (event.key === "Enter") { if (at < 0) choose(visible[0]); return; }
      const step = event.key === "ArrowDown" ? 1 : -1;
      choose(visible[at < 0 ? (step > 0 ? 0 : visible.length - 1) : Math.min(Math.max(at + step, 0), visible.length - 1)]);
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

// Print buttons (<button data-print hidden>) need the browser's print dialog: without JavaScript they stay hidden
// (Ctrl+P prints). Handlers live here, never in on...= attributes, which the Content-Security-Policy refuses.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  });
});

// A workflow diagram fills a wider container a little (text stays readable) and scrolls in a narrower one: its
// natural width comes as data-width (a style="" attribute would be refused by the Content-Security-Policy).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("svg[data-width]").forEach((svg) => {
    const width = Number(svg.dataset.width);
    if (!(width > 0)) return;
    svg.style.minWidth = `${width}px`;
    svg.style.maxWidth = `${width * 1.3}px`;
  });
});

// Upload limits (data-max-files, data-max-bytes, data-max-total on a file input, from Settings): a selection
// over a limit is refused at once, with the message next to the input, and the form cannot be submitted until
// the selection fits, so nothing the clerk typed is lost to the server's 413 (which stays as the backstop).
function uploadProblem(input) {
  const files = Array.from(input.files || []);
  const maxFiles = Number(input.dataset.maxFiles);
  const maxBytes = Number(input.dataset.maxBytes);
  const maxTotal = Number(input.dataset.maxTotal);
  const one = (n) => n.toFixed(1).replace(/\.0$/, "");
  const mb = (n) => (n >= 1048576 ? `${one(n / 1048576)} MB` : n >= 1024 ? `${one(n / 1024)} KB` : `${n} B`);
  const en = (document.documentElement.lang || "").startsWith("en");
  if (maxFiles && files.length > maxFiles) {
    return en
      ? `${files.length} files chosen; at most ${maxFiles} per submission`
      : `选择了 ${files.length} 个文件，每次最多 ${maxFiles} 个`;
  }
  const big = files.find((file) => maxBytes && file.size > maxBytes);
  if (big) {
    return en
      ? `${big.name} is ${mb(big.size)}; each file may be at most ${mb(maxBytes)}`
      : `${big.name} 为 ${mb(big.size)}，单个文件最大 ${mb(maxBytes)}`;
  }
  const total = files.reduce((sum, file) => sum + file.size, 0);
  if (maxTotal && total > maxTotal) {
    return en
      ? `The files total ${mb(total)}; at most ${mb(maxTotal)} per submission`
      : `文件合计 ${mb(total)}，每次最多 ${mb(maxTotal)}`;
  }
  return "";
}

function checkUpload(input) {
  const problem = uploadProblem(input);
  let note = input.parentElement.querySelector("p[data-upload-limit]");
  if (problem && !note) {
    note = document.createElement("p");
    note.className = "error";
    note.dataset.uploadLimit = "";
    note.id = `${input.id || input.name}-limit`;
    note.setAttribute("role", "alert");
    input.insertAdjacentElement("afterend", note);
  }
  if (note) {
    note.textContent = problem;
    note.hidden = !problem;
  }
  input.setCustomValidity(problem);
  if (problem) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  return problem;
}

document.addEventListener("change", (event) => {
  if (event.target.matches && event.target.matches("input[type=file][data-max-files]")) checkUpload(event.target);
});
document.addEventListener(
  "submit",
  (event) => {
    const inputs = event.target.querySelectorAll("input[type=file][data-max-files]");
    if (Array.from(inputs).some((input) => checkUpload(input))) event.preventDefault();
  },
  true,
);
