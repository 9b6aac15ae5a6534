/* The hall manager's console: the engine's overview and follow-ups, live over
   server-sent events, and the manager's actions (each a POST with the session's CSRF
   token).  A citizen's phone number is never in the stream: 显示号码 asks for it
   (POST), it is shown for two minutes and kept nowhere else. */
(function () {
  "use strict";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  if (!csrfMeta) { return; }
  var csrf = csrfMeta.getAttribute("content");
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#0b2a5b", "#8a1111", "#0a5228", "#6b4000", "#4b1a7a", "#00535e"];
  var RATING = { "1": "非常满意", "2": "满意", "3": "基本满意", "4": "不满意", "5": "非常不满意" };
  var editing = {};   // window id -> the queues the manager ticked, not saved yet
  var last = null;
  var toastTimer = null;
  var FU_STATUS = {
    open: ["待回访", "to call back"], called: ["已回访，待整改", "called back, to rectify"],
    rectified: ["已整改，待回访", "rectified, to call back"], closed: ["已办结", "closed"]
  };
  var REVEAL_MS = 120000;
  var drafts = {};     // rating id -> what the manager typed in its forms, not sent yet
  var revealed = {};   // rating id -> {contact, timer}: a number shown for the call-back
  var lastFollowUps = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function two(zh, en) {
    var span = el("span", null, zh);
    if (en) { span.appendChild(el("span", "en", en)); }
    return span;
  }
  function hhmm(iso) { return typeof iso === "string" && iso.length >= 16 ? iso.slice(11, 16) : ""; }
  function num(v, digits) {
    if (v === null || v === undefined) { return "—"; }
    return typeof v === "number" ? v.toFixed(digits || 0) : String(v);
  }

  function toast(text, bad) {
    var t = $("toast");
    t.textContent = text;
    t.className = "toast" + (bad ? " bad" : "");
    t.hidden = false;
    if (toastTimer) { clearTimeout(toastTimer); }
    toastTimer = setTimeout(function () { t.hidden = true; }, 6000);
  }

  function post(name, args) {
    return fetch("/console/api/" + name, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(args)
    }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; });
    }).then(null, function () {
      return { status: 0, body: { ok: false, error: { message_zh: "网络错误，操作未完成", message: "network error" } } };
    });
  }

  function failed(res) {
    var e = res.body.error || {};
    toast((e.message_zh || "操作失败") + (e.message ? " · " + e.message : ""), true);
    if (res.status === 401) { setTimeout(function () { location.reload(); }, 1500); }
  }

  function act(name, args, done) {
    return post(name, args).then(function (res) {
      if (res.body.ok) { toast(done || "已完成 Done"); } else { failed(res); }
      return res.body;
    });
  }

  // ---------------------------------------------------------------- 回访整改

  function mmddhhmm(iso) { return typeof iso === "string" && iso.length >= 16 ? iso.slice(5, 10) + " " + iso.slice(11, 16) : ""; }
  function pct(v) { return v === null || v === undefined ? "—" : Math.round(v * 100) + "%"; }
  function draft(id) { return drafts[id] || (drafts[id] = { reached: null, answer: "", action: "" }); }

  function deadlineLine(f, remind) {
    var p = el("p", "fu-deadline");
    p.appendChild(el("span", null, "期限 " + (f.deadline || "—")));
    var left = f.days_left;
    var tag;
    if (f.overdue) {
      tag = el("span", "fu-left overdue", "已逾期");
      tag.appendChild(el("span", "en", "overdue"));
    } else if (typeof left === "number") {
      tag = el("span", "fu-left" + (left <= remind ? " soon" : ""), left > 0 ? "还剩 " + left + " 个工作日" : "今天到期");
      tag.appendChild(el("span", "en", left > 0 ? left + " working day" + (left === 1 ? "" : "s") + " left" : "due today"));
    }
    if (tag) { p.appendChild(tag); }
    p.appendChild(el("span", "fu-opened", "差评于 " + mmddhhmm(f.opened_at)));
    return p;
  }

  function caseLine(f) {
    var p = el("p", "fu-case");
    p.appendChild(el("strong", "fu-code", f.code || ""));
    p.appendChild(el("span", null, f.item_name || ""));
    p.appendChild(el("span", null, f.window ? f.window + " 号窗口" : ""));
    var clerk = f.clerk_name || "";
    p.appendChild(el("span", null, clerk + (f.staff_no ? "（工号 " + f.staff_no + "）" : "")));
    p.appendChild(el("span", "fu-level level-" + f.level, f.level_name || RATING[String(f.level)] || ""));
    return p;
  }

  function reasonsLine(f) {
    var box = el("div", "fu-reasons");
    (f.reasons || []).forEach(function (r) { box.appendChild(el("span", "chip", r)); });
    if (f.comment) { box.appendChild(el("q", "fu-comment", f.comment)); }
    if (!box.childNodes.length) { box.appendChild(el("span", "quiet", "未选择原因 · no reasons given")); }
    return box;
  }

  function contactLine(f) {
    var p = el("p", "fu-contact");
    p.appendChild(el("span", null, "联系电话 "));
    var shown = revealed[f.rating_id];
    if (!f.contact_masked) {
      p.appendChild(el("span", "quiet", "未留电话 · no number left"));
      return p;
    }
    if (shown) {
      var a = el("a", "fu-phone shown", shown.contact);
      a.href = "tel:" + shown.contact.replace(/[^0-9+]/g, "");
      p.appendChild(a);
      var hide = el("button", "button small", "隐藏");
      hide.type = "button";
      hide.setAttribute("data-action", "hide-contact");
      hide.appendChild(el("span", "en", "Hide"));
      hide.addEventListener("click", function () { forget(f.rating_id); renderFollowUps(lastFollowUps); });
      p.appendChild(hide);
      return p;
    }
    p.appendChild(el("span", "fu-phone", f.contact_masked));
    var show = el("button", "button small", "显示号码");
    show.type = "button";
    show.setAttribute("data-action", "show-contact");
    show.appendChild(el("span", "en", "Show number"));
    show.addEventListener("click", function () {
      show.disabled = true;
      post("follow_up_contact", { rating_id: f.rating_id }).then(function (res) {
        if (res.body.ok && res.body.result && res.body.result.contact) {
          forget(f.rating_id);
          revealed[f.rating_id] = {
            contact: res.body.result.contact,
            timer: setTimeout(function () { forget(f.rating_id); renderFollowUps(lastFollowUps); }, REVEAL_MS)
          };
          renderFollowUps(lastFollowUps);
        } else {
          show.disabled = false;
          failed(res);
        }
      });
    });
    p.appendChild(show);
    return p;
  }

  function forget(id) {
    var r = revealed[id];
    if (r) { clearTimeout(r.timer); delete revealed[id]; }
  }

  function doneStep(zh, en, text, at, by) {
    var p = el("p", "fu-step done");
    p.appendChild(el("strong", null, zh));
    p.appendChild(el("span", "en", en));
    p.appendChild(el("span", "fu-said", text));
    p.appendChild(el("span", "since", mmddhhmm(at) + (by ? " · " + by : "")));
    return p;
  }

  function callbackForm(f) {
    var d = draft(f.rating_id);
    var form = el("form", "fu-form row");
    form.setAttribute("data-form", "callback");
    form.appendChild(el("strong", null, f.callback ? "再次回访" : "回访"));
    [[true, "已联系上", "reached"], [false, "未联系上", "not reached"]].forEach(function (opt) {
      var label = el("label", "qbox");
      var radio = el("input");
      radio.type = "radio";
      radio.name = "reached";
      radio.value = opt[0] ? "yes" : "no";
      radio.checked = d.reached === opt[0];
      radio.addEventListener("change", function () { d.reached = opt[0]; });
      label.appendChild(radio);
      label.appendChild(two(opt[1], opt[2]));
      form.appendChild(label);
    });
    var answer = el("input", "fu-text");
    answer.name = "answer";
    answer.maxLength = 200;
    answer.placeholder = "群众的答复（200 字以内）";
    answer.value = d.answer;
    answer.addEventListener("input", function () { d.answer = answer.value; });
    form.appendChild(answer);
    var b = el("button", "button", "记录回访");
    b.type = "submit";
    b.appendChild(el("span", "en", "Save"));
    form.appendChild(b);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (d.reached === null) { toast("请选择是否联系上 · Reached or not?", true); return; }
      b.disabled = true;
      act("follow_up_callback", { rating_id: f.rating_id, reached: d.reached, answer: d.answer.trim() },
          f.code + " 回访已记录 · Call-back recorded").then(function (r) {
        if (r.ok) { d.reached = null; d.answer = ""; refreshFollowUps(); } else { b.disabled = false; }
      });
    });
    return form;
  }

  function rectifyForm(f) {
    var d = draft(f.rating_id);
    var form = el("form", "fu-form row");
    form.setAttribute("data-form", "rectify");
    form.appendChild(el("strong", null, "整改"));
    var action = el("input", "fu-text");
    action.name = "action";
    action.maxLength = 400;
    action.placeholder = "整改措施（400 字以内）";
    action.value = d.action;
    action.addEventListener("input", function () { d.action = action.value; });
    form.appendChild(action);
    var b = el("button", "button", "记录整改");
    b.type = "submit";
    b.appendChild(el("span", "en", "Save"));
    form.appendChild(b);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!d.action.trim()) { toast("请填写整改措施 · What was done?", true); return; }
      b.disabled = true;
      act("follow_up_rectify", { rating_id: f.rating_id, action: d.action.trim() },
          f.code + " 整改已记录 · Rectification recorded").then(function (r) {
        if (r.ok) { d.action = ""; refreshFollowUps(); } else { b.disabled = false; }
      });
    });
    return form;
  }

  function followUpItem(f, remind) {
    var li = el("li", "fu" + (f.overdue ? " overdue" : ""));
    li.setAttribute("data-rating", f.rating_id);
    li.setAttribute("data-status", f.status);
    li.id = "fu-" + String(f.rating_id).replace(/[^A-Za-z0-9_-]/g, "");
    var head = el("div", "fu-head");
    head.appendChild(caseLine(f));
    var st = FU_STATUS[f.status] || [f.status, f.status];
    head.appendChild(two(st[0], st[1])).className = "fu-status status-" + f.status;
    li.appendChild(head);
    li.appendChild(reasonsLine(f));
    li.appendChild(deadlineLine(f, remind));
    li.appendChild(contactLine(f));
    var cb = f.callback;
    if (cb) {
      li.appendChild(doneStep("回访", "call-back", (cb.reached ? "已联系上" : "未联系上") + (cb.answer ? "：" + cb.answer : ""), cb.at, cb.by_name || cb.by));
    }
    if (!cb || cb.reached === false) { li.appendChild(callbackForm(f)); }
    var rc = f.rectification;
    if (rc) {
      li.appendChild(doneStep("整改", "rectified", rc.action || "", rc.at, rc.by_name || rc.by));
    } else {
      li.appendChild(rectifyForm(f));
    }
    return li;
  }

  function closedItem(f) {
    var li = el("li");
    li.setAttribute("data-rating", f.rating_id);
    li.appendChild(el("strong", null, f.code || ""));
    li.appendChild(el("span", null, (f.item_name || "") + " · " + (f.level_name || "")));
    var cb = f.callback || {};
    var rc = f.rectification || {};
    li.appendChild(el("span", "fu-said", "回访：" + (cb.reached ? "已联系上" : "未联系上") + (cb.answer ? "，" + cb.answer : "") + "；整改：" + (rc.action || "")));
    li.appendChild(el("span", "since", "办结 " + mmddhhmm(rc.at && cb.at ? (rc.at > cb.at ? rc.at : cb.at) : rc.at || cb.at)));
    return li;
  }

  // The day's rates (as the day's statistics count them): over the follow-ups opened on the
  // business day, all of which are in the answer (open, or closed today).  The engine's
  // `rates` are over every follow-up: shown below as 累计.
  function dayRates(data) {
    var day = last && last.business_date;
    if (!day) { return null; }
    var opened = 0, called = 0, rectified = 0;
    (data.open || []).concat(data.recent || []).forEach(function (f) {
      if (typeof f.opened_at !== "string" || f.opened_at.slice(0, 10) !== day) { return; }
      opened += 1;
      if (f.callback) { called += 1; }
      if (f.rectification) { rectified += 1; }
    });
    return { opened: opened, callback_rate: opened ? called / opened : null,
             rectification_rate: opened ? rectified / opened : null };
  }

  function renderFollowUpFigures(data) {
    var dl = $("fu-figures");
    dl.textContent = "";
    var all = data.rates || {};
    var today = dayRates(data) || all;
    [["今日差评", "Bad ratings today", today.opened === undefined ? "—" : today.opened, false],
     ["今日回访率", "Called back", pct(today.callback_rate), false],
     ["今日整改率", "Rectified", pct(today.rectification_rate), false],
     ["逾期", "Overdue", all.overdue === undefined ? "—" : all.overdue, all.overdue > 0]
    ].forEach(function (row, i) {
      var d = el("div", row[3] ? "over" : null);
      d.setAttribute("data-figure", ["opened", "callback_rate", "rectification_rate", "overdue"][i]);
      var dt = el("dt", null, row[0]);
      dt.appendChild(el("span", "en", row[1]));
      d.appendChild(dt);
      d.appendChild(el("dd", null, row[2]));
      dl.appendChild(d);
    });
    var total = $("fu-total");
    total.textContent = "";
    if (all.opened !== undefined) {
      total.appendChild(two("累计 " + all.opened + " 件差评：回访率 " + pct(all.callback_rate) + "，整改率 " + pct(all.rectification_rate),
                            "all follow-ups: " + pct(all.callback_rate) + " called back, " + pct(all.rectification_rate) + " rectified"));
    }
  }

  function renderFollowUps(data) {
    if (!data) { return; }
    lastFollowUps = data;
    $("fu-away").hidden = true;
    var open = data.open || [];
    var recent = data.recent || [];
    var remind = typeof data.remind_days_before === "number" ? data.remind_days_before : 3;
    // what has focus survives the redraw (the manager may be typing in another card)
    var active = document.activeElement;
    var keep = null;
    if (active && active.name && active.closest && active.closest("#follow-ups li")) {
      keep = { rating: active.closest("li").getAttribute("data-rating"), name: active.name,
               start: active.selectionStart, end: active.selectionEnd };
    }
    var list = $("follow-ups");
    list.textContent = "";
    var ids = {};
    open.forEach(function (f) { ids[f.rating_id] = true; list.appendChild(followUpItem(f, remind)); });
    Object.keys(drafts).forEach(function (id) { if (!ids[id]) { delete drafts[id]; } });
    Object.keys(revealed).forEach(function (id) { if (!ids[id]) { forget(id); } });
    $("no-follow-ups").hidden = open.length > 0;
    var closed = $("follow-ups-closed");
    closed.textContent = "";
    recent.forEach(function (f) { closed.appendChild(closedItem(f)); });
    $("no-closed").hidden = recent.length > 0;
    ["fu-count", "fu-link-count"].forEach(function (id) {
      var c = $(id);
      c.textContent = String(open.length);
      c.className = "count" + (open.length ? " hot" : "");
    });
    renderFollowUpFigures(data);
    if (keep) {
      var items = list.querySelectorAll("li");
      for (var i = 0; i < items.length; i++) {
        if (items[i].getAttribute("data-rating") !== keep.rating) { continue; }
        var again = items[i].querySelector('[name="' + keep.name + '"]');
        if (again) {
          again.focus();
          if (typeof keep.start === "number" && again.setSelectionRange) {
            try { again.setSelectionRange(keep.start, keep.end); } catch (err) { /* radios */ }
          }
        }
      }
    }
  }

  function refreshFollowUps() {
    fetch("/console/api/follow_ups", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      return r.ok ? r.json().then(renderFollowUps) : null;
    }, function () { /* the live stream brings it */ });
  }

  function renderAlerts(alerts) {
    var list = $("alerts");
    list.textContent = "";
    alerts.forEach(function (a) {
      var li = el("li");
      li.setAttribute("data-key", a.key);
      li.setAttribute("data-kind", a.kind);
      var text = el("span", "text", a.text_zh);
      text.appendChild(el("span", "en", a.text_en));
      li.appendChild(text);
      li.appendChild(el("span", "since", "自 " + hhmm(a.since)));
      if (/follow|bad_rating/.test(a.kind)) {
        var see = el("a", "button small", "去回访");
        see.href = "#follow-ups-panel";
        see.appendChild(el("span", "en", "Follow up"));
        li.appendChild(see);
      }
      var b = el("button", "button small", "已处理");
      b.type = "button";
      b.appendChild(el("span", "en", "Done"));
      b.addEventListener("click", function () {
        b.disabled = true;
        act("ack_alert", { alert: a.key }, "提醒已处理 · Alert acknowledged").then(function (r) {
          if (!r.ok) { b.disabled = false; }
        });
      });
      li.appendChild(b);
      list.appendChild(li);
    });
    $("no-alerts").hidden = alerts.length > 0;
    var count = $("alert-count");
    count.textContent = String(alerts.length);
    count.className = "count" + (alerts.length ? " hot" : "");
  }

  function renderRecommendation(rec) {
    var panel = $("recommend-panel");
    panel.hidden = !rec;
    if (!rec) { return; }
    $("recommend-zh").textContent = rec.text_zh;
    $("recommend-en").textContent = rec.text_en;
    var adopt = $("adopt");
    adopt.onclick = function () {
      var a = rec.action || {};
      var args = { window: a.window };
      if (a.queues) { args.queues = a.queues; }
      adopt.disabled = true;
      act(a.cmd, args, "已采纳建议 · Recommendation applied").then(function () { adopt.disabled = false; });
    };
  }

  function renderQueues(queues) {
    var body = document.querySelector("#queues tbody");
    body.textContent = "";
    queues.forEach(function (q) {
      var tr = el("tr");
      tr.setAttribute("data-queue", q.id);
      var name = el("td");
      name.appendChild(two(q.id + " " + q.name, q.name_en));
      tr.appendChild(name);
      tr.appendChild(el("td", "waiting", q.waiting));
      tr.appendChild(el("td", null, num(q.longest_wait_min) + " 分"));
      tr.appendChild(el("td", null, num(q.est_wait_min) + " 分"));
      tr.appendChild(el("td", q.open_windows ? null : "over", q.open_windows));
      body.appendChild(tr);
    });
    var select = $("move-queue");
    var chosen = select.value;
    select.textContent = "";
    queues.forEach(function (q) {
      var o = el("option", null, q.id + " " + q.name);
      o.value = q.id;
      select.appendChild(o);
    });
    if (chosen) { select.value = chosen; }
  }

  var STATE = { open: ["开放", "open"], paused: ["暂停", "paused"], closed: ["关闭", "closed"] };

  function renderWindows(windows, queues) {
    var body = document.querySelector("#windows tbody");
    body.textContent = "";
    windows.forEach(function (w) {
      var tr = el("tr");
      tr.setAttribute("data-window", w.id);
      tr.appendChild(el("td", null, w.name));
      var clerk = el("td");
      if (w.clerk) { clerk.appendChild(two(w.clerk.name, "No. " + w.clerk.staff_no)); } else { clerk.textContent = "—"; }
      tr.appendChild(clerk);
      var st = STATE[w.status] || [w.status, w.status];
      var state = el("td", "state-" + w.status);
      state.appendChild(two(st[0] + (w.closed_by_manager ? "（管理员）" : ""), st[1] + (w.closed_by_manager ? " by manager" : "")));
      if (w.pause_reason) { state.appendChild(el("span", "en", "原因：" + w.pause_reason)); }
      tr.appendChild(state);
      var cur = el("td");
      if (w.current) { cur.appendChild(two(w.current.code, w.current.item_name)); } else { cur.textContent = "—"; }
      tr.appendChild(cur);
      var served = el("td");
      if (w.current && w.current.served_min !== null && w.current.served_min !== undefined) {
        served.textContent = num(w.current.served_min) + (w.current.limit_min ? " / " + num(w.current.limit_min) : "") + " 分";
        if (w.current.over) { served.className = "over"; served.appendChild(el("span", "en over", "over the limit")); }
      } else { served.textContent = "—"; }
      tr.appendChild(served);
      tr.appendChild(el("td", null, w.idle_min === null || w.idle_min === undefined ? "—" : num(w.idle_min) + " 分"));
      var qs = el("td");
      var picked = editing[w.id] || w.queues;
      queues.forEach(function (q) {
        var label = el("label", "qbox");
        var box = el("input");
        box.type = "checkbox";
        box.value = q.id;
        box.name = "queues-" + w.id;
        box.checked = picked.indexOf(q.id) >= 0;
        box.addEventListener("change", function () {
          var now = [];
          var boxes = qs.querySelectorAll("input");
          for (var i = 0; i < boxes.length; i++) { if (boxes[i].checked) { now.push(boxes[i].value); } }
          editing[w.id] = now;
          save.disabled = false;
        });
        label.appendChild(box);
        label.appendChild(document.createTextNode(q.id));
        qs.appendChild(label);
      });
      var save = el("button", "button small", "保存");
      save.type = "button";
      save.setAttribute("data-action", "save-queues");
      save.disabled = !editing[w.id];
      save.addEventListener("click", function () {
        var chosen = editing[w.id] || w.queues;
        if (!chosen.length) { toast("请至少选择一项业务 · Pick at least one queue", true); return; }
        save.disabled = true;
        act("set_window_queues", { window: w.id, queues: chosen }, w.name + " 办理业务已调整，下一次叫号起生效").then(function (r) {
          if (r.ok) { delete editing[w.id]; } else { save.disabled = false; }
        });
      });
      qs.appendChild(save);
      tr.appendChild(qs);
      var oc = el("td");
      var toggle = el("button", "button small", w.closed_by_manager ? "开放" : "暂停叫号");
      toggle.type = "button";
      toggle.setAttribute("data-action", w.closed_by_manager ? "open" : "close");
      toggle.appendChild(el("span", "en", w.closed_by_manager ? "Open" : "Close"));
      toggle.addEventListener("click", function () {
        toggle.disabled = true;
        act(w.closed_by_manager ? "open_window" : "close_window", { window: w.id }).then(function () { toggle.disabled = false; });
      });
      oc.appendChild(toggle);
      tr.appendChild(oc);
      body.appendChild(tr);
    });
  }

  function renderFigures(f) {
    var dl = $("figures");
    dl.textContent = "";
    [["取号", "Issued", f.issued], ["已办", "Served", f.served], ["过号", "Missed", f.no_show],
     ["等候", "Waiting", f.waiting], ["平均等候", "Avg wait", f.avg_wait_min === null ? "—" : num(f.avg_wait_min, 1) + " 分"]
    ].forEach(function (row) {
      var d = el("div");
      var dt = el("dt", null, row[0]);
      dt.appendChild(el("span", "en", row[1]));
      d.appendChild(dt);
      d.appendChild(el("dd", null, row[2] === undefined ? "—" : row[2]));
      dl.appendChild(d);
    });
    var r = $("ratings");
    r.textContent = "";
    var ratings = f.ratings || {};
    ["1", "2", "3", "4", "5"].forEach(function (k) {
      r.appendChild(el("span", k >= "4" && ratings[k] ? "over" : null, RATING[k] + " " + (ratings[k] || 0)));
    });
    r.appendChild(el("span", null, "满意率 Satisfied " + (ratings.satisfied_pct === null || ratings.satisfied_pct === undefined ? "—" : num(ratings.satisfied_pct) + "%")));
    drawChart(f.waits_by_hour || {});
  }

  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = String(text); }
    return e;
  }

  function drawChart(byHour) {
    var box = $("chart");
    box.textContent = "";
    var queues = Object.keys(byHour).sort();
    var hours = [];
    var max = 0;
    queues.forEach(function (q) {
      byHour[q].forEach(function (p) {
        if (hours.indexOf(p.hour) < 0) { hours.push(p.hour); }
        if (p.avg_wait_min > max) { max = p.avg_wait_min; }
      });
    });
    hours.sort(function (a, b) { return a - b; });
    if (!hours.length) { box.appendChild(el("p", "quiet", "今天还没有等候数据 · No waits yet today")); return; }
    var W = 520, H = 160, left = 34, bottom = 22, top = 20;
    var plotH = H - bottom - top, plotW = W - left - 6;
    max = Math.max(4, Math.ceil(max / 4) * 4);  // four gridlines, whole minutes
    var s = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "各时段平均等候 Average wait by hour" });
    for (var g = 0; g <= 4; g++) {
      var y = top + plotH - plotH * g / 4;
      s.appendChild(svg("line", { x1: left, x2: W - 6, y1: y, y2: y, stroke: "#c3c9d2", "stroke-width": 1 }));
      s.appendChild(svg("text", { x: left - 4, y: y + 4, "text-anchor": "end", "font-size": 11, fill: "#222" }, Math.round(max * g / 4)));
    }
    var slot = plotW / hours.length;
    var barW = Math.max(3, Math.min(22, (slot - 6) / Math.max(1, queues.length)));
    hours.forEach(function (h, i) {
      var x0 = left + i * slot + (slot - barW * queues.length) / 2;
      queues.forEach(function (q, j) {
        var p = byHour[q].filter(function (pt) { return pt.hour === h; })[0];
        if (!p) { return; }
        var bh = plotH * p.avg_wait_min / max;
        var bar = svg("rect", { x: x0 + j * barW, y: top + plotH - bh, width: barW - 1, height: Math.max(1, bh), fill: COLORS[j % COLORS.length] });
        bar.appendChild(svg("title", {}, q + " " + h + ":00 " + p.avg_wait_min.toFixed(1) + " 分 (" + p.count + ")"));
        s.appendChild(bar);
      });
      s.appendChild(svg("text", { x: left + i * slot + slot / 2, y: H - 6, "text-anchor": "middle", "font-size": 11, fill: "#222" }, h + "时"));
    });
    queues.forEach(function (q, j) {
      s.appendChild(svg("rect", { x: left + j * 48, y: 4, width: 10, height: 10, fill: COLORS[j % COLORS.length] }));
      s.appendChild(svg("text", { x: left + j * 48 + 14, y: 13, "font-size": 11, fill: "#111" }, q));
    });
    box.appendChild(s);
  }

  function renderNotice(n) {
    var p = $("notice-now");
    p.textContent = "";
    if (n && n.text) {
      p.appendChild(two("当前公告：" + n.text, "until " + hhmm(n.until)));
      var clear = el("button", "button small", "撤下");
      clear.type = "button";
      clear.appendChild(el("span", "en", "Clear"));
      clear.addEventListener("click", function () { act("post_notice", { text: "" }, "公告已撤下 · Notice cleared"); });
      p.appendChild(clear);
    } else {
      p.appendChild(two("当前无公告", "No notice"));
    }
  }

  function render(o) {
    var dayChanged = !last || last.business_date !== o.business_date;
    last = o;
    if (dayChanged && lastFollowUps) { renderFollowUpFigures(lastFollowUps); }
    renderAlerts(o.alerts || []);
    renderRecommendation(o.recommendation || null);
    renderQueues(o.queues || []);
    renderWindows(o.windows || [], o.queues || []);
    renderFigures(o.figures || {});
    renderNotice(o.notice || null);
    document.body.setAttribute("data-updated", o.now || "");
  }

  function setLive(ok) {
    var live = $("live");
    live.className = "live" + (ok ? "" : " off");
    live.textContent = ok ? "实时 " : "连接中断，正在重连… ";
    live.appendChild(el("span", "en", ok ? "live" : "reconnecting"));
  }

  $("move").addEventListener("submit", function (e) {
    e.preventDefault();
    var code = $("move-code").value.trim().toUpperCase();
    act("move_ticket", { code: code, to_queue: $("move-queue").value }, code + " 已调整 · moved").then(function (r) {
      if (r.ok) { $("move-code").value = ""; }
    });
  });
  $("notice").addEventListener("submit", function (e) {
    e.preventDefault();
    var minutes = parseInt($("notice-minutes").value, 10) || 60;
    act("post_notice", { text: $("notice-text").value, minutes: minutes }, "公告已发布 · Notice posted").then(function (r) {
      if (r.ok) { $("notice-text").value = ""; }
    });
  });

  function connect() {
    var source = new EventSource("/console/events");
    source.addEventListener("open", function () { setLive(true); });
    source.addEventListener("overview", function (e) {
      try { render(JSON.parse(e.data)); } catch (err) { /* keep the last one */ }
    });
    source.addEventListener("follow_ups", function (e) {
      try { renderFollowUps(JSON.parse(e.data)); } catch (err) { /* keep the last one */ }
    });
    source.addEventListener("link", function (e) {
      try { setLive(JSON.parse(e.data).online); } catch (err) { /* ignore */ }
    });
    source.addEventListener("error", function () {
      setLive(false);
      if (source.readyState === EventSource.CLOSED) {
        fetch("/console/api/overview", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
          if (r.status === 401) { location.reload(); } else { setTimeout(connect, 3000); }
        }, function () { setTimeout(connect, 3000); });
      }
    });
  }
  connect();
}());
