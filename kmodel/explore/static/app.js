// The explorer page: shows what the server answers; the model, the search and the
// diagrams all live on the server. A run is a list of action indices, kept in the
// URL as #path=3.0.5 so that a link reproduces it.
"use strict";

let path = [];
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
  return match && match[1] ? match[1].split(".").map(Number) : [];
}

// Go to a run: the URL changes, and the hashchange handler shows it.
function go(steps, keepUndone) {
  if (!keepUndone) undone = [];
  const hash = "#path=" + pathText(steps);
  if (location.hash === hash) show(); else location.hash = hash;
}

async function show() {
  path = fromHash();
  const text = pathText(path);
  try {
    const run = await ask("/api/run?path=" + text);
    showError(null);
    drawRun(run);
  } catch (error) {
    showError(error);
    return;
  }
  $("diagram").src = "/api/diagram?format=svg&path=" + text;
  $("link").href = "#path=" + text;
  const format = $("export-format").value || "json";
  $("export").href = "/api/export?format=" + format + "&path=" + text;
  $("reach").replaceChildren();
}

function drawRun(run) {
  const steps = $("steps");
  steps.replaceChildren();
  run.steps.forEach((step, i) => {
    const item = element("li", step.label, step.fault ? "fault" : "");
    if (step.who) item.append(" ", element("span", step.who, "who"));
    item.title = "go back to after this step";
    item.onclick = () => go(path.slice(0, i + 1));
    steps.append(item);
  });
  if (!run.steps.length) steps.append(element("li", "(the initial state: choose a step below)"));
  $("broken").textContent = run.broken.length
    ? "Broken in this state: " + run.broken.join(", ") : "";
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
    go(found.path.split(".").filter((x) => x !== "").map(Number));
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
      let text;
      if (o.status === "violated") text = o.name + " can break in " + o.steps + " steps ";
      else if (o.status === "holds") text = o.name + " can no longer break from here";
      else text = o.name + ": not found within the budget";
      const item = element("li", text, o.status);
      if (o.path !== null) {
        const button = element("button", "go there");
        button.type = "button";
        button.onclick = () => go(o.path.split(".").filter((x) => x !== "").map(Number));
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
