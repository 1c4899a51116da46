"""Step 2 and step 4 in the room: the board, the consensus view and the criteria editor as JupyterLab widgets.

Built on anywidget (ipywidgets underneath): the page code is inlined below, so the widgets work in an
offline workshop room. Every click is handled by the models in `helpers.workshop.board` and
`helpers.workshop.criteria_editor`, which save at once; the widgets only display them.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import pandas as pd
import traitlets

from helpers.workshop import board as model
from helpers.workshop import criteria_editor as editor
from helpers.core.errors import DataProblem, format_problems
from helpers.core.i18n import catalogue, t
from helpers.paths import slugify

# Shared page code: escaping (client names are untrusted), number formats and the keyboard guard.
_COMMON_JS = r"""
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const pct = (x) => (x === null || x === undefined || Number.isNaN(x)) ? "–" : (100 * x).toFixed(x < 0.1 ? 1 : 0) + "%";
// JupyterLab reads single keys (a, b, c, d, x, 1-7) as notebook commands; keep ours inside the widget.
function guard(node) {
  node.setAttribute("data-lm-suppress-shortcuts", "true");
  for (const type of ["keydown", "keypress", "keyup"]) node.addEventListener(type, (e) => e.stopPropagation());
}
function mount(el, kind) {
  const root = document.createElement("div");
  root.className = "tb-board " + kind;
  guard(root);
  el.appendChild(root);
  return root;
}
function paintMessage(root, model) {
  const m = root.querySelector(".tb-message");
  m.textContent = model.get("message");
  m.classList.toggle("bad", model.get("message_is_error"));
}
"""

_BOARD_JS = _COMMON_JS + r"""
function render({ model, el }) {
  const t0 = performance.now();
  const L = model.get("labels");
  el.innerHTML = "";
  const root = document.createElement("div");
  root.className = "tb-board";
  root.tabIndex = 0;
  guard(root);
  root.innerHTML = `
    <div class="tb-top">
      <label>${esc(L.person)} <input class="tb-person" list="tb-people-${model.cid}" placeholder="${esc(L.person_hint)}"></label>
      <datalist id="tb-people-${model.cid}"></datalist>
      <button class="tb-start">${esc(L.start)}</button>
      <span class="tb-who"></span>
      <input class="tb-filter" type="search" placeholder="${esc(L.filter)}">
      <label><input class="tb-only" type="checkbox"> ${esc(L.only_unplaced)}</label>
      <label><input class="tb-hints" type="checkbox"> ${esc(L.show_hints)}</label>
      <button class="tb-undo" title="u / Backspace">${esc(L.undo)}</button>
    </div>
    <div class="tb-summary"></div>
    <div class="tb-keys">${esc(L.keys)}</div>
    <div class="tb-message" role="status"></div>
    <div class="tb-scroll"><div class="tb-grid tb-head">
      <div>#</div><div>${esc(L.client)}</div><div class="num">${esc(L.revenue)}</div>
      <div class="num">${esc(L.share)}</div><div class="num">${esc(L.years)}</div>
      <div class="num">${esc(L.last)}</div><div class="tb-hint">${esc(L.suggested)}</div>
      <div>${esc(L.tier)}</div></div><div class="tb-rows"></div></div>`;
  el.appendChild(root);
  const q = (s) => root.querySelector(s);
  const tbody = q(".tb-rows");
  const tiers = model.get("ladder");
  const keys = model.get("key_map");
  const clients = model.get("clients");
  // Several people may open this notebook from one JupyterLab: they share the kernel's widget, so
  // the person is kept per browser view, sent with every click, and only answers for them are taken.
  let me = "", pending = model.get("person") || "";
  let placed = {};
  let cursor = 0;
  const rows = [];
  // one string, one innerHTML: 1,000 clients render in a few tens of milliseconds
  // one string, one innerHTML; rows off screen are neither laid out nor painted (content-visibility)
  tbody.innerHTML = clients.map((c, i) => `<div class="tb-grid tb-row" data-i="${i}">
      <div class="n">${i + 1}</div><div class="name" title="${esc(c.name)}"><b>${esc(c.name)}</b> <small>${esc(c.id)}</small></div>
      <div class="num">${esc(c.revenue)}</div><div class="num">${esc(c.share)}</div><div class="num">${esc(c.years)}</div>
      <div class="num">${esc(c.last)}</div>
      <div class="tb-hint" title="${esc(c.reason)}"><span class="tb-sugg">${esc(c.suggested)}</span> <small>${esc(c.reason)}</small></div>
      <div class="tiers">${tiers.map((t) => `<span class="tb-t" data-tier="${t}">${t}</span>`).join("")}<span class="tb-skip" data-skip="1">${esc(L.skip)}</span></div></div>`).join("");
  for (const tr of tbody.children) rows.push(tr);
  const visible = () => rows.filter((r) => !r.hidden);
  const painted = new Array(clients.length).fill("");
  function paintRow(i) {
    const tr = rows[i];
    const tier = placed[clients[i].id] || "";
    if (painted[i] === tier) return;  // untouched rows cost nothing, so a full repaint stays cheap
    painted[i] = tier;
    tr.dataset.tier = tier;
    for (const b of tr.querySelectorAll(".tb-t")) b.classList.toggle("on", b.dataset.tier === tier);
  }
  function paintAll() { rows.forEach((_, i) => paintRow(i)); }
  function moveTo(i, scroll = true) {
    if (rows[cursor]) rows[cursor].classList.remove("cur");
    cursor = Math.max(0, Math.min(rows.length - 1, i));
    if (rows[cursor]) {
      rows[cursor].classList.add("cur");
      if (scroll) rows[cursor].scrollIntoView({ block: "nearest" });
    }
  }
  function step(delta) {
    const vis = visible();
    if (!vis.length) return;
    let k = vis.indexOf(rows[cursor]);
    k = k < 0 ? 0 : Math.max(0, Math.min(vis.length - 1, k + delta));
    moveTo(Number(vis[k].dataset.i));
  }
  // this view's own placements, newest last: an undo moves the cursor back at once, so a key pressed
  // before the kernel answers lands on the row taken back, not on the one after it
  const mine = [], expectUndone = [];
  function place(i, tier) {
    if (!me) { showMessage(L.choose_first, true); q(".tb-person").focus(); return; }
    mine.push([i, placed[clients[i].id] || ""]);
    placed[clients[i].id] = tier;  // shown at once; the kernel saves and sends back the truth
    paintRow(i);
    model.send({ action: "place", person: me, index: i, tier: tier });
    step(1);
  }
  function showMessage(text, bad) {
    const m = q(".tb-message");
    m.textContent = text || "";
    m.classList.toggle("bad", !!bad);
  }
  function paintSummary(s) {
    q(".tb-summary").innerHTML = s.map((r) => `<span class="tb-count" data-tier="${esc(r.tier)}"><b>${esc(r.label)}</b> ${r.clients} · ${pct(r.share)}</span>`).join("");
  }
  function applyFilter() {
    const text = q(".tb-filter").value.trim().toLowerCase();
    const only = q(".tb-only").checked;
    clients.forEach((c, i) => {
      const match = !text || c.name.toLowerCase().includes(text) || c.id.toLowerCase().includes(text);
      rows[i].hidden = !match || (only && !!placed[c.id]);
    });
    if (rows[cursor] && rows[cursor].hidden) step(0);
  }
  function paintPerson() {
    const p = me;
    q(".tb-who").textContent = p ? L.placing_as.replace("{person}", p) : L.choose_first;
    root.classList.toggle("no-person", !p);
    q(".tb-person").value = p || q(".tb-person").value;
    q(`#tb-people-${model.cid}`).innerHTML = model.get("people").map((p) => `<option value="${esc(p)}">`).join("");
  }
  tbody.addEventListener("click", (e) => {
    const tr = e.target.closest(".tb-row");
    if (!tr) return;
    const i = Number(tr.dataset.i);
    const b = e.target.closest(".tb-t, .tb-skip");
    if (b && b.dataset.tier) place(i, b.dataset.tier);
    else if (b && b.dataset.skip) { moveTo(i, false); step(1); }
    else moveTo(i, false);
    root.focus({ preventScroll: true });
  });
  root.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT") {
      if (e.key === "Enter" && e.target.classList.contains("tb-person")) q(".tb-start").click();
      if (e.key === "Escape" || (e.key === "Enter" && e.target.classList.contains("tb-filter"))) root.focus();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (keys[k]) place(cursor, keys[k]);
    else if (k === "s" || k === " " || k === "ArrowDown" || k === "j") step(1);
    else if (k === "ArrowUp" || k === "k") step(-1);
    else if (k === "u" || k === "Backspace") undo();
    else if (k === "/") { q(".tb-filter").focus(); }
    else return;
    e.preventDefault();
  });
  function undo() {
    if (!me) return;
    const last = mine.pop();
    if (last) {
      const [i, before] = last;
      if (before) placed[clients[i].id] = before; else delete placed[clients[i].id];
      paintRow(i);
      moveTo(i);
      expectUndone.push(i);
    }
    model.send({ action: "undo", person: me });
  }
  function choose(name) { pending = name.trim(); model.send({ action: "person", name: pending }); }
  q(".tb-start").addEventListener("click", () => choose(q(".tb-person").value));
  q(".tb-undo").addEventListener("click", () => { undo(); root.focus(); });
  q(".tb-filter").addEventListener("input", applyFilter);
  q(".tb-only").addEventListener("change", applyFilter);
  q(".tb-hints").checked = model.get("show_hints");
  root.classList.toggle("hide-hints", !model.get("show_hints"));
  // showing the hints is this viewer's choice, not everyone's
  q(".tb-hints").addEventListener("change", (e) => root.classList.toggle("hide-hints", !e.target.checked));
  model.on("change:people", paintPerson);
  model.on("msg:custom", (msg) => {
    if (!msg.to || (msg.to !== me && msg.to !== pending)) return;  // an answer for someone else
    if (msg.person) { me = msg.person; pending = ""; mine.length = 0; paintPerson(); }
    if (msg.tiers) { placed = Object.assign({}, msg.tiers); paintAll(); applyFilter(); }
    if (msg.summary) paintSummary(msg.summary);
    showMessage(msg.message, msg.error);
    if (msg.undone !== undefined) {  // an undo's answer: follow it unless this view has moved there already
      const expected = expectUndone.shift();
      if (msg.undone !== null && msg.undone !== expected) moveTo(msg.undone);
    }
  });
  paintSummary(model.get("summary")); paintPerson(); moveTo(0, false);
  if (pending) choose(pending);
  root.dataset.renderMs = (performance.now() - t0).toFixed(1);  // read by the screenshot check of the board
}
export default { render };
"""

_CONSENSUS_JS = _COMMON_JS + r"""
function render({ model, el }) {
  const L = model.get("labels");
  const root = mount(el, "tb-consensus");
  function paint() {
    const people = model.get("people");
    const rows = model.get("rows");
    const only = root.querySelector(".tb-only")?.checked ?? true;
    const tiers = model.get("ladder");
    root.innerHTML = `<div class="tb-top">
        <button class="tb-refresh">${esc(L.refresh)}</button>
        <label><input class="tb-only" type="checkbox" ${only ? "checked" : ""}> ${esc(L.only_discuss)}</label>
        <button class="tb-write">${esc(L.write)}</button>
        <span>${esc(L.people)}: ${people.map(esc).join(", ") || "–"} · ${esc(L.discuss_count.replace("{count}", rows.filter((r) => r.discuss).length))}</span></div>
      <div class="tb-message" role="status"></div>
      <div class="tb-scroll"><table class="tb-table"><thead><tr><th>${esc(L.client)}</th>${people.map((p) => `<th>${esc(p)}</th>`).join("")}
      <th>${esc(L.median)}</th><th>${esc(L.why)}</th><th>${esc(L.decision)}</th></tr></thead><tbody>
      ${rows.map((r, i) => (only && !r.discuss) ? "" : `<tr data-i="${i}" class="${r.discuss ? "discuss" : ""}">
        <td class="name"><b>${esc(r.name)}</b> <small>${esc(r.id)}</small></td>
        ${r.votes.map((v) => `<td class="vote" data-tier="${esc(v)}">${esc(v)}</td>`).join("")}
        <td class="vote" data-tier="${esc(r.median)}">${esc(r.median)}</td><td><small>${esc(r.why)}</small></td>
        <td><select class="tb-decide">${["", ...tiers].map((t) => `<option ${t === r.decision ? "selected" : ""}>${t}</option>`).join("")}</select></td></tr>`).join("")}
      </tbody></table></div>`;
    paintMessage(root, model);
    root.querySelector(".tb-refresh").onclick = () => model.send({ action: "refresh" });
    root.querySelector(".tb-write").onclick = () => model.send({ action: "write" });
    root.querySelector(".tb-only").onchange = paint;
    for (const s of root.querySelectorAll(".tb-decide")) {
      s.onchange = (e) => model.send({ action: "decide", index: Number(e.target.closest("tr").dataset.i), tier: e.target.value });
    }
  }
  model.on("change:rows", paint);
  model.on("change:message", paint);
  paint();
}
export default { render };
"""

_EDITOR_JS = _COMMON_JS + r"""
function render({ model, el }) {
  const L = model.get("labels");
  const root = mount(el, "tb-editor");
  function paint() {
    const items = model.get("items");
    root.innerHTML = `<div class="tb-top"><button class="tb-save">${esc(L.save)}</button>
        <span>${esc(L.counts.replace("{accepted}", items.filter((x) => x.status === "accepted").length).replace("{rejected}", items.filter((x) => x.status === "rejected").length))}</span></div>
      <div class="tb-message" role="status"></div>
      <table class="tb-table"><thead><tr><th>${esc(L.criterion)}</th><th>${esc(L.evidence)}</th><th>${esc(L.rule)}</th>
        <th>${esc(L.rationale)}</th><th>${esc(L.decision)}</th></tr></thead><tbody>
      ${items.map((x, i) => `<tr data-i="${i}" class="st-${esc(x.status || "open")}">
        <td><b>${esc(x.points_to)}</b> ${esc(x.words)}<br><small>${esc(x.id)}</small></td>
        <td><small>${esc(x.evidence_text)}</small></td>
        <td><input class="tb-rule" value="${esc(x.rule)}" size="34"><div class="bad">${esc(x.error)}</div></td>
        <td><input class="tb-rationale" value="${esc(x.rationale)}" size="28"></td>
        <td class="tiers"><button class="tb-accept ${x.status === "accepted" ? "on" : ""}">${esc(L.accept)}</button>
          <button class="tb-reject ${x.status === "rejected" ? "on" : ""}">${esc(L.reject)}</button></td></tr>`).join("")}
      <tr class="tb-new"><td><select class="tb-new-to"><option>A</option><option>C</option></select></td><td><small>${esc(L.own)}</small></td>
        <td><input class="tb-new-rule" size="34" placeholder="headcount >= 50"></td><td><input class="tb-new-rationale" size="28"></td>
        <td><button class="tb-add">${esc(L.add)}</button></td></tr></tbody></table>`;
    paintMessage(root, model);
    const idx = (e) => Number(e.target.closest("tr").dataset.i);
    root.querySelector(".tb-save").onclick = () => model.send({ action: "save" });
    for (const b of root.querySelectorAll(".tb-accept")) b.onclick = (e) => model.send({ action: "status", index: idx(e), status: "accepted" });
    for (const b of root.querySelectorAll(".tb-reject")) b.onclick = (e) => model.send({ action: "status", index: idx(e), status: "rejected" });
    for (const s of root.querySelectorAll(".tb-rule")) s.onchange = (e) => model.send({ action: "edit", index: idx(e), rule: e.target.value });
    for (const s of root.querySelectorAll(".tb-rationale")) s.onchange = (e) => model.send({ action: "edit", index: idx(e), rationale: e.target.value });
    root.querySelector(".tb-add").onclick = () => model.send({ action: "add", points_to: root.querySelector(".tb-new-to").value,
      rule: root.querySelector(".tb-new-rule").value, rationale: root.querySelector(".tb-new-rationale").value });
  }
  model.on("change:items", paint);
  model.on("change:message", paint);
  paint();
}
export default { render };
"""

_CSS = """
.tb-board { font: 13px/1.35 system-ui, sans-serif; outline: none; }
.tb-board:focus-visible { box-shadow: 0 0 0 2px #4a90d9; }
.tb-top { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: center; margin: 4px 0; }
.tb-summary { display: flex; flex-wrap: wrap; gap: 4px; margin: 4px 0; }
.tb-count { border: 1px solid #ccc; border-radius: 3px; padding: 1px 6px; }
.tb-keys { color: #555; font-size: 12px; }
.tb-message { min-height: 1.2em; color: #1b5e20; white-space: pre-wrap; }
.tb-message.bad, .tb-board .bad { color: #b00020; }
.tb-scroll { max-height: 520px; overflow-y: auto; border: 1px solid #ddd; }
.tb-table { border-collapse: collapse; width: 100%; }
.tb-table th { position: sticky; top: 0; background: #f4f4f4; text-align: left; z-index: 1; }
.tb-table td, .tb-table th { padding: 2px 6px; border-bottom: 1px solid #eee; vertical-align: middle; }
.tb-table .num { text-align: right; white-space: nowrap; }
.tb-table td.name { max-width: 240px; overflow-wrap: anywhere; }
/* the board's rows: a fixed grid, one line each, so 1,000 rows lay out as fast as 20 */
.tb-grid { display: grid; grid-template-columns: 36px minmax(170px, 1fr) 104px 56px 44px 92px minmax(140px, 260px) 430px;
  align-items: center; }
.tb-board.hide-hints .tb-grid { grid-template-columns: 36px minmax(170px, 1fr) 104px 56px 44px 92px 430px; }
.tb-grid > div { padding: 3px 6px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
.tb-grid .num { text-align: right; }
.tb-head > div { white-space: normal; }
.tb-head { position: sticky; top: 0; background: #f4f4f4; font-weight: bold; z-index: 1; border-bottom: 1px solid #ccc; }
.tb-row { border-bottom: 1px solid #eee; content-visibility: auto; contain-intrinsic-size: auto 29px; }
.tb-row.cur { background: #fff4c2; box-shadow: inset 0 0 0 2px #e0a800; }
.tb-row[data-tier]:not([data-tier=""]) > .n { background: #c8e6c9; }
.tb-row .tb-hint small { font-size: 12px; color: #444; }
.tb-t, .tb-skip { display: inline-block; min-width: 22px; text-align: center; user-select: none; }
.tb-t, .tb-skip, .tb-board button { font: inherit; padding: 1px 5px; margin: 0 1px; border: 1px solid #bbb; background: #fff; border-radius: 3px; cursor: pointer; }
.tb-t:hover, .tb-skip:hover { border-color: #1f4e79; }
.tb-t.on, .tb-board button.on { background: #1f4e79; color: #fff; border-color: #1f4e79; }
.tb-board.hide-hints .tb-hint { display: none; }
.tb-board.no-person .tiers { opacity: 0.45; }
.tb-sugg { font-weight: bold; }
.tb-consensus tr.discuss { background: #fdecea; }
.tb-editor tr.st-accepted { background: #e8f5e9; }
.tb-editor tr.st-rejected { color: #888; }
"""


def _labels(prefix: str) -> dict[str, str]:
    """Every text of one widget in the current language (EN keys fill any RU gap)."""
    start = f"board.{prefix}."
    english = {k[len(start):]: v for k, v in catalogue("en").items() if k.startswith(start)}
    return {k: t(start + k) for k in english}


def _money(value) -> str:
    if value is None or pd.isna(value):
        return ""
    text = f"{float(value):,.0f}".replace(",", "\u202f")
    return text


def _months(value) -> str:
    if value is None or pd.isna(value):
        return ""
    return t("board.board.months_ago", months=f"{float(value):.0f}")


class _Widget(anywidget.AnyWidget):
    _css = traitlets.Unicode(_CSS).tag(sync=True)
    labels = traitlets.Dict().tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    message_is_error = traitlets.Bool(False).tag(sync=True)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message_is_error = error
        # a changed value is what reaches the page: repeat a message with an invisible mark
        self.message = text if text != self.message else text + "\u200b"

    def _problem(self, exc: DataProblem) -> None:
        self._say(format_problems(exc.problems, limit=10), error=True)


class BoardWidget(_Widget):
    """The placement board: every client with the facts to recall them, one click or key per placement.

    Keys: 1 2 3 = A1 A2 A3, 4 5 6 = B1 B2 B3, 7 or c = C, d = D, x = X, s or space = skip,
    u or Backspace = undo, arrows = move, / = filter. Each placement is saved at once by
    `helpers.workshop.board.Board` to `placement/<person>.csv`.

    People who open the same notebook from one JupyterLab share this widget (one kernel): each
    browser view keeps its own person, sends it with every click and takes only the answers for
    that person, so five laptops place side by side without mixing their tiers.
    """

    _esm = traitlets.Unicode(_BOARD_JS).tag(sync=True)
    clients = traitlets.List().tag(sync=True)
    ladder = traitlets.List(list(model.BOARD_TIERS)).tag(sync=True)
    key_map = traitlets.Dict(model.KEYS).tag(sync=True)
    summary = traitlets.List().tag(sync=True)  # the counts a view shows before its person is chosen
    person = traitlets.Unicode("").tag(sync=True)  # the person a new view starts with (the notebook's parameter)
    people = traitlets.List().tag(sync=True)
    show_hints = traitlets.Bool(False).tag(sync=True)
    tiers = traitlets.Dict()  # the last person's tiers by shown id (for the notebook; views get their own)

    def __init__(self, board: model.Board, *, show_hints: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.board = board  # the board of the person who acted last
        self.boards: dict[str, model.Board] = {}
        self.labels = _labels("board")
        self.show_hints = show_hints
        rows = board.clients
        # the page only ever sees the shown id (a pseudonym in anonymised mode) and answers with row numbers
        self._ids = rows["client_id"].astype(str).tolist()
        self._shown = dict(zip(self._ids, rows["shown_id"].astype(str)))
        self.clients = [{"id": r.shown_id, "name": str(r.name), "revenue": _money(r.revenue),
                         "share": "" if pd.isna(r.share) else f"{float(r.share):.1%}",
                         "years": "" if pd.isna(r.years) else f"{float(r.years):.1f}",
                         "last": _months(r.months_since_last),
                         "suggested": "" if pd.isna(r.suggested_tier) else str(r.suggested_tier),
                         "reason": "" if pd.isna(r.reason) else str(r.reason)}
                        for r in rows.itertuples(index=False)]
        self.people = board.people()
        self._refresh()
        self.on_msg(self._on_msg)

    def _summary(self, board: model.Board) -> list[dict]:
        return [{"tier": tier, "label": t("board.board.unplaced") if tier == "unplaced" else tier,
                 "clients": int(row.clients), "share": None if pd.isna(row.revenue_share) else float(row.revenue_share)}
                for tier, row in board.summary().iterrows()]

    def _state(self, board: model.Board) -> dict:
        return {"tiers": {self._shown.get(cid, cid): tier for cid, tier in board.tiers.items()},
                "summary": self._summary(board)}

    def _refresh(self) -> None:
        state = self._state(self.board)
        self.tiers = state["tiers"]
        self.summary = state["summary"]

    def _board_for(self, name: str) -> model.Board:
        key = slugify(model.check_person(name))
        if key not in self.boards:
            board = model.Board(self.board.company_dir, self.board.clients)
            board.choose_person(name)
            self.boards[key] = board
        return self.boards[key]

    def _on_msg(self, _widget, content, _buffers) -> None:
        to = str(content.get("person") or content.get("name") or "")
        reply: dict = {"to": to}
        try:
            reply |= self.handle(content)
            reply |= {"message": self.message, "error": False}
        except DataProblem as exc:
            self._problem(exc)
            reply |= {"message": self.message, "error": True}
        if self.board.person and slugify(self.board.person) == slugify(to or self.board.person):
            reply |= self._state(self.board)  # the saved truth, also after a refused click
        self._refresh()
        self.send(reply)

    def handle(self, content: dict) -> dict:
        """Apply one action from the page (person, place, undo) for `content["person"]`, else the last person.

        Returns what the page needs besides the saved tiers (`person`, `undone`); raises DataProblem
        for a bad name, client or tier (nothing changed then).
        """
        action = content.get("action")
        extra: dict = {}
        if action == "person":
            self.board = self._board_for(content.get("name", ""))
            self.people = self.board.people()
            extra["person"] = self.board.person
            self._say(t("board.board.loaded", person=self.board.person, count=len(self.board.tiers),
                        file=self.board.path.relative_to(self.board.company_dir)))
            return extra
        if content.get("person"):
            self.board = self._board_for(content["person"])
        if action == "place":
            cid = self._ids[int(content["index"])] if "index" in content else str(content.get("id", "")).strip()
            path = self.board.place(cid, content.get("tier"))
            self._say(t("board.board.saved", client=self._shown.get(cid, cid), tier=self.board.tiers.get(cid, "–"),
                        file=path.relative_to(self.board.company_dir)))
        elif action == "undo":
            cid = self.board.undo()
            self._say(t("board.board.undone", client=self._shown.get(cid, cid)) if cid
                      else t("board.board.nothing_to_undo"))
            extra["undone"] = self._ids.index(cid) if cid else None  # None: nothing was left to take back
        return extra


class ConsensusWidget(_Widget):
    """Everyone's tiers side by side, the median, the discussion items first; the decision goes to placement.csv."""

    _esm = traitlets.Unicode(_CONSENSUS_JS).tag(sync=True)
    ladder = traitlets.List(list(model.BOARD_TIERS)).tag(sync=True)
    people = traitlets.List().tag(sync=True)
    rows = traitlets.List().tag(sync=True)

    def __init__(self, company_dir: str | Path, clients: pd.DataFrame, **kwargs):
        super().__init__(**kwargs)
        self.company_dir = Path(company_dir)
        self.clients = clients
        self.labels = _labels("consensus")
        self.decisions: dict[str, str | None] = {}  # the median, or what the room chose instead
        self._chosen: dict[str, str | None] = {}
        self.consensus = pd.DataFrame()
        self.refresh()
        self.on_msg(self._on_msg)

    def refresh(self) -> pd.DataFrame:
        """Re-read everyone's file (people place in parallel); decisions already taken are kept."""
        people = model.read_people(self.company_dir, self.clients["client_id"])
        self.consensus = model.build_consensus(people, self.clients)
        self.decisions = dict(zip(self.consensus["client_id"], self.consensus["median"])) | self._chosen
        names = list(people)
        self.people = names
        shown = dict(zip(self.clients["client_id"].astype(str), self.clients["shown_id"].astype(str)))
        self.rows = [{"id": shown.get(r["client_id"], r["client_id"]), "name": str(r["name"]),
                      "votes": [r[p] or "" for p in names], "median": r["median"] or "",
                      "why": r["why"], "discuss": bool(r["discuss"]), "decision": self.decisions.get(r["client_id"]) or ""}
                     for r in self.consensus.to_dict("records")]
        return self.consensus

    def decide(self, client_id: str, tier: str | None) -> None:
        """The room's decision for one client (checked when placement.csv is written)."""
        self._chosen[str(client_id)] = tier or None
        self.decisions[str(client_id)] = tier or None

    def write(self) -> Path:
        """Write the decisions to placement.csv (the previous one kept in history/)."""
        path = model.write_decision(self.company_dir, self.decisions, self.clients)
        self._say(t("board.consensus.written", file=path.name, count=sum(bool(v) for v in self.decisions.values())))
        return path

    def _on_msg(self, _widget, content, _buffers) -> None:
        try:
            action = content.get("action")
            if action == "refresh":
                self.refresh()
            elif action == "decide":
                self.decide(self.consensus["client_id"].iloc[int(content["index"])], content.get("tier"))
            elif action == "write":
                self.write()
        except DataProblem as exc:
            self._problem(exc)


class CriteriaEditorWidget(_Widget):
    """The candidate criteria with their evidence: accept, edit, reject, add; saved to criteria.yml when valid."""

    _esm = traitlets.Unicode(_EDITOR_JS).tag(sync=True)
    items = traitlets.List().tag(sync=True)

    def __init__(self, draft: editor.CriteriaDraft, **kwargs):
        super().__init__(**kwargs)
        self.draft = draft
        self.labels = _labels("editor")
        self._refresh()
        if draft.problems:
            self._say(format_problems(draft.problems, limit=10), error=True)
        self.on_msg(self._on_msg)

    def _refresh(self) -> None:
        self.items = [dict(item.as_dict(), error=item.error) for item in self.draft.items]

    def _on_msg(self, _widget, content, _buffers) -> None:
        action = content.get("action")
        try:
            if action == "status":
                self.draft.set_status(int(content["index"]), content["status"])
            elif action == "edit":
                self.draft.edit(int(content["index"]), rule=content.get("rule"), rationale=content.get("rationale"))
            elif action == "add":
                self.draft.add(content.get("rule", ""), points_to=content.get("points_to", "A"),
                               rationale=content.get("rationale", ""))
                self._say(t("board.editor.added"))
            elif action == "save":
                path = self.draft.save()
                self._say(t("board.editor.saved", file=path.name,
                            count=sum(i.status == "accepted" for i in self.draft.items)))
        except DataProblem as exc:
            self._problem(exc)
        self._refresh()


def _real_ids(wb) -> dict[str, str] | None:
    """Pseudonym -> real client id when the workbook is anonymised (the files must hold the real ids)."""
    if not (wb._anonymise or wb.company.settings.anonymise):
        return None
    from helpers.step1_list_clients.anonymise import load_key, pseudonym
    from helpers.step1_list_clients.load import load_company

    key = load_key(wb._key_file)
    return {pseudonym(cid, key): cid for cid in load_company(wb.company_dir).clients["client_id"].astype(str)}


def workshop_clients(wb) -> pd.DataFrame:
    """The board's clients for a workbook: step 2's figures, real ids kept for the files when anonymised."""
    return model.board_clients(wb.tiers.table, real_ids=_real_ids(wb))


def show_board(wb, person: str = "", *, show_hints: bool = False) -> BoardWidget:
    """The placement board for a workbook's company (step 2's figures); `person` starts it for them."""
    board = model.Board(wb.company_dir, workshop_clients(wb))
    widget = BoardWidget(board, show_hints=show_hints)
    if person:
        widget.handle({"action": "person", "name": person})
        widget.person = widget.board.person  # every view opened from this notebook starts as them
        widget._refresh()
    return widget


def show_consensus(wb) -> ConsensusWidget:
    """The consensus view over everyone in `<company>/placement/`."""
    return ConsensusWidget(wb.company_dir, workshop_clients(wb))


def show_criteria_editor(wb) -> CriteriaEditorWidget:
    """The criteria editor over step 4's candidates and the team's criteria.yml."""
    return CriteriaEditorWidget(editor.CriteriaDraft.from_workbook(wb))


__all__ = ["BoardWidget", "ConsensusWidget", "CriteriaEditorWidget", "show_board", "show_consensus",
           "show_criteria_editor"]
