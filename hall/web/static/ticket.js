/* The citizen's page: live updates over server-sent events, a beep and a vibration
   when the number is called or few are ahead (after a tap: browsers need a gesture). */
(function () {
  "use strict";
  var main = document.getElementById("ticket");
  if (!main) { return; }
  var token = location.pathname.split("/")[2] || "";
  var statusCard = document.getElementById("status");
  var waiting = document.getElementById("waiting");
  var estimate = document.getElementById("estimate");
  var live = document.getElementById("live");
  var soundButton = document.getElementById("sound");
  var soundState = document.getElementById("sound-state");
  var lastAlert = main.getAttribute("data-alert") || "";
  var audio = null;
  var source = null;
  var failures = 0;

  function setLive(ok) {
    live.classList.toggle("off", !ok);
    live.firstChild.textContent = ok ? "本页自动更新，无需刷新" : "正在重新连接…";
    live.lastChild.textContent = ok ? "This page updates by itself" : "Reconnecting…";
  }

  function beep(times) {
    if (!audio) { return; }
    var t = audio.currentTime + 0.05;
    for (var i = 0; i < times; i++) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = i % 2 ? 660 : 880;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.6, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.35);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(t);
      osc.stop(t + 0.4);
      t += 0.5;
    }
  }

  function ring(called) {
    beep(called ? 4 : 2);
    if (navigator.vibrate) {
      try { navigator.vibrate(called ? [400, 200, 400, 200, 400] : [300, 150, 300]); } catch (e) { /* not allowed */ }
    }
    document.body.setAttribute("data-rang", String(Date.now()));
  }

  function show(t) {
    var fields = document.querySelectorAll("[data-field]");
    for (var i = 0; i < fields.length; i++) {
      var key = fields[i].getAttribute("data-field");
      if (Object.prototype.hasOwnProperty.call(t, key)) {
        fields[i].textContent = t[key] === null || t[key] === undefined ? "" : String(t[key]);
      }
    }
    statusCard.className = "card status tone-" + t.tone;
    waiting.hidden = t.status !== "waiting" || t.ahead === null;
    estimate.hidden = !t.est_zh;
    main.setAttribute("data-status", t.status);
    document.title = t.code + " " + t.status_zh + " · " + t.status_en;
    if (t.alert && t.alert !== lastAlert) {
      ring(t.alert.indexOf("called") === 0);
    }
    lastAlert = t.alert || "";
  }

  function gone() {
    main.hidden = true;
    document.getElementById("gone").hidden = false;
    if (source) { source.close(); source = null; }
  }

  function connect() {
    source = new EventSource("/t/" + encodeURIComponent(token) + "/events");
    source.addEventListener("open", function () { failures = 0; setLive(true); });
    source.addEventListener("view", function (e) {
      try { show(JSON.parse(e.data)); } catch (err) { /* a bad event: keep the last view */ }
    });
    source.addEventListener("gone", gone);
    source.addEventListener("link", function (e) {
      try { setLive(JSON.parse(e.data).online); } catch (err) { /* ignore */ }
    });
    source.addEventListener("error", function () {
      setLive(false);
      if (source && source.readyState === EventSource.CLOSED) {
        // refused (the ticket expired, or the server is busy): ask the page itself
        source = null;
        failures += 1;
        fetch(location.pathname, { cache: "no-store", credentials: "omit" }).then(function (r) {
          if (r.status === 404) { gone(); } else { setTimeout(connect, Math.min(30000, 2000 * failures)); }
        }, function () { setTimeout(connect, Math.min(30000, 2000 * failures)); });
      }
    });
  }

  soundButton.addEventListener("click", function () {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (Ctx && !audio) { audio = new Ctx(); }
    if (audio && audio.state === "suspended") { audio.resume(); }
    beep(1);
    if (navigator.vibrate) { try { navigator.vibrate(100); } catch (e) { /* ignore */ } }
    soundButton.classList.add("on");
    soundButton.firstChild.textContent = "声音提醒已开启";
    soundButton.lastChild.textContent = "Sound is on";
    soundState.hidden = false;
  });

  connect();
}());
