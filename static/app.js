// Stackboard's own script: theme toggle, keyboard shortcuts, the live indicator, "Copy curl", and keeping filter
// URLs tidy. The pages work without it; it only adds comfort.
(function () {
  "use strict";

  var root = document.documentElement;

  // --- Theme: system, light or dark, remembered in localStorage. The <head> applies it before the first paint.
  var themes = ["system", "light", "dark"];
  var themeIcons = {system: "◑", light: "☀", dark: "☾"};

  function currentTheme() {
    try {
      return localStorage.getItem("stackboard-theme") || "system";
    } catch (e) {
      return "system";
    }
  }

  function applyTheme(theme) {
    if (theme === "light" || theme === "dark") {
      root.setAttribute("data-theme", theme);
    } else {
      root.removeAttribute("data-theme");
    }
    var button = document.getElementById("theme-toggle");
    if (button) {
      button.setAttribute("data-theme-choice", theme);
      button.querySelector(".theme-name").textContent = theme;
      button.querySelector(".theme-icon").textContent = themeIcons[theme];
    }
  }

  function cycleTheme() {
    var next = themes[(themes.indexOf(currentTheme()) + 1) % themes.length];
    try {
      localStorage.setItem("stackboard-theme", next);
    } catch (e) {
      // Private mode: the choice lasts for this page only.
    }
    applyTheme(next);
  }

  // --- Live indicator: live / reconnecting / stale, in a live region that screen readers announce, so it
  // changes only when the state does; "updated N s ago" ticks beside it, outside the region.
  var lastUpdate = null;
  var lastVersion = null;
  var liveState = "connecting";
  var knownSources = new WeakSet();
  var stateText = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting…",
    stale: "Stale: the server cannot see changes right now"
  };

  function setText(el, text) {
    if (el && el.textContent !== text) {
      el.textContent = text;
    }
  }

  function renderLive() {
    var el = document.getElementById("live");
    if (!el) {
      return;
    }
    if (el.getAttribute("data-state") !== liveState) {
      el.setAttribute("data-state", liveState);
    }
    setText(el.querySelector(".live-text"), stateText[liveState]);
    var age = "";
    if (liveState === "live" && lastUpdate !== null) {
      age = "updated " + ago(Math.max(0, Math.round((Date.now() - lastUpdate) / 1000))) + " ago";
    }
    setText(document.getElementById("live-age"), age);
  }

  function ago(seconds) {
    if (seconds < 60) {
      return seconds + " s";
    }
    if (seconds < 3600) {
      return Math.floor(seconds / 60) + " min";
    }
    return Math.floor(seconds / 3600) + " h";
  }

  var openSources = [];

  function listen(source) {
    if (knownSources.has(source)) {
      return;
    }
    knownSources.add(source);
    openSources.push(source);
    source.addEventListener("hello", function (event) {
      // After a reconnect, anything missed while away is fetched again.
      if (lastVersion !== null && event.data !== lastVersion) {
        lastUpdate = Date.now();
        htmx.trigger(document.body, "resync");
      }
      lastVersion = event.data;
    });
    source.addEventListener("changed", function (event) {
      lastVersion = event.data;
      lastUpdate = Date.now();
      renderLive();
    });
    // The server's change watcher is down: the stream stays open, and the page says its data may be old.
    source.addEventListener("stale", function () {
      liveState = "stale";
      renderLive();
    });
    source.addEventListener("live", function () {
      if (liveState === "stale") {
        liveState = "live";
        lastUpdate = Date.now();
        htmx.trigger(document.body, "resync");
        renderLive();
      }
    });
  }

  document.addEventListener("htmx:sseOpen", function (event) {
    liveState = "live";
    listen(event.detail.source);
    renderLive();
  });
  document.addEventListener("htmx:sseError", function () {
    liveState = "reconnecting";
    renderLive();
  });
  setInterval(renderLive, 1000);

  // --- Ages ("for 14 min"): the server may answer from its cache, rendered a while ago, so the page works them
  // out again from their timestamps, with the server's rounding, and keeps them current.
  function durationText(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) { return s + " s"; }
    if (s < 3600) { return Math.floor(s / 60) + " min"; }
    if (s < 48 * 3600) { return Math.floor(s / 3600) + " h"; }
    return Math.floor(s / 86400) + " d";
  }

  function refreshAges() {
    var now = Date.now();
    document.querySelectorAll("time[data-since]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) {
        var text = durationText(now - at);
        if (el.textContent !== text) { el.textContent = text; }
      }
    });
  }
  document.addEventListener("DOMContentLoaded", refreshAges);
  document.addEventListener("htmx:afterSettle", refreshAges);

  // --- Times: the server writes UTC ISO (readable without script, and in the tooltip); the page shows them in
  // the reader's own time zone.
  var localFormat = window.Intl ? new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  }) : null;

  function localTimes() {
    if (!localFormat) {
      return;
    }
    document.querySelectorAll("time[data-local]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) {
        setText(el, localFormat.format(at));
      }
    });
  }
  document.addEventListener("DOMContentLoaded", localTimes);
  document.addEventListener("htmx:afterSettle", localTimes);

  // --- Menus (<details class="menu">) close on Escape, which gives the focus back to their summary, and on a
  // click anywhere outside them.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.open = false;
      if (menu.contains(document.activeElement)) {
        menu.querySelector("summary").focus();
      }
    });
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) {
        menu.open = false;
      }
    });
  });
  setInterval(refreshAges, 15000);

  // A page the browser keeps in its back/forward cache would keep its event stream open, and a browser opens only
  // six connections to a host over HTTP/1.1: after six pages the seventh would never load. So the stream closes
  // when the page is hidden, and a page that comes back from the cache reloads, for fresh data and a new stream.
  window.addEventListener("pagehide", function () {
    openSources.forEach(function (source) { source.close(); });
    openSources = [];
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      window.location.reload();
    }
  });

  // --- Live updates morph the page (idiomorph) instead of replacing it, so focus, scroll, selections and typed
  // text survive. An open menu stays open: the server's copy never has the "open" the reader gave it.
  function configureMorph() {
    if (!window.Idiomorph) {
      return;
    }
    Idiomorph.defaults.ignoreActiveValue = true;
    Idiomorph.defaults.callbacks.beforeAttributeUpdated = function (name, element) {
      return !(name === "open" && element.tagName === "DETAILS");
    };
  }

  // A list that has loaded more rows than its first page asks for all of them again in one request when a live
  // update comes (limit = the rows it holds, up to the most one request may ask for), instead of falling back to
  // the first page and loading the rest page by page. A filter swaps in a new element, which starts again.
  var grownLists = new WeakSet();

  function liveFragment(elt) {
    return elt && elt.closest ? elt.closest("[hx-trigger*='sse:']") : null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var config = event.detail.requestConfig;
    if (config && config.verb === "get" && /[?&]marker=/.test(config.path || "")) {
      var fragment = liveFragment(event.detail.elt);
      if (fragment) {
        grownLists.add(fragment);
      }
    }
  });

  function liveRefresh(event) {
    var trigger = event.detail.triggeringEvent;
    var type = trigger ? trigger.type : "";
    return type === "resync" || type.indexOf("sse:") === 0;
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (event.detail.verb !== "get" || !liveRefresh(event) || !grownLists.has(elt)) {
      return;
    }
    var rows = elt.querySelectorAll("tbody > tr:not(.load-more)").length;
    var most = parseInt(document.body.getAttribute("data-max-rows"), 10) || rows;
    if (rows > 0) {
      event.detail.formData.set("limit", String(Math.min(rows, most)));
    }
  });

  // --- Requests: leave empty filters out of the URL, so shared links stay short.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") {
      return;
    }
    var data = event.detail.formData;
    Array.from(new Set(data.keys())).forEach(function (key) {
      if (data.getAll(key).every(function (v) { return v === ""; })) {
        data.delete(key);
      }
    });
  });

  // "View JSON" follows the current URL, which htmx changes as filters change.
  function updateJSONLink() {
    var link = document.getElementById("view-json");
    if (!link) {
      return;
    }
    var url = new URL(window.location.href);
    url.searchParams.set("format", "json");
    link.setAttribute("href", url.pathname + url.search);
  }
  document.addEventListener("htmx:pushedIntoHistory", updateJSONLink);
  document.addEventListener("htmx:replacedInHistory", updateJSONLink);

  // --- Copy curl: the command that fetches this page's JSON.
  function curlCommand() {
    var url = new URL(window.location.href);
    url.searchParams.delete("format");
    var command = "curl -s";
    // The server names the header this page's JSON requires (the /v1 API's Client-Request-Id), if any.
    var header = document.body.getAttribute("data-json-header");
    if (header) {
      var id = window.crypto && crypto.randomUUID ? crypto.randomUUID() : "00000000-0000-4000-8000-000000000000";
      command += " -H '" + header + ": " + id + "'";
    }
    return command + " -H 'Accept: application/json' '" + url.href + "'";
  }

  function copyCurl(button) {
    var command = curlCommand();
    var status = document.getElementById("copy-status");
    function shown(text) {
      if (status) {
        status.textContent = text;
        setTimeout(function () { status.textContent = ""; }, 4000);
      }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(command).then(
        function () { shown("Copied"); },
        function () { showCommand(command); }
      );
    } else {
      showCommand(command);
    }
    button.blur();
  }

  function showCommand(command) {
    var dialog = document.getElementById("curl-dialog");
    if (!dialog) {
      return;
    }
    var field = dialog.querySelector("textarea");
    field.value = command;
    dialog.showModal();
    field.focus();
    field.select();
  }

  // --- Keyboard: "/" search, "?" shortcuts, "g p" products, "g s" stacks.
  var pendingG = false;
  var pendingTimer = null;

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function stacksURL() {
    var project = document.body.getAttribute("data-project");
    if (!project) {
      var first = document.querySelector("#nav-projects a[data-project]");
      project = first ? first.getAttribute("data-project") : "";
    }
    return project ? "/v1/" + encodeURIComponent(project) + "/stacks" : null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    var dialog = document.getElementById("shortcuts");
    if (pendingG) {
      pendingG = false;
      clearTimeout(pendingTimer);
      if (event.key === "p") {
        event.preventDefault();
        window.location.href = "/api/products";
      } else if (event.key === "s") {
        var url = stacksURL();
        if (url) {
          event.preventDefault();
          window.location.href = url;
        }
      }
      return;
    }
    if (event.key === "/") {
      var search = document.querySelector("[data-search]") || document.getElementById("q");
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      }
    } else if (event.key === "?") {
      event.preventDefault();
      if (dialog.open) {
        dialog.close();
      } else {
        dialog.showModal();
      }
    } else if (event.key === "g") {
      pendingG = true;
      pendingTimer = setTimeout(function () { pendingG = false; }, 1200);
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-action]");
    if (!target) {
      return;
    }
    var action = target.getAttribute("data-action");
    if (action === "theme") {
      cycleTheme();
    } else if (action === "shortcuts") {
      document.getElementById("shortcuts").showModal();
    } else if (action === "copy-curl") {
      event.preventDefault();
      copyCurl(target);
    } else if (action === "close-dialog") {
      target.closest("dialog").close();
    }
  });

  function ready() {
    configureMorph();
    applyTheme(currentTheme());
    updateJSONLink();
    renderLive();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
