// The emulator's web UI: play a user, watch the conversation and the app's
// world live. Talks only to the control API; every text from outside is set
// with textContent, never as markup.
"use strict";

const $ = (id) => document.getElementById(id);
const PAGE = 100;
// At most this many items stay drawn in the conversation and the calls.
const CONVERSATION_SHOWN = 150;
const CALLS_SHOWN = 100;
// At most this many events a message from the server; under a flood the
// rest are skipped and the page reads the newest state instead.
const EVENTS_AT_ONCE = 200;

const ui = {
  users: [],          // [{openid, known, pushes, subscribed, window}]
  selected: null,     // openid
  templates: new Map(), // id -> {title, names: Map(key -> name)}
  items: new Map(),   // key -> <li> of the conversation
  oldest: null,       // order of the oldest item shown
  oldestCall: null,   // seq of the oldest call shown
  timers: new Map(),
};

// ---------------------------------------------------------------- requests

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers["content-type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    fail(`${method} ${path}: the emulator did not answer (${e.message})`);
    throw e;
  }
  const text = await response.text();
  let value = null;
  try { value = text ? JSON.parse(text) : null; } catch (_) { value = text; }
  if (!response.ok) {
    const why = value && value.error ? value.error : `${response.status} ${text}`;
    fail(`${method} ${path}: ${why}`);
    throw new Error(why);
  }
  // A refusal stays shown until the next action succeeds (not a refresh).
  if (method !== "GET") $("status").textContent = "";
  return value;
}

function fail(message) {
  $("status").textContent = message;
}

function userPath(openid, rest) {
  return `/_emulator/users/${encodeURIComponent(openid)}${rest || ""}`;
}

