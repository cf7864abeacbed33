// The fleet page: every lane from the server's event stream, ranked, as text (never markup).
"use strict";
(() => {
  const T = JSON.parse(document.getElementById("texts").textContent);
  const lang = document.documentElement.lang;
  const FA = "۰۱۲۳۴۵۶۷۸۹";
  const lanes = new Map();
  let totals = { stores: [], chain: null };
  let sortBy = "need", ascending = true, pending = false, renders = 0;

  const say = (key, values) =>
    (T[key] || key).replace(/\{(\w+)\}/g, (m, k) => (k in (values || {}) ? values[k] : m));
  const num = (n) => {
    if (n === null || n === undefined) return "";
    const s = String(n).replace(/\B(?=(\d{3})+(?!\d))/g, lang === "fa" ? "٬" : ",");
    return lang === "fa" ? s.replace(/\d/g, (d) => FA[d]) : s;
  };
  const age = (s) => {
    if (s === null || s === undefined) return "";
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]])
      if (s >= size) return say("age." + unit, { n: num(Math.floor(s / size)) });
    return say("age.s", { n: num(s) });
  };
  const clock = (iso) => {
    if (!iso) return "";
    const d = new Date(iso), p = (n) => String(n).padStart(2, "0");
    const text = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    return lang === "fa" ? text.replace(/\d/g, (x) => FA[x]) : text;
  };
  const ledger = (l) =>
    !l.ledger ? "" : l.ledger.reachable ? say("ledger.reachable")
      : say("ledger.unreachable", { time: clock(l.ledger.offline_since || l.ledger.last_contact_at) });
  const needs = (l) =>
    l.needs.map((n) => (n === "invalid" && l.invalid
      ? say("lane.invalid", { size: num(l.invalid.size) }) : say("need." + n)))
      .join(lang === "fa" ? "، " : ", ");
  // a lane never seen online has no figures to show (rather than zeros)
  const known = (f) => (l) => (l.at ? f(l) : "");
  const cmp = (a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++)
      if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return a.length - b.length;
  };

  // [key, text of the heading, cell, class, sort value]
  const COLUMNS = [
    ["need", "col.need", needs, "need", (l) => l.rank],
    ["store", "col.store", (l) => l.store_id, "id", (l) => [l.store_id, l.terminal_id]],
    ["terminal", "col.terminal", (l) => l.terminal_id, "id", (l) => [l.terminal_id]],
    ["status", "col.status", (l) => say("status." + l.status), "", (l) => [l.status]],
    ["unsent", "col.unsent", known((l) => num(l.queue.count)), "num", (l) => [-l.queue.count]],
    ["rial", "col.unsent_rial", known((l) => num(l.queue.rial)), "num", (l) => [-l.queue.rial]],
    ["oldest", "col.oldest", (l) => age(l.queue.oldest_age_s), "num",
      (l) => [-(l.queue.oldest_age_s || 0)]],
    ["ledger", "col.ledger", ledger, "", (l) => [l.ledger && !l.ledger.reachable ? 0 : 1]],
    ["problems", "col.problems", known((l) => num(l.problems)), "num", (l) => [-l.problems]],
    ["devices", "col.devices",
      (l) => Object.entries(l.devices_down).map(([d, w]) => `${d}: ${w}`).join(", "), "id",
      (l) => [-Object.keys(l.devices_down).length]],
    ["at", "col.at", (l) => clock(l.at), "num", (l) => [l.at || ""]],
    ["version", "col.version", (l) => l.software_version || "", "id",
      (l) => [l.software_version || ""]],
  ];
  const TOTALS = [
    ["lanes", "col.lanes"], ["online", "col.online"], ["offline", "col.offline"],
    ["stale", "col.stale"], ["invalid", "col.invalid"], ["needs_person", "col.needs_person"],
    ["unsent_count", "col.unsent"], ["unsent_rial", "col.unsent_rial"],
    ["problems", "col.problems"],
  ];

  const cell = (tag, text, cls) => {
    const c = document.createElement(tag);
    c.textContent = text;
    if (cls) c.className = cls;
    return c;
  };
  const heading = (table, names) => {
    const row = table.tHead.rows[0];
    row.replaceChildren(...names.map((n) => cell("th", say(n))));
    return row;
  };

  document.getElementById("chain-heading").textContent = say("page.chain");
  document.getElementById("stores-heading").textContent = say("page.stores");
  document.getElementById("lanes-heading").textContent = say("page.lanes");
  document.getElementById("hint").textContent = say("page.sort_hint");
  const chainTable = document.getElementById("chain");
  const storeTable = document.getElementById("stores");
  const laneTable = document.getElementById("lanes");
  heading(chainTable, TOTALS.map((t) => t[1]));
  heading(storeTable, ["col.store", ...TOTALS.map((t) => t[1])]);
  const laneHead = heading(laneTable, COLUMNS.map((c) => c[1]));
  COLUMNS.forEach(([key], i) => {
    const th = laneHead.cells[i];
    th.dataset.sort = key;
    th.addEventListener("click", () => {
      ascending = sortBy === key ? !ascending : true;
      sortBy = key;
      order = [];
      schedule();
    });
  });

  const totalsRow = (t, first) => {
    const row = document.createElement("tr");
    if (first !== undefined) row.append(cell("td", first, "id"));
    for (const [k] of TOTALS) row.append(cell("td", num(t[k]), "num"));
    return row;
  };

  const rowsByKey = new Map();  // key -> <tr>, drawn again only when its lane changed
  const dirty = new Set();
  let order = [];

  const draw = (l) => {
    let row = rowsByKey.get(l.key);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.key = l.key;
      rowsByKey.set(l.key, row);
    }
    row.dataset.at = l.at || "";
    row.className = [l.status, l.invalid ? "invalid" : "", l.needs.length ? "needs" : ""]
      .join(" ").trim();
    row.replaceChildren(...COLUMNS.map(([, , text, cls]) => cell("td", text(l), cls)));
    return row;
  };

  function render() {
    pending = false;
    for (const key of dirty) {
      const l = lanes.get(key);
      if (l) draw(l);
      else { rowsByKey.get(key)?.remove(); rowsByKey.delete(key); }
    }
    dirty.clear();
    const column = COLUMNS.find((c) => c[0] === sortBy);
    const sorted = [...lanes.values()].sort((a, b) => {
      const r = cmp(column[4](a), column[4](b)) || cmp(a.rank, b.rank);
      return ascending ? r : -r;
    }).map((l) => l.key);
    const tbody = laneTable.tBodies[0];
    if (sorted.length !== order.length || sorted.some((k, i) => k !== order[i])) {
      // Move only the rows out of place (a table of 2,000 rows laid out anew takes long).
      let node = tbody.firstChild;
      for (const key of sorted) {
        const row = rowsByKey.get(key);
        while (node && node !== row && node.nextSibling === row) {
          const out = node;  // a row that moved down: taken out, put back when its turn comes
          node = node.nextSibling;
          out.remove();
        }
        if (node === row) node = node.nextSibling;
        else tbody.insertBefore(row, node);
      }
      while (node) { const extra = node; node = node.nextSibling; extra.remove(); }
      order = sorted;
    }
    laneHead.querySelectorAll("th").forEach((th) => {
      th.classList.toggle("sorted", th.dataset.sort === sortBy);
      th.classList.toggle("up", th.dataset.sort === sortBy && !ascending);
    });
    if (totals.chain) chainTable.tBodies[0].replaceChildren(totalsRow(totals.chain));
    storeTable.tBodies[0].replaceChildren(
      ...totals.stores.map((s) => totalsRow(s, s.store_id)));
    renders += 1;
    document.body.dataset.lanes = String(order.length);
    document.body.dataset.renders = String(renders);
  }
  const schedule = () => {
    if (!pending) { pending = true; requestAnimationFrame(render); }
  };
  const apply = (data, fresh) => {
    if (fresh) {
      for (const key of lanes.keys()) dirty.add(key);
      lanes.clear();
    }
    for (const l of data.lanes) { lanes.set(l.key, l); dirty.add(l.key); }
    for (const k of data.removed || []) { lanes.delete(k); dirty.add(k); }
    totals = { stores: data.stores, chain: data.chain };
    schedule();
  };

  const status = document.getElementById("connection");
  const events = new EventSource("events");
  events.addEventListener("open", () => {
    status.textContent = say("page.live");
    status.className = "connection live";
  });
  events.addEventListener("error", () => {
    status.textContent = say("page.lost");
    status.className = "connection lost";
  });
  events.addEventListener("snapshot", (e) => apply(JSON.parse(e.data), true));
  events.addEventListener("update", (e) => apply(JSON.parse(e.data), false));
})();
