// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // The language form's "next" was written when the page was rendered; HTMX may have pushed a
  // new URL since (filters, page), so the switch returns to where the user is now.
  function keepPlace(form) {
    var next = form.querySelector("input[name=next]");
    if (next) {
      next.value = window.location.pathname + window.location.search;
    }
  }

  // The language switcher submits on change; its button stays for keyboard and no-JS users.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.id === "language-select" && target.form) {
      keepPlace(target.form);
      target.form.submit();
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form && form.classList && form.classList.contains("langswitch")) {
      keepPlace(form);
    }
  });
})();

// After an in-place update (HTMX swap): keep keyboard focus somewhere sensible and tell screen
// reader users what changed.
(function () {
  "use strict";
  var lostFocusTo = null;

  // A swap that removes the focused element (a pagination link, say) would drop focus to the
  // top of the page; send it to the updated region instead.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    lostFocusTo = target && target.id && target.contains(document.activeElement) ? target.id : null;
  });

  document.addEventListener("htmx:afterSettle", function () {
    // A region replaced whole is not announced by screen readers, so a summary inside it
    // (data-announce="id") is copied into a live region that stays on the page.
    // With data-announce-changes only a changed summary is spoken (a list that polls itself
    // would otherwise repeat the same words every few seconds).
    var summaries = document.querySelectorAll("[data-announce]");
    for (var i = 0; i < summaries.length; i++) {
      var live = document.getElementById(summaries[i].getAttribute("data-announce"));
      var text = summaries[i].textContent.replace(/\s+/g, " ").trim();
      if (live && !(summaries[i].hasAttribute("data-announce-changes") && live.textContent === text)) {
        live.textContent = text;
      }
    }
    if (lostFocusTo) {
      var active = document.activeElement;
      var region = document.getElementById(lostFocusTo);
      if (region && (!active || active === document.body || !document.body.contains(active))) {
        if (!region.hasAttribute("tabindex")) {
          region.setAttribute("tabindex", "-1");
        }
        region.focus();
      }
      lostFocusTo = null;
    }
  });
})();

// A table wider than the screen scrolls inside its .table-wrap. Keyboard users can scroll it
// only if it can take focus, and screen readers should hear what it is: an overflowing wrap
// becomes a focusable region named after its table's caption (or the page's heading).
(function () {
  "use strict";

  function label(wrap) {
    var caption = wrap.querySelector("caption");
    var heading = document.querySelector("main h1");
    var source = caption || heading;
    return source ? source.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function update() {
    var wraps = document.querySelectorAll(".table-wrap");
    for (var i = 0; i < wraps.length; i++) {
      var wrap = wraps[i];
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", label(wrap));
      } else if (wrap.getAttribute("role") === "region") {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
      }
    }
  }

  var pending = null;
  function later() {
    if (pending === null) {
      pending = window.requestAnimationFrame(function () {
        pending = null;
        update();
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", update);
  } else {
    update();
  }
  window.addEventListener("resize", later);
  document.addEventListener("htmx:afterSettle", later);
})();

// An HTMX request that ends in an error status or gets no answer at all would otherwise end in
// silence: htmx swaps nothing and gives the button back. Say what happened, in the page's live
// region and in the person's language (the texts are rendered by the server into data-error-*
// attributes of #messages), and leave the form as it is so it can be sent again.
(function () {
  "use strict";
  var failedElement = null;

  function kindOf(xhr) {
    var status = xhr ? xhr.status : 0;
    if (status === 403 && xhr.getResponseHeader("X-CSRF-Failure") === "true") {
      return "csrf";
    }
    if (status === 401 || status === 403) {
      return "forbidden";
    }
    if (status === 404 || status === 410) {
      return "notfound";
    }
    if (status === 429) {
      return "busy";
    }
    if (status >= 500) {
      return "server";
    }
    return "refused";
  }

  function clear() {
    var live = document.getElementById("messages");
    var shown = live && live.querySelector("[data-request-error]");
    if (shown) {
      shown.parentNode.removeChild(shown);
    }
  }

  function show(kind, element) {
    var live = document.getElementById("messages");
    if (!live) {
      return;
    }
    failedElement = element || null;
    var shown = live.querySelector("[data-request-error]");
    if (shown && shown.getAttribute("data-request-error") === kind) {
      return; // said already (a list polling through an outage would repeat it every time)
    }
    clear();
    var notice = document.createElement("p");
    notice.className = "notice notice--error";
    notice.setAttribute("data-request-error", kind);
    notice.appendChild(
      document.createTextNode(live.getAttribute("data-error-" + kind) || live.getAttribute("data-error-refused"))
    );
    if (kind === "csrf") {
      var reload = document.createElement("a");
      reload.href = window.location.href;
      reload.className = "notice__action";
      reload.textContent = live.getAttribute("data-error-reload");
      notice.appendChild(document.createTextNode(" "));
      notice.appendChild(reload);
    }
    live.appendChild(notice);
    var box = live.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) {
      live.scrollIntoView({ block: "nearest" });
    }
  }

  document.addEventListener("htmx:responseError", function (event) {
    show(kindOf(event.detail && event.detail.xhr), event.detail && event.detail.elt);
  });
  document.addEventListener("htmx:sendError", function (event) {
    show("network", event.detail && event.detail.elt);
  });
  document.addEventListener("htmx:timeout", function (event) {
    show("network", event.detail && event.detail.elt);
  });
  document.addEventListener("htmx:swapError", function (event) {
    show("refused", event.detail && event.detail.elt);
  });
  // The same element succeeding again (the form sent anew, the list polled) ends the notice.
  document.addEventListener("htmx:afterRequest", function (event) {
    var detail = event.detail || {};
    if (detail.successful && failedElement !== null && detail.elt === failedElement) {
      failedElement = null;
      clear();
    }
  });
})();

// A list's filter form (templates/partials/filters.html) and the links inside its #results
// (sort headings, pages) each swap #results. Leaving the search box fires the form's change
// even when typing has already searched for that text, so clicking a sort heading right after a
// search sent two requests; when the sort's answer came second, it went into the #results the
// search's answer had just replaced (detached: rows left unsorted, htmx:oobErrorNoTarget for
// the Sort by menu's out-of-band swap). A filter form's request for the values whose list is
// already shown (the page's URL) is not sent. Cancelled in
// htmx:beforeRequest, not aborted (hx-sync's replace aborts, which htmx logs as errors).
(function () {
  "use strict";

  function query(form) {
    return new URLSearchParams(new FormData(form)).toString();
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail && event.detail.elt;
    if (!form || form.tagName !== "FORM" || !form.classList.contains("filters")) {
      return;
    }
    // The list shown already answers these values (its URL was pushed from them).
    if (window.location.search === "?" + query(form)) {
      event.preventDefault();
    }
  });
})();

// A secret shown once (an API key, a webhook's signing secret): its Copy button, hidden
// without this script, copies the value and says so in a status region.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-copy]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
  }
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) {
      return;
    }
    var id = button.getAttribute("data-copy");
    var input = document.getElementById(id);
    var status = document.getElementById(id + "-copied");
    if (!input) {
      return;
    }
    function say(copied) {
      if (status) {
        status.textContent = button.getAttribute(copied ? "data-copied" : "data-copy-failed");
      }
    }
    function byCommand() {
      input.select();
      try {
        return document.execCommand("copy");
      } catch (e) {
        return false;
      }
    }
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(
        function () { say(true); },
        function () { say(byCommand()); }
      );
    } else {
      say(byCommand());
    }
  });
})();