// Runs `fn` once after a quiet moment, however often it is asked for.
function soon(name, fn, ms) {
  if (ui.timers.has(name)) return;
  ui.timers.set(name, setTimeout(() => {
    ui.timers.delete(name);
    fn();
  }, ms === undefined ? 120 : ms));
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// ---------------------------------------------------------------- users

async function loadUsers() {
  const { users } = await api("GET", "/_emulator/users");
  ui.users = users;
  renderUsers();
  if (ui.selected) showWindow(users.find((u) => u.openid === ui.selected));
}

function renderUsers() {
  const filter = $("user-filter").value.trim().toLowerCase();
  const list = $("users");
  const shown = filter ? ui.users.filter((u) => u.openid.toLowerCase().includes(filter)) : ui.users;
  const fragment = document.createDocumentFragment();
  for (const user of shown.slice(0, 2000)) {
    const li = el("li");
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", String(user.openid === ui.selected));
    li.dataset.openid = user.openid;
    li.append(el("span", "name", user.openid));
    const meta = [];
    meta.push(user.known ? "known" : "unknown");
    if (user.pushes) meta.push(`wrote ${user.pushes}`);
    if (user.subscribed) meta.push("subscribed");
    if (user.window) meta.push(`window ${user.window.replies_left}`);
    li.append(el("span", "meta", meta.join(" · ")));
    fragment.append(li);
  }
  list.replaceChildren(fragment);
  list.setAttribute("role", "listbox");
  $("user-count").textContent = shown.length === ui.users.length
    ? `${ui.users.length} users`
    : `${shown.length} of ${ui.users.length} users`;
}

async function select(openid) {
  ui.selected = openid;
  $("chat-title").textContent = openid;
  for (const li of $("users").children) {
    li.setAttribute("aria-selected", String(li.dataset.openid === openid));
  }
  await loadTimeline();
}

// ---------------------------------------------------------------- conversation

async function loadTimeline(before) {
  if (!ui.selected) return;
  const openid = ui.selected;
  const query = `?limit=${PAGE}` + (before ? `&before=${before}` : "");
  const page = await api("GET", userPath(openid, `/timeline${query}`));
  if (openid !== ui.selected) return;
  if (!before) {
    ui.items.clear();
    $("conversation").replaceChildren();
  }
  for (const item of page.items) place(item);
  if (page.items.length) {
    const first = page.items[0].order;
    ui.oldest = ui.oldest === null || !before ? first : Math.min(ui.oldest, first);
  }
  $("earlier").hidden = !page.more;
  showWindow({ window: page.window });
  showSubscriptions(page.subscriptions);
  if (!before) scrollDown();
}

// Keeps the conversation to its newest items; the rest are a click away.
function trimConversation() {
  const log = $("conversation");
  let removed = false;
  while (log.children.length > CONVERSATION_SHOWN) {
    const first = log.firstElementChild;
    ui.items.delete(first.dataset.key);
    first.remove();
    removed = true;
  }
  if (removed) {
    ui.oldest = Number(log.firstElementChild.dataset.order);
    $("earlier").hidden = false;
  }
}

function scrollDown() {
  const log = $("conversation");
  log.scrollTop = log.scrollHeight;
}

// Puts an item ({order, push} or {order, call}) in its place, replacing the
// one it updates (a push's delivery).
function place(item) {
  const key = item.push ? `p${item.push.seq}` : `c${item.call.seq}`;
  const node = item.push ? renderPush(item.push, item.pending) : renderCall(item.call);
  if (!node) return;
  node.dataset.order = item.order;
  node.dataset.key = key;
  const old = ui.items.get(key);
  if (old) {
    old.replaceWith(node);
  } else {
    const log = $("conversation");
    const last = log.lastElementChild;
    if (!last || Number(last.dataset.order) < item.order) {
      log.append(node);
      ui.items.set(key, node);
      return;
    }
    let after = null;
    for (let i = log.children.length - 1; i >= 0; i--) {
      if (Number(log.children[i].dataset.order) < item.order) { after = log.children[i]; break; }
    }
    if (after) after.after(node); else log.prepend(node);
  }
  ui.items.set(key, node);
}

function describeEvent(push) {
  switch (push.Event) {
    case "user_enter_tempsession": return "You entered the conversation";
    case "subscribe_msg_popup_event": {
      const items = [].concat(push.List || push.SubscribeMsgPopupEvent || []);
      const names = items.map((i) => `${i.TemplateId} (${i.SubscribeStatusString})`).join(", ");
      return `You subscribed: ${names || "a template"}`;
    }
    case "subscribe_msg_sent_event": {
      const items = [].concat(push.List || push.SubscribeMsgSentEvent || []);
      return `WeChat told the app a subscribe message was sent (${items.map((i) => i.TemplateId).join(", ")})`;
    }
    default: return `Event ${push.Event}`;
  }
}

function renderPush(record, pending) {
  const push = record.push || {};
  const isEvent = push.MsgType === "event";
  const li = el("li", isEvent ? "system" : "from-user");
  if (isEvent) {
    li.append(el("div", null, describeEvent(push)));
  } else {
    const bubble = el("div", "bubble");
    if (push.MsgType === "text") {
      bubble.textContent = push.Content;
    } else if (push.MsgType === "image") {
      if (push.MediaId) {
        const img = el("img");
        img.alt = `image ${push.MediaId}`;
        img.src = `/_emulator/media/${encodeURIComponent(push.MediaId)}`;
        bubble.append(img);
      } else {
        bubble.textContent = `[image] ${push.PicUrl || ""}`;
      }
    } else if (push.MsgType === "miniprogrampage") {
      bubble.textContent = `[Mini Program page] ${push.Title || ""}`;
    } else {
      bubble.textContent = `[${push.MsgType}]`;
    }
    li.append(bubble);
  }
  li.append(renderDelivery(record, pending));
  return li;
}

function renderDelivery(record, pending) {
  const line = el("div", "delivery");
  const attempts = record.attempts || [];
  if (!attempts.length) {
    line.textContent = pending ? "pushing…" : "not pushed (no push endpoint)";
    return line;
  }
  const parts = attempts.map((a, i) => {
    const what = a.status ? `${a.status} ${JSON.stringify(a.answer || "")}` : (a.error || "no answer");
    return `attempt ${i + 1}: ${what}`;
  });
  const verdict = record.delivered ? "delivered" : (pending ? "retrying" : "not delivered");
  line.textContent = `${verdict} · ${parts.join(" · ")}`;
  if (!record.delivered && !pending) line.classList.add("failed");
  const last = attempts[attempts.length - 1];
  const answer = (last.answer || "").trim();
  if (record.delivered && answer && answer !== "success") {
    const reply = el("div", "bubble passive");
    reply.textContent = `Passive reply: ${answer}`;
    const wrap = el("div");
    wrap.append(line, reply);
    return wrap;
  }
  return line;
}

// The body of a call in the HTTP form's keys where the cloud form differs.
function requestOf(call) {
  const request = call.request && typeof call.request === "object" ? call.request : {};
  return call.path === "/tcb/invokecloudfunction" ? (request.data || {}) : request;
}

function renderCall(call) {
  const request = requestOf(call);
  if (call.errcode !== 0 && call.errcode !== null && call.errcode !== undefined) {
    return el("li", "refused", `${call.endpoint || call.path} refused: ${call.errcode} ${call.errmsg || ""}`);
  }
  switch (call.endpoint) {
    case "customerServiceMessage.send": {
      const li = el("li", "from-app");
      const bubble = el("div", "bubble");
      const type = request.msgtype;
      const body = request[type] || {};
      if (type === "text") {
        bubble.textContent = body.content;
      } else if (type === "image") {
        const id = body.media_id || body.mediaId;
        const img = el("img");
        img.alt = `image ${id}`;
        img.src = `/_emulator/media/${encodeURIComponent(id)}`;
        bubble.append(img);
      } else if (type === "link") {
        bubble.textContent = `[link] ${body.title || ""}\n${body.description || ""}\n${body.url || ""}`;
      } else if (type === "miniprogrampage") {
        bubble.textContent = `[Mini Program page] ${body.title || ""}`;
      } else {
        bubble.textContent = `[${type}]`;
      }
      li.append(bubble);
      return li;
    }
    case "customerServiceMessage.setTyping":
      return el("li", "system", request.command === "Typing" ? "The app is typing…" : "The app stopped typing");
    case "subscribeMessage.send":
      return renderCard(request);
    default:
      return el("li", "system", `${call.endpoint || call.path}: ok`);
  }
}

function renderCard(request) {
  const id = request.template_id || request.templateId;
  const template = ui.templates.get(id);
  const li = el("li", "from-app");
  const card = el("div", "card");
  card.setAttribute("aria-label", "Subscribe message");
  card.append(el("div", "title", template && template.title ? template.title : id));
  const data = request.data || {};
  // The template's order first, then any key it does not name.
  const keys = template ? [...template.names.keys()].filter((k) => k in data) : [];
  for (const key of Object.keys(data)) if (!keys.includes(key)) keys.push(key);
  for (const key of keys) {
    const row = el("div", "kw");
    const name = template && template.names.get(key) ? template.names.get(key) : key;
    row.append(el("span", "name", name), el("span", "value", data[key] && data[key].value));
    card.append(row);
  }
  li.append(card);
  return li;
}

function showWindow(user) {
  const box = $("window");
  const w = user && user.window;
  if (!ui.selected) {
    box.textContent = "no user";
    return;
  }
  if (!w) {
    box.textContent = "Reply window closed: a reply answers 45015";
    box.classList.add("closed");
    return;
  }
  box.classList.remove("closed");
  const h = Math.floor(w.closes_in_secs / 3600);
  const m = Math.floor((w.closes_in_secs % 3600) / 60);
  const s = w.closes_in_secs % 60;
  const left = h ? `${h} h ${m} min` : (m ? `${m} min ${s} s` : `${s} s`);
  box.textContent = `${w.replies_left} replies left, closes in ${left}`;
}

function showSubscriptions(subs) {
  const box = $("subscriptions");
  if (!subs || !subs.length) {
    box.textContent = "No subscriptions";
    return;
  }
  box.textContent = "Subscriptions: " + subs
    .map((s) => `${s.template_id} (${s.long_term ? "long-term" : ""}${s.long_term && s.times ? ", " : ""}${s.times ? `${s.times} one-time` : ""})`)
    .join("; ");
}

async function refreshSelected() {
  if (!ui.selected) return;
  const user = await api("GET", userPath(ui.selected));
  showWindow(user);
  showSubscriptions(user.subscriptions);
}

// ---------------------------------------------------------------- panels

async function loadTemplates() {
  const { templates } = await api("GET", "/_emulator/templates");
  ui.templates.clear();
  const list = $("templates");
  const select = $("template");
  const chosen = select.value;
  list.replaceChildren();
  select.replaceChildren();
  for (const t of templates) {
    const names = new Map();
    for (const line of (t.content || "").split("\n")) {
      const m = line.match(/^(.*?)[:：]\s*\{\{\s*([A-Za-z0-9_]+)\.DATA\s*\}\}/);
      if (m) names.set(m[2], m[1].trim());
    }
    ui.templates.set(t.id, { title: t.title, names });
    list.append(el("li", null, `${t.id}: ${t.title || "(no title)"}${t.type === 3 ? " · long-term" : ""}`));
    const option = el("option", null, `${t.title || t.id}`);
    option.value = t.id;
    select.append(option);
  }
  if (chosen && ui.templates.has(chosen)) select.value = chosen;
}

async function loadPush() {
  const { push } = await api("GET", "/_emulator/push");
  const where = push && push.urls && push.urls.length ? push.urls.join(", ") : (push && push.url);
  $("push-target").textContent = push
    ? `${where} · ${push.encoding} · ${push.encrypted ? "safe mode" : "plaintext"}`
    : "No push endpoint: user actions are recorded, not pushed";
}

async function loadDeliveries() {
  const pushes = await api("GET", "/_emulator/pushes");
  const list = $("deliveries");
  list.replaceChildren();
  for (const p of pushes.slice(-20).reverse()) {
    const last = p.attempts[p.attempts.length - 1];
    const what = last ? (last.status ? `${last.status}` : (last.error || "")) : "not pushed";
    list.append(el("li", null, `#${p.seq} ${p.openid} ${p.push.MsgType}${p.push.Event ? "/" + p.push.Event : ""}: ${p.delivered ? "delivered" : "not delivered"} (${p.attempts.length} attempts, ${what})`));
  }
}

async function loadFaults() {
  const faults = await api("GET", "/_emulator/faults");
  // What the user is typing there is not overwritten.
  if (!$("faults").dataset.edited) $("faults").value = JSON.stringify(faults, null, 1);
}

async function loadCounters() {
  const counters = await api("GET", "/_emulator/counters");
  $("counters").textContent = JSON.stringify(counters, null, 1);
}

function renderCallRow(call) {
  const li = el("li", call.errcode ? "err" : "");
  const details = el("details");
  const summary = el("summary", null,
    `#${call.seq} ${call.method} ${call.path} → ${call.status}${call.errcode !== null ? ` errcode ${call.errcode}` : ""}${call.endpoint ? ` (${call.endpoint})` : ""}`);
  details.append(summary);
  details.addEventListener("toggle", () => {
    if (!details.open || details.dataset.filled) return;
    details.dataset.filled = "1";
    details.append(
      el("div", "muted", `query: ${call.query || "(none)"} · ${call.cost_ms} ms`),
      el("pre", null, "request: " + JSON.stringify(call.request, null, 1)),
      el("pre", null, "answer: " + JSON.stringify(call.answer, null, 1)),
    );
  });
  li.append(details);
  li.dataset.seq = call.seq;
  return li;
}

async function loadCalls(before) {
  const query = `?limit=${PAGE}` + (before ? `&before=${before}` : "");
  const { calls } = await api("GET", `/_emulator/calls${query}`);
  for (const call of calls) addCall(call);
  if (calls.length) ui.oldestCall = Math.min(ui.oldestCall || Infinity, calls[0].seq);
  $("earlier-calls").hidden = calls.length < PAGE;
}

// Puts a call in the list, newest first, once.
function addCall(call) {
  const list = $("calls");
  if (list.querySelector(`li[data-seq="${call.seq}"]`)) return;
  const row = renderCallRow(call);
  let next = null;
  for (const li of list.children) {
    if (Number(li.dataset.seq) < call.seq) { next = li; break; }
  }
  list.insertBefore(row, next);
  while (list.children.length > CALLS_SHOWN) list.lastChild.remove();
  $("earlier-calls").hidden = false;
}

// ---------------------------------------------------------------- live

// Events are queued and handled together at most four times a second (a
// burst of thousands of calls costs a few redraws, not thousands); a quiet
// stream's first event is drawn at once.
const queue = [];
let flushing = false;
let lastFlush = 0;
const FLUSH_EVERY = 250;

function follow() {
  // Batched: each message is an array of the events that came together.
  const source = new EventSource(`/_emulator/events?batch=true&max=${EVENTS_AT_ONCE}`);
  source.onopen = () => { $("live").textContent = "live"; };
  source.onerror = () => { $("live").textContent = "reconnecting…"; };
  source.onmessage = (message) => {
    let events;
    try { events = JSON.parse(message.data); } catch (_) { return; }
    for (const event of events) queue.push(event);
    if (!flushing) {
      flushing = true;
      const wait = Math.max(0, lastFlush + FLUSH_EVERY - Date.now());
      setTimeout(flush, wait);
    }
  };
}

function flush() {
  flushing = false;
  lastFlush = Date.now();
  const batch = queue.splice(0, queue.length);
  const calls = [];
  const items = [];
  for (const event of batch) {
    switch (event.type) {
      case "call":
        calls.push(event.call);
        if (event.call.openid && event.call.openid === ui.selected) {
          items.push({ order: event.call.order, call: event.call });
        }
        if (event.call.openid && !ui.users.some((u) => u.openid === event.call.openid)) soon("users", loadUsers);
        break;
      case "push":
      case "attempt":
      case "delivery":
        if (event.push.openid === ui.selected) {
          items.push({ order: event.order, push: event.push, pending: event.type !== "delivery" });
        }
        soon("users", loadUsers, 300);
        soon("deliveries", loadDeliveries, 300);
        break;
      case "user":
        soon("users", loadUsers);
        if (decodeURIComponent(event.openid) === ui.selected) soon("selected", refreshSelected);
        break;
      case "state":
        soon("all", refreshAll);
        break;
      case "skipped":
        // The newest events came; older ones of the burst were skipped:
        // the conversation is read again once a second while that lasts.
        if (ui.selected) soon("timeline", () => loadTimeline(), 1000);
        break;
      case "lagged":
        soon("all", refreshAll);
        if (ui.selected) soon("timeline", () => loadTimeline());
        break;
      default:
        break;
    }
  }
  // Only the newest rows of the calls panel stay: draw no more than that.
  for (const call of calls.slice(-CALLS_SHOWN)) addCall(call);
  if (calls.length) soon("counters", loadCounters, 1000);
  // Only the newest items stay drawn: draw no more than that (a push's
  // delivery replaces its earlier item, so both are kept in order).
  for (const item of items.slice(-CONVERSATION_SHOWN)) place(item);
  if (items.length) {
    trimConversation();
    scrollDown();
    soon("selected", refreshSelected, 500);
  }
}

async function refreshAll() {
  await Promise.allSettled([
    loadUsers(), loadTemplates(), loadPush(), loadFaults(), loadCounters(), loadDeliveries(),
    refreshSelected(),
  ]);
}

// ---------------------------------------------------------------- the user acts

async function act(body) {
  if (!ui.selected) { fail("Pick a user first"); return; }
  await api("POST", userPath(ui.selected, "/messages"), body);
}

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function wire() {
  $("user-filter").addEventListener("input", () => soon("filter", renderUsers, 80));
  $("users").addEventListener("click", (e) => {
    const li = e.target.closest("li");
    if (li) select(li.dataset.openid).catch(() => {});
  });
  $("add-user").addEventListener("submit", async (e) => {
    e.preventDefault();
    const openid = $("new-user").value.trim();
    if (!openid) { fail("New user: type an openid"); return; }
    await api("POST", "/_emulator/known", { openids: [openid] });
    $("new-user").value = "";
    await loadUsers();
    await select(openid);
  });
  $("composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $("message").value;
    if (!text) return;
    await act({ MsgType: "text", Content: text });
    $("message").value = "";
  });
  $("message").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("image").addEventListener("change", async () => {
    const file = $("image").files[0];
    if (!file) return;
    if (!ui.selected) { fail("Pick a user first"); return; }
    const id = `ui_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const base64 = await readFile(file);
    await api("POST", "/_emulator/known", {
      media: [{ id, content_type: file.type || "application/octet-stream", base64 }],
    });
    await act({ MsgType: "image", PicUrl: `${location.origin}/_emulator/media/${id}`, MediaId: id });
    $("image").value = "";
  });
  $("enter").addEventListener("click", () => act({ MsgType: "event", Event: "user_enter_tempsession" }).catch(() => {}));
  const subscribe = async (times) => {
    if (!ui.selected) { fail("Pick a user first"); return; }
    const body = { template_id: $("template").value };
    if (times !== undefined) body.times = Number($("times").value);
    await api("POST", userPath(ui.selected, "/subscriptions"), body);
  };
  $("subscribe-once").addEventListener("click", () => subscribe(true).catch(() => {}));
  $("subscribe-long").addEventListener("click", () => subscribe().catch(() => {}));
  $("earlier").addEventListener("click", () => loadTimeline(ui.oldest).catch(() => {}));
  $("earlier-calls").addEventListener("click", () => loadCalls(ui.oldestCall).catch(() => {}));
  $("push-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { url: $("push-url").value, token: $("push-token").value, encoding: $("push-encoding").value };
    if ($("push-key").value) body.aes_key = $("push-key").value;
    await api("PUT", "/_emulator/push", body);
    $("push-token").value = "";
    $("push-key").value = "";
  });
  $("push-clear").addEventListener("click", () => api("DELETE", "/_emulator/push").catch(() => {}));
  $("expire-tokens").addEventListener("click", () => api("POST", "/_emulator/tokens/expire").catch(() => {}));
  $("faults").addEventListener("input", () => { $("faults").dataset.edited = "1"; });
  const setFaults = async (body) => {
    await api("PUT", "/_emulator/faults", body);
    delete $("faults").dataset.edited;
    await loadFaults();
  };
  $("faults-set").addEventListener("click", () => setFaults($("faults").value).catch(() => {}));
  $("faults-clear").addEventListener("click", () => setFaults({}).catch(() => {}));
  $("clock").addEventListener("submit", async (e) => {
    e.preventDefault();
    const secs = Number($("clock-secs").value);
    await api("POST", "/_emulator/clock/advance", { secs: Number.isFinite(secs) ? secs : $("clock-secs").value });
  });
}

// Every handler's failure is shown in the status line already.
window.addEventListener("unhandledrejection", (e) => e.preventDefault());

document.addEventListener("DOMContentLoaded", async () => {
  wire();
  follow();
  await refreshAll();
  await loadCalls();
  const wanted = new URLSearchParams(location.search).get("user");
  const first = wanted || (ui.users[0] && ui.users[0].openid);
  if (first) await select(first);
});
