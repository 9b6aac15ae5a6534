/* The hall manager's console: the engine's overview, live over server-sent events,
   and the manager's actions (each a POST with the session's CSRF token). */
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

  function act(name, args, done) {
    return fetch("/console/api/" + name, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(args)
    }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; });
    }).then(function (res) {
      if (res.body.ok) {
        toast(done || "已完成 Done");
      } else {
        var e = res.body.error || {};
        toast((e.message_zh || "操作失败") + (e.message ? " · " + e.message : ""), true);
        if (res.status === 401) { setTimeout(function () { location.reload(); }, 1500); }
      }
      return res.body;
    }, function () {
      toast("网络错误，操作未完成 · Network error", true);
      return { ok: false };
    });
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
    last = o;
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
