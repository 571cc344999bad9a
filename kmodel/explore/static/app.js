// The explorer page: shows what the server answers; the model, the search and the
// diagrams all live on the server. A run is a list of action indices, kept in the
// URL as #path=3.0.5 so that a link reproduces it; a lasso that breaks a leads-to
// contract adds where its loop starts: #path=3.0.5&loop=1&contract=NAME.
"use strict";

let path = [];
let lasso = null;  // {loop, contract} while the run shown is a lasso
let undone = [];  // steps taken back, for Forward
let hintsShown = 0;
let spec = null;

const $ = (id) => document.getElementById(id);

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

async function ask(url) {
  const response = await fetch(url);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function showError(error) {
  $("error").hidden = !error;
  $("error").textContent = error ? String(error.message || error) : "";
}

function pathText(steps) { return steps.join("."); }

function fromHash() {
  const match = /path=([0-9.]*)/.exec(location.hash);
  const loop = /loop=([0-9]+)&contract=([^&]+)/.exec(location.hash);
  lasso = loop ? { loop: Number(loop[1]), contract: decodeURIComponent(loop[2]) } : null;
  return match && match[1] ? match[1].split(".").map(Number) : [];
}

function parsePath(text) { return text.split(".").filter((x) => x !== "").map(Number); }

// The run's part of a URL: its path, and its loop when it is a lasso.
function runQuery(steps, loop) {
  const query = "path=" + pathText(steps);
  return loop ? query + "&loop=" + loop.loop + "&contract=" + encodeURIComponent(loop.contract) : query;
}

// Go to a run (a lasso when `loop` says where its loop starts and what it breaks):
// the URL changes, and the hashchange handler shows it.
function go(steps, keepUndone, loop) {
  if (!keepUndone) undone = [];
  const hash = "#" + runQuery(steps, loop);
  if (location.hash === hash) show(); else location.hash = hash;
}

async function show() {
  path = fromHash();
  const query = runQuery(path, lasso);
  try {
    const run = await ask("/api/run?" + query);
    showError(null);
    drawRun(run);
  } catch (error) {
    showError(error);
    return;
  }
  $("diagram").src = "/api/diagram?format=svg&" + query;
  $("link").href = "#" + query;
  const format = $("export-format").value || "json";
  $("export").href = "/api/export?format=" + format + "&" + query;
  $("reach").replaceChildren();
}

function drawRun(run) {
  const steps = $("steps");
  steps.replaceChildren();
  const loop = run.lasso ? run.lasso.start : run.steps.length;
  run.steps.forEach((step, i) => {
    const item = element("li", step.label, step.fault ? "fault" : "");
    if (i >= loop) item.classList.add("loop");
    if (i === loop) item.classList.add("loop-start");
    if (step.who) item.append(" ", element("span", step.who, "who"));
    item.title = "go back to after this step";
    item.onclick = () => go(path.slice(0, i + 1));
    steps.append(item);
  });
  if (!run.steps.length) steps.append(element("li", "(the initial state: choose a step below)"));
  $("broken").textContent = run.broken.length
    ? "Broken in this state: " + run.broken.join(", ") : "";
  $("lasso").hidden = !run.lasso;
  $("lasso").textContent = run.lasso ? lassoText(run.lasso, run.steps.length) : "";
  drawChoices($("normal"), run.normal, "nothing: the run has come to rest");
  drawChoices($("faults"), run.faults, "none: the fault budget is spent");
  const left = Object.entries(run.faults_left).map(([key, n]) => n + " " + key + " left");
  $("budget").textContent = left.length ? "(" + left.join(", ") + ")" : "";
  drawState(run.state);
  $("back").disabled = !path.length;
  $("forward").disabled = !undone.length;
  if (run.grade) {
    $("grade").textContent = run.grade.text;
    $("grade").className = run.grade.solved ? "solved" : "";
  }
}

// What a lasso's loop means, above the narration's own sentence.
function lassoText(loop, length) {
  const first = loop.start + 1;
  const repeats = first > length ? "↻ the run rests here for ever"
    : "↻ steps " + first + "–" + length + " repeat for ever";
  return repeats + " (" + loop.contract + "): " + loop.text;
}

function drawChoices(box, choices, none) {
  box.replaceChildren();
  for (const choice of choices) {
    const label = choice.kind === "crash" ? "crash " + choice.actor + " here" : choice.label;
    const button = element("button", label, choice.fault ? "fault" : "");
    button.type = "button";
    button.dataset.index = choice.index;
    if (choice.who && choice.kind !== "crash") button.append(" ", element("span", choice.who, "who"));
    if (choice.fault) button.append(" ", element("span", choice.fault, "who"));
    button.onclick = () => go([...path, choice.index]);
    box.append(button);
  }
  if (!choices.length) box.append(element("p", none));
}

function drawState(panel) {
  const box = $("state");
  box.replaceChildren();
  for (const actor of panel) {
    const changed = actor.rows.some((row) => row.changed);
    const part = element("div", undefined, "actor" + (changed ? " changed" : ""));
    part.dataset.actor = actor.actor;
    part.append(element("h3", actor.actor));
    const table = element("table");
    for (const row of actor.rows) {
      const line = element("tr", undefined, row.changed ? "changed" : "");
      line.append(element("td", row.label), element("td", row.value));
      table.append(line);
    }
    part.append(table);
    box.append(part);
  }
}

async function jump(contract) {
  try {
    const found = await ask("/api/counterexample?contract=" + encodeURIComponent(contract));
    go(parsePath(found.path), false, found.loop === null ? null : { loop: found.loop, contract });
  } catch (error) {
    showError(error);
  }
}

async function whereNext() {
  const box = $("reach");
  box.replaceChildren(element("p", "searching…"));
  try {
    const found = await ask("/api/reach?path=" + pathText(path));
    const list = element("ul");
    for (const o of found.outlooks) {
      const item = element("li", o.leads_to ? promiseText(o) : outlookText(o), o.status);
      if (o.path !== null) {
        const button = element("button", "go there");
        button.type = "button";
        const loop = o.loop === null ? null : { loop: o.loop, contract: o.name };
        button.onclick = () => go(parsePath(o.path), false, loop);
        item.append(button);
      }
      list.append(item);
    }
    const spent = found.budget_spent ? "; the budget was spent before every state was seen" : "";
    const done = found.complete ? "; every state reachable from here was seen" : "";
    box.replaceChildren(list, element("p", found.states + " states in " + found.seconds + " s" + spent + done));
  } catch (error) {
    box.replaceChildren();
    showError(error);
  }
}

function outlookText(o) {
  if (o.status === "violated") return o.name + " can break in " + o.steps + " steps ";
  if (o.status === "holds") return o.name + " can no longer break from here";
  return o.name + ": not found within the budget";
}

// A leads-to contract: whether its promise is due now, and whether every fair run from
// here keeps it.
function promiseText(o) {
  const due = o.due_since === null ? "nothing is due now"
    : "its promise is due " + (o.due_since ? "since step " + o.due_since : "from the start");
  let outlook;
  if (o.status === "violated") {
    outlook = o.steps ? "a fair run from here never keeps it: a lasso in " + o.steps + " steps "
      : "this run already rests with it unkept ";
  } else if (o.status === "holds") outlook = "every fair run from here keeps it";
  else outlook = "not decided within the budget";
  return o.name + " (leads-to): " + due + "; " + outlook;
}

async function nextHint() {
  if (hintsShown >= spec.hints) return;
  try {
    const found = await ask("/api/hint?level=" + (hintsShown + 1) + "&path=" + pathText(path));
    hintsShown += 1;
    $("hints").append(element("li", found.text));
    $("hint-button").disabled = hintsShown >= spec.hints;
  } catch (error) {
    showError(error);
  }
}

async function start() {
  spec = await ask("/api/spec");
  document.title = spec.title + " — kmodel explore";
  $("title").textContent = spec.title;
  $("description").textContent = spec.description;
  if (spec.exercise) {
    $("exercise").hidden = false;
    $("prompt").textContent = spec.exercise.prompt;
  }
  // An exercise is solved by the student, not by a jump to its answer.
  $("jump-line").hidden = Boolean(spec.exercise);
  for (const contract of spec.contracts) {
    const option = element("option", contract.name);
    option.value = contract.name;
    option.title = contract.description;
    $("contract").append(option);
  }
  $("jump").onclick = () => jump($("contract").value);
  for (const format of spec.formats) {
    const option = element("option", format.name + " (." + format.extension + ")");
    option.value = format.name;
    $("export-format").append(option);
  }
  $("export-format").value = "json";
  $("export-format").onchange = show;
  $("back").onclick = () => { if (path.length) { undone.push(path.at(-1)); go(path.slice(0, -1), true); } };
  $("forward").onclick = () => { if (undone.length) go([...path, undone.pop()], true); };
  $("restart").onclick = () => go([]);
  $("reach-button").onclick = whereNext;
  $("hint-button").onclick = nextHint;
  window.addEventListener("hashchange", show);
  show();
}

start().catch(showError);
