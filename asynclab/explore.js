// asynclab's explorable timeline and step-by-step replay (the front-end of asynclab/explore.py).
//
// An anywidget module: no build step, no network, no dependencies.  The kernel sends the recorded
// spans once (model "_data_json", a JSON string); hover, zoom, pan, selection and replay all happen here.  It draws on
// one canvas and only the rows on screen, so a timeline of 10,000 tasks draws as fast as one of 10.
// The replay's position is the model's "step" (0: before the first step), so Python can set it.

const RUNNING = "running", READY = "ready", WAITING = "waiting";
const NOW_COLOUR = "#d62728";
const AXIS_HEIGHT = 26;
const MAX_LISTED = 40;                      // ready and waiting tasks listed by name in the replay panel


function ms(seconds, digits) {
  const v = seconds * 1000;
  const d = digits !== undefined ? digits : (Math.abs(v) >= 100 ? 1 : Math.abs(v) >= 1 ? 2 : 3);
  return v.toFixed(d) + " ms";
}

function niceStep(rough) {
  const p = Math.pow(10, Math.floor(Math.log10(rough)));
  const f = rough / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

// The widget's words: English, or their translation sent by the kernel ("texts" in the data, from
// asynclab/locale) when asynclab speaks another language.  "{name}" fields are filled from values.
// (Named tr, as in Python: no local variable of this file may be called tr.)
let TEXTS = {};
function tr(english, values) {
  let text = TEXTS[english] || english;
  for (const [name, value] of Object.entries(values || {})) text = text.split("{" + name + "}").join(String(value));
  return text;
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Columns from Python -> typed arrays, and each task's span range (spans come sorted by task).
function prepare(data) {
  const tasks = data.tasks, spans = data.spans;
  const n = tasks.label.length, m = spans.task.length;
  const task = Int32Array.from(spans.task);
  const start = Float64Array.from(spans.start);
  const end = Float64Array.from(spans.end);
  const kind = spans.kind, what = spans.what, site = spans.site;
  const first = new Int32Array(n + 1);
  for (let k = 0; k < m; k++) first[task[k] + 1]++;
  for (let i = 0; i < n; i++) first[i + 1] += first[i];
  const children = Array.from({length: n}, () => []);
  tasks.parent.forEach((p, i) => { if (p >= 0 && p < n) children[p].push(i); });
  return {n, m, task, start, end, kind, what, site, first, children,
          label: tasks.label, parent: tasks.parent, parentLabel: tasks.parent_label,
          outcome: tasks.outcome, steps: data.steps, duration: data.duration || 0,
          colours: data.colours || {waiting: {}}};     // tl.plot()'s colours, sent by Python
}

// Who runs, who is ready (in queue order) and who waits (for what), as step k begins.
function stateAt(tl, k) {
  if (k <= 0 || k > tl.steps.length) return {now: null, running: -1, ready: [], waiting: []};
  const s = tl.steps[k - 1], now = tl.start[s], running = tl.task[s];
  const ready = [], isReady = new Uint8Array(tl.n), waiting = [];
  for (let j = 0; j < tl.m; j++) {
    if (tl.kind[j] === READY && tl.start[j] <= now && now < tl.end[j] && tl.task[j] !== running &&
        !isReady[tl.task[j]]) {
      ready.push(j);
      isReady[tl.task[j]] = 1;
    }
  }
  ready.sort((a, b) => tl.start[a] - tl.start[b] || tl.task[a] - tl.task[b]);
  for (let j = 0; j < tl.m; j++) {
    const t = tl.task[j];
    if (tl.kind[j] === WAITING && tl.start[j] <= now && now < tl.end[j] && t !== running && !isReady[t])
      waiting.push(j);
  }
  return {now, running, step: s, ready: ready.map(j => tl.task[j]), waiting};
}

function render({model, el: host}) {
  const began = performance.now();
  const sent = JSON.parse(model.get("_data_json") || "{}");
  TEXTS = sent.texts || {};
  const tl = prepare(sent.tasks ? sent : {tasks: {label: [], parent: []}, spans: {task: []}, steps: []});
  const end = Math.max(tl.duration, 1e-6);
  const view = {t0: 0, t1: end * 1.02, scrollTop: 0, selected: -1, hover: -1,
                step: Math.min(Math.max(model.get("step") || 0, 0), tl.steps.length)};
  const rowH = tl.n <= 40 ? 20 : 14;

  // -- the DOM: toolbar, timeline (canvas in a scroller), tooltip, selection line, replay panel
  const root = el("div", "asynclab-explore");
  root.tabIndex = 0;
  const bar = el("div", "ax-toolbar");
  const zoomIn = el("button", "ax-zoom-in", "+"), zoomOut = el("button", "ax-zoom-out", "−");
  const whole = el("button", "ax-reset", tr("whole timeline"));
  zoomIn.title = tr("zoom in (or Ctrl + wheel, or double-click)");
  zoomOut.title = tr("zoom out (or Ctrl + wheel)");
  const range = el("span", "ax-range");
  const hint = el("span", "ax-hint", tr("drag to pan · Ctrl+wheel to zoom · click a task · ← → step"));
  bar.append(zoomIn, zoomOut, whole, range, hint);

  const scroller = el("div", "ax-scroller");
  const canvas = el("canvas", "ax-canvas");
  const spacer = el("div", "ax-spacer");
  scroller.append(canvas, spacer);
  const tooltip = el("div", "ax-tooltip");
  const selection = el("div", "ax-selection", tr("Click a task to see who created it and what it created."));

  const replay = el("div", "ax-replay");
  const controls = el("div", "ax-controls");
  const back = el("button", "ax-back", tr("◀ back")), fwd = el("button", "ax-forward", tr("step ▶"));
  const slider = el("input", "ax-slider");
  slider.type = "range"; slider.min = "0"; slider.max = String(tl.steps.length); slider.step = "1";
  const stepLabel = el("span", "ax-step-label");
  controls.append(back, slider, fwd, stepLabel);
  const runningBox = el("div", "ax-running");
  const readyBox = el("div", "ax-ready");
  const waitingBox = el("div", "ax-waiting");
  replay.append(controls, runningBox, readyBox, waitingBox);

  root.append(bar, scroller, tooltip, selection, replay);
  host.appendChild(root);

  // -- geometry
  const ctx = canvas.getContext("2d");
  const maxHeight = model.get("height") || 420;
  const visibleRows = Math.max(1, Math.min(tl.n, Math.floor((maxHeight - AXIS_HEIGHT) / rowH)));
  const canvasH = AXIS_HEIGHT + visibleRows * rowH + 4;
  let W = 0, labelW = 100;
  ctx.font = "12px sans-serif";
  for (let i = 0; i < Math.min(tl.n, 2000); i++)
    labelW = Math.max(labelW, Math.min(200, ctx.measureText(tl.label[i]).width + 14));
  scroller.style.height = canvasH + "px";
  spacer.style.height = Math.max(0, AXIS_HEIGHT + tl.n * rowH + 4 - canvasH) + "px";

  const xOf = t => labelW + (t - view.t0) / (view.t1 - view.t0) * (W - labelW - 8);
  const tOf = x => view.t0 + (x - labelW) / (W - labelW - 8) * (view.t1 - view.t0);
  const yOf = i => AXIS_HEIGHT + i * rowH - view.scrollTop;
  const rowAt = y => (y < AXIS_HEIGHT ? -1 : Math.floor((y - AXIS_HEIGHT + view.scrollTop) / rowH));

  function resize() {
    const w = Math.max(300, scroller.clientWidth || root.clientWidth || 800);
    const dpr = window.devicePixelRatio || 1;
    W = w;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(canvasH * dpr);
    canvas.style.width = w + "px";
    canvas.style.height = canvasH + "px";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  // -- drawing
  let state = stateAt(tl, view.step);
  let family = {parent: -1, children: new Set()};

  function drawAxis() {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, W, AXIS_HEIGHT);
    const step = niceStep((view.t1 - view.t0) / Math.max(2, (W - labelW) / 90));
    ctx.fillStyle = "#333"; ctx.strokeStyle = "#eee"; ctx.textAlign = "center";
    ctx.font = "11px sans-serif";
    const digits = Math.max(0, -Math.floor(Math.log10(step * 1000)));
    for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
      const x = xOf(t);
      ctx.fillText((t * 1000).toFixed(digits), x, 14);
      ctx.beginPath(); ctx.moveTo(x + 0.5, AXIS_HEIGHT - 6); ctx.lineTo(x + 0.5, canvasH); ctx.stroke();
    }
    ctx.textAlign = "left";
    ctx.fillText(tr("time (ms)"), 4, 14);
    ctx.strokeStyle = "#999";
    ctx.beginPath(); ctx.moveTo(labelW, AXIS_HEIGHT - 0.5); ctx.lineTo(W, AXIS_HEIGHT - 0.5); ctx.stroke();
  }

  function drawRow(i) {
    const y = yOf(i);
    let tint = null;
    if (i === view.selected) tint = "#dbe9f6";
    else if (i === family.parent) tint = "#fde3c8";
    else if (family.children.has(i)) tint = "#def2d9";
    if (tint) { ctx.fillStyle = tint; ctx.fillRect(0, y, W, rowH); }
    ctx.fillStyle = i === state.running ? NOW_COLOUR : "#222";
    ctx.font = (i === view.selected || i === state.running ? "bold " : "") + "12px sans-serif";
    ctx.textAlign = "right";
    let text = tl.label[i];
    while (text.length > 3 && ctx.measureText(text).width > labelW - 12) text = text.slice(0, -2);
    if (text !== tl.label[i]) text += "…";
    ctx.fillText(text, labelW - 6, y + rowH / 2 + 4);
    ctx.textAlign = "left";
    const xMin = labelW, xMax = W - 8;
    // waiting and ready first (thin), then running on top (full height)
    for (let pass = 0; pass < 2; pass++) {
      for (let j = tl.first[i]; j < tl.first[i + 1]; j++) {
        const isRun = tl.kind[j] === RUNNING;
        if (isRun !== (pass === 1)) continue;
        if (tl.end[j] < view.t0 || tl.start[j] > view.t1) continue;
        let x0 = Math.max(xMin, xOf(tl.start[j])), x1 = Math.min(xMax, xOf(tl.end[j]));
        if (x1 - x0 < 1) x1 = x0 + 1;
        if (isRun) {
          ctx.fillStyle = tl.colours.running;
          ctx.fillRect(x0, y + 2, x1 - x0, rowH - 4);
        } else {
          ctx.fillStyle = tl.kind[j] === READY ? tl.colours.ready
            : tl.colours.waiting[tl.what[j] === null ? "" : tl.what[j]] || "#eeeeee";
          const h = Math.max(2, rowH - 10);
          ctx.fillRect(x0, y + (rowH - h) / 2, x1 - x0, h);
        }
        if (j === view.hover || (state.now !== null && j === state.step)) {
          ctx.strokeStyle = j === state.step ? NOW_COLOUR : "#000";
          ctx.lineWidth = 2;
          ctx.strokeRect(x0 - 1, y + 1, x1 - x0 + 2, rowH - 2);
          ctx.lineWidth = 1;
        }
      }
    }
  }

  function draw() {
    const t = performance.now();
    ctx.clearRect(0, 0, W, canvasH);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, canvasH);
    const firstRow = Math.max(0, Math.floor(view.scrollTop / rowH));
    const lastRow = Math.min(tl.n - 1, firstRow + visibleRows + 1);
    ctx.save();
    ctx.beginPath(); ctx.rect(0, AXIS_HEIGHT, W, canvasH - AXIS_HEIGHT); ctx.clip();
    for (let i = firstRow; i <= lastRow; i++) drawRow(i);
    ctx.restore();
    drawAxis();
    if (state.now !== null && state.now >= view.t0 && state.now <= view.t1) {
      const x = Math.round(xOf(state.now)) + 0.5;
      ctx.strokeStyle = NOW_COLOUR; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(x, AXIS_HEIGHT - 8); ctx.lineTo(x, canvasH); ctx.stroke();
      ctx.lineWidth = 1;
      ctx.fillStyle = NOW_COLOUR; ctx.font = "bold 11px sans-serif"; ctx.textAlign = "center";
      ctx.fillText(tr("now"), x, AXIS_HEIGHT - 2);
      ctx.textAlign = "left";
    }
    range.textContent = tr("showing {from} – {to} of {end}", {from: ms(view.t0), to: ms(view.t1), end: ms(end)});
    root.dataset.t0 = view.t0; root.dataset.t1 = view.t1;
    root.dataset.lastDrawMs = (performance.now() - t).toFixed(2);
  }

  let pending = false;
  function requestDraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  }

  // -- zoom and pan
  function setRange(t0, t1) {
    const minSpan = 1e-7, maxSpan = end * 1.02;
    let span = Math.min(Math.max(t1 - t0, minSpan), maxSpan * 4);
    const mid = (t0 + t1) / 2;
    t0 = mid - span / 2; t1 = mid + span / 2;
    const lo = -end * 0.5, hi = end * 1.5;       // never lose the recording off screen
    if (t0 < lo) { t1 += lo - t0; t0 = lo; }
    if (t1 > hi) { t0 -= t1 - hi; t1 = hi; }
    view.t0 = t0; view.t1 = t1;
  }
  function zoom(factor, around) {
    const at = around !== undefined ? around : (view.t0 + view.t1) / 2;
    setRange(at - (at - view.t0) * factor, at + (view.t1 - at) * factor);
  }
  zoomIn.onclick = () => { zoom(0.5, state.now !== null ? state.now : undefined); draw(); };
  zoomOut.onclick = () => { zoom(2, state.now !== null ? state.now : undefined); draw(); };
  whole.onclick = () => { view.t0 = 0; view.t1 = end * 1.02; draw(); };

  canvas.addEventListener("wheel", e => {
    if (!(e.ctrlKey || e.metaKey)) return;          // a plain wheel scrolls the rows / the page
    e.preventDefault();
    const x = e.offsetX;
    zoom(Math.exp(e.deltaY * 0.002), x > labelW ? tOf(x) : undefined);
    requestDraw();
  }, {passive: false});
  canvas.addEventListener("dblclick", e => {
    if (e.offsetX > labelW) { zoom(0.5, tOf(e.offsetX)); draw(); }
  });
  scroller.addEventListener("scroll", () => { view.scrollTop = scroller.scrollTop; requestDraw(); });

  let drag = null;
  canvas.addEventListener("mousedown", e => {
    root.focus({preventScroll: true});             // so that the arrow keys step the replay next
    drag = {x: e.clientX, t0: view.t0, t1: view.t1, moved: false};
  });
  const onMove = e => {
    if (!drag) return;
    const dx = e.clientX - drag.x;
    if (Math.abs(dx) > 3) drag.moved = true;
    if (drag.moved) {
      const dt = dx / (W - labelW - 8) * (drag.t1 - drag.t0);
      setRange(drag.t0 - dt, drag.t1 - dt);
      requestDraw();
    }
  };
  const onUp = e => {
    if (!drag) return;
    const wasClick = !drag.moved;
    drag = null;
    if (wasClick) clickAt(e);
  };
  window.addEventListener("mousemove", onMove);
  window.addEventListener("mouseup", onUp);

  // -- hover: the span under the pointer (or within 3 px of it)
  function spanAt(x, y) {
    const i = rowAt(y);
    if (i < 0 || i >= tl.n || x < labelW) return {row: i, span: -1};
    const t = tOf(x), slack = 3 / (W - labelW - 8) * (view.t1 - view.t0);
    let best = -1, bestRank = 99;
    for (let j = tl.first[i]; j < tl.first[i + 1]; j++) {
      if (tl.start[j] - slack <= t && t <= tl.end[j] + slack) {
        const inside = tl.start[j] <= t && t <= tl.end[j];
        const rank = (inside ? 0 : 3) + (tl.kind[j] === RUNNING ? 0 : tl.kind[j] === READY ? 1 : 2);
        if (rank < bestRank) { best = j; bestRank = rank; }
      }
    }
    return {row: i, span: best};
  }

  function describeSpan(j) {
    const i = tl.task[j], k = tl.kind[j];
    const kindText = k === RUNNING ? tr("running")
      : k === READY ? tr("ready (in the loop's queue, waiting for its turn)")
      : tr("waiting for {what}", {what: tl.what[j] || tr("something asyncio cannot name")});
    const lines = [[null, tl.label[i]], [tr("kind"), kindText],
                   [tr("start"), ms(tl.start[j])], [tr("duration"), ms(tl.end[j] - tl.start[j])]];
    if (tl.site[j]) lines.push([tr("waits at"), tl.site[j]]);
    lines.push([tr("parent"), tl.parentLabel[i] || tr("none recorded")]);
    return lines;
  }

  function showTooltip(lines, x, y, task, kind) {
    tooltip.replaceChildren(...lines.map(([key, value]) => {
      const line = el("div", key ? "ax-tip-line" : "ax-tip-title");
      if (key) { line.append(el("span", "ax-tip-key", key + " "), el("span", "ax-tip-value", value)); }
      else line.textContent = value;
      return line;
    }));
    tooltip.dataset.task = task;
    tooltip.dataset.kind = kind;
    tooltip.style.display = "block";
    const box = root.getBoundingClientRect(), cbox = canvas.getBoundingClientRect();
    let left = cbox.left - box.left + x + 14, top = cbox.top - box.top + y + 14;
    if (left + 300 > box.width) left = Math.max(0, left - 330);
    tooltip.style.left = left + "px"; tooltip.style.top = top + "px";
  }
  function hideTooltip() {
    tooltip.style.display = "none";
    delete tooltip.dataset.task; delete tooltip.dataset.kind;
  }

  canvas.addEventListener("mousemove", e => {
    if (drag && drag.moved) { hideTooltip(); return; }
    const {row, span} = spanAt(e.offsetX, e.offsetY);
    if (span >= 0) {
      const kind = tl.kind[span] === WAITING ? "waiting" : tl.kind[span];
      showTooltip(describeSpan(span), e.offsetX, e.offsetY, tl.label[row], kind);
    } else if (row >= 0 && row < tl.n && e.offsetX < labelW) {
      const kids = tl.children[row].length;
      showTooltip([[null, tl.label[row]], [tr("outcome"), tl.outcome[row] ? tr(tl.outcome[row]) : "?"],
                   [tr("parent"), tl.parentLabel[row] || tr("none recorded")],
                   [tr("created"), kids === 1 ? tr("{n} task", {n: kids}) : tr("{n} tasks", {n: kids})]],
                  e.offsetX, e.offsetY, tl.label[row], "task");
    } else hideTooltip();
    if (span !== view.hover) { view.hover = span; requestDraw(); }
  });
  canvas.addEventListener("mouseleave", () => {
    hideTooltip();
    if (view.hover !== -1) { view.hover = -1; requestDraw(); }
  });

  // -- click a task: highlight its parent and children
  function select(i) {
    view.selected = i;
    if (i < 0) {
      family = {parent: -1, children: new Set()};
      selection.textContent = tr("Click a task to see who created it and what it created.");
      delete root.dataset.selected;
    } else {
      family = {parent: tl.parent[i], children: new Set(tl.children[i])};
      const kids = tl.children[i].map(c => tl.label[c]);
      const shown = kids.slice(0, 12).join(", ") + (kids.length > 12 ? tr(", and {n} more", {n: kids.length - 12}) : "");
      selection.replaceChildren(
        el("b", null, tl.label[i]), document.createTextNode(tr(": created by ")),
        el("span", "ax-parent", tl.parentLabel[i] || tr("no recorded task")),
        document.createTextNode(kids.length ? tr("; created {n}: ", {n: kids.length}) : tr("; created no task")),
        el("span", "ax-children", shown));
      root.dataset.selected = tl.label[i];
    }
    draw();
  }
  function clickAt(e) {
    const cbox = canvas.getBoundingClientRect();
    const i = rowAt(e.clientY - cbox.top);
    if (e.clientX < cbox.left || e.clientX > cbox.right || e.clientY < cbox.top || e.clientY > cbox.bottom) return;
    select(i >= 0 && i < tl.n && i !== view.selected ? i : -1);
  }

  // -- replay
  function taskChip(i, cls, colour) {
    const chip = el("span", "ax-chip " + cls, tl.label[i]);
    chip.dataset.task = tl.label[i];
    if (colour) chip.style.background = colour;
    return chip;
  }
  function showState() {
    const k = view.step, total = tl.steps.length;
    slider.value = String(k);
    back.disabled = k <= 0; fwd.disabled = k >= total;
    stepLabel.textContent = total === 0 ? tr("no steps recorded")
      : k === 0 ? tr("before step 1 of {total}", {total}) : tr("step {k} of {total} · now = {now}", {k, total, now: ms(state.now)});
    root.dataset.step = k;
    root.dataset.now = state.now === null ? "" : state.now;
    if (k === 0) {
      runningBox.replaceChildren(el("span", "ax-key", tr("Running: ")),
        el("span", "ax-none", tr("nothing yet: press step ▶ (or →) to let the loop run one step.")));
    } else {
      runningBox.replaceChildren(el("span", "ax-key", tr("Running: ")), taskChip(state.running, "ax-run", tl.colours.running),
        document.createTextNode(tr(" from {now} for {duration}", {now: ms(state.now), duration: ms(tl.end[state.step] - tl.start[state.step])})));
    }
    const readyList = el("ol", "ax-queue");
    state.ready.slice(0, MAX_LISTED).forEach(i => {
      const li = el("li"); li.append(taskChip(i, "ax-ready-chip", tl.colours.ready)); readyList.append(li);
    });
    if (state.ready.length > MAX_LISTED) readyList.append(el("li", "ax-more", tr("and {n} more", {n: state.ready.length - MAX_LISTED})));
    readyBox.replaceChildren(el("span", "ax-key", tr("Ready queue, next first: ")),
      state.ready.length ? readyList : el("span", "ax-none", k === 0 ? "–" : tr("empty")));
    const waitList = el("ul", "ax-waits");
    state.waiting.slice(0, MAX_LISTED).forEach(j => {
      const li = el("li");
      li.append(taskChip(tl.task[j], "ax-wait-chip"),
        document.createTextNode(tr(" waits for {what}", {what: tl.what[j] || tr("something asyncio cannot name")}) +
                                (tl.site[j] ? tr(" (at {site})", {site: tl.site[j]}) : "")));
      waitList.append(li);
    });
    if (state.waiting.length > MAX_LISTED) waitList.append(el("li", "ax-more", tr("and {n} more", {n: state.waiting.length - MAX_LISTED})));
    waitingBox.replaceChildren(el("span", "ax-key", tr("Waiting: ")),
      state.waiting.length ? waitList : el("span", "ax-none", k === 0 ? "–" : tr("none")));
  }
  function setStep(k, fromModel) {
    k = Math.min(Math.max(k | 0, 0), tl.steps.length);
    view.step = k;
    state = stateAt(tl, k);
    if (state.now !== null) {
      const span = view.t1 - view.t0;         // keep "now" on screen
      if (state.now < view.t0 || state.now > view.t1) setRange(state.now - span / 3, state.now + span * 2 / 3);
      const y = state.running * rowH;        // and the running task's row
      if (y < view.scrollTop || y > view.scrollTop + (visibleRows - 1) * rowH) {
        scroller.scrollTop = Math.max(0, y - Math.floor(visibleRows / 2) * rowH);
        view.scrollTop = scroller.scrollTop;
      }
    }
    showState();
    draw();
    if (!fromModel && model.get("step") !== k) { model.set("step", k); model.save_changes(); }
  }
  back.onclick = () => setStep(view.step - 1);
  fwd.onclick = () => setStep(view.step + 1);
  slider.addEventListener("input", () => setStep(Number(slider.value)));
  root.addEventListener("keydown", e => {
    if (e.target === slider) return;           // the slider handles its own arrows
    const moves = {ArrowRight: 1, ArrowLeft: -1};
    if (e.key in moves) { setStep(view.step + moves[e.key]); e.preventDefault(); e.stopPropagation(); }
    else if (e.key === "Home") { setStep(0); e.preventDefault(); e.stopPropagation(); }
    else if (e.key === "End") { setStep(tl.steps.length); e.preventDefault(); e.stopPropagation(); }
  });
  const onModelStep = () => { if (model.get("step") !== view.step) setStep(model.get("step"), true); };
  model.on("change:step", onModelStep);

  // -- for tests and measurements: where a task's span is drawn, and the replay's state
  root.asynclabExplore = {
    spanCenter(label, kind) {
      const i = tl.label.indexOf(label);
      if (i < 0) return null;
      const y = i * rowH;
      if (y < view.scrollTop || y > view.scrollTop + (visibleRows - 1) * rowH) {
        scroller.scrollTop = y; view.scrollTop = scroller.scrollTop; draw();
      }
      for (let j = tl.first[i]; j < tl.first[i + 1]; j++) {
        if (tl.kind[j] !== kind || tl.end[j] < view.t0 || tl.start[j] > view.t1) continue;
        const x0 = Math.max(labelW, xOf(tl.start[j])), x1 = Math.min(W - 8, xOf(tl.end[j]));
        const box = canvas.getBoundingClientRect();
        return {x: box.left + (x0 + x1) / 2, y: box.top + yOf(i) + rowH / 2, width: x1 - x0};
      }
      return null;
    },
    state: () => ({step: view.step, now: state.now, running: state.running >= 0 ? tl.label[state.running] : null,
                   ready: state.ready.map(i => tl.label[i]),
                   waiting: state.waiting.map(j => [tl.label[tl.task[j]], tl.what[j]])}),
    range: () => [view.t0, view.t1],
    zoom(factor) { zoom(factor); draw(); },
    draw,
  };

  const observer = new ResizeObserver(() => {
    const w = Math.max(300, scroller.clientWidth || 0);
    if (Math.abs(w - W) > 1) { resize(); draw(); }
  });
  resize();
  setStep(view.step, true);
  observer.observe(scroller);
  root.dataset.firstDrawMs = (performance.now() - began).toFixed(2);
  root.dataset.ready = "1";

  return () => {
    observer.disconnect();
    window.removeEventListener("mousemove", onMove);
    window.removeEventListener("mouseup", onUp);
    model.off("change:step", onModelStep);
  };
}

export default { render };
