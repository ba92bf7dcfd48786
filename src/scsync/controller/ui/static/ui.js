// scsync's web UI: keeps a page current without a reload.  Only this: every page is
// whole without it.  It polls the page's live data (JSON, <main data-live-src>) every
// 2 s and puts each value in place as text (textContent: nothing is parsed as HTML).
(function () {
  "use strict";
  var PERIOD = 2000;
  var main = document.getElementById("main");
  var source = main && main.getAttribute("data-live-src");
  if (!source) {
    return;
  }

  function same(element, value) {
    var link = element.firstElementChild;
    var href = link && link.tagName === "A" ? link.getAttribute("href") : null;
    return element.textContent === value.text && href === (value.href || null) &&
      element.getAttribute("data-state") === (value.state || null) &&
      element.hasAttribute("data-mark") === Boolean(value.mark) &&
      element.getAttribute("title") === (value.title || null);
  }

  // Only what changed is touched: a focused link, a selection, a screen reader's place
  // stay where they are while the rest of the page moves on.
  function fill(element, value) {
    if (same(element, value)) {
      return;
    }
    element.textContent = "";
    if (value.href) {
      var link = document.createElement("a");
      link.href = value.href;
      link.textContent = value.text;
      element.appendChild(link);
    } else {
      element.textContent = value.text;
    }
    setOrRemove(element, "data-state", value.state);
    setOrRemove(element, "data-mark", value.mark ? "differs" : null);
    setOrRemove(element, "title", value.title);
  }

  function setOrRemove(element, name, value) {
    if (value === undefined || value === null || value === "") {
      element.removeAttribute(name);
    } else {
      element.setAttribute(name, value);
    }
  }

  function fillTable(table, rows) {
    var heads = table.querySelectorAll("thead th[data-col]");
    var old = table.tBodies[0];
    var shape = old.rows.length === rows.length && rows.every(function (row, n) {
      return old.rows[n].cells.length === heads.length &&
        old.rows[n].cells[0].hasAttribute("data-col");
    });
    if (shape && rows.length) {  // the same rows: cell by cell
      rows.forEach(function (row, n) {
        heads.forEach(function (head, c) {
          fill(old.rows[n].cells[c], row[head.getAttribute("data-col")] || {text: "—"});
        });
      });
      return;
    }
    var body = document.createElement("tbody");
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      heads.forEach(function (head) {
        var key = head.getAttribute("data-col");
        var td = document.createElement("td");
        td.setAttribute("data-col", key);
        td.setAttribute("data-label", head.textContent);
        fill(td, row[key] || {text: "—"});
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    if (!rows.length) {
      var tr = document.createElement("tr");
      var td = document.createElement("td");
      td.className = "empty";
      td.colSpan = heads.length;
      td.textContent = table.getAttribute("data-empty") || "";
      tr.appendChild(td);
      body.appendChild(tr);
    }
    table.replaceChild(body, old);
  }

  function apply(data) {
    Object.keys(data.fields || {}).forEach(function (name) {
      document.querySelectorAll('[data-field="' + name + '"]').forEach(function (el) {
        fill(el, data.fields[name]);
      });
    });
    Object.keys(data.tables || {}).forEach(function (name) {
      var table = document.querySelector('table[data-table="' + name + '"]');
      if (table) {
        fillTable(table, data.tables[name]);
      }
      document.querySelectorAll('[data-hide-empty="' + name + '"]').forEach(function (el) {
        el.hidden = data.tables[name].length === 0;
      });
    });
  }

  var failingSince = null;
  var WHY = {
    401: "asks for the UI token",
    404: "no longer knows this page's connector"
  };

  function failed(error) {
    failingSince = failingSince || new Date();
    var note = document.querySelector('[data-field="poll-error"]');
    var since = failingSince.toISOString().slice(11, 19) + " UTC";
    if (note) {
      note.textContent = WHY[error.status] ?
        " (but " + WHY[error.status] + ", since " + since + "; reload for its current pages)" :
        " (not answering since " + since + "; retrying)";
    }
    document.getElementById("heard").setAttribute("data-stale", "true");
  }

  function recovered() {
    failingSince = null;
    var note = document.querySelector('[data-field="poll-error"]');
    if (note) {
      note.textContent = "";
    }
    document.getElementById("heard").removeAttribute("data-stale");
  }

  function poll() {
    fetch(source, {headers: {Accept: "application/json"}, cache: "no-store",
                   credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) {
          var error = new Error("HTTP " + response.status);
          error.status = response.status;
          throw error;
        }
        return response.json();
      })
      .then(function (data) {
        apply(data);
        recovered();
      }, failed)
      .then(function () {
        window.setTimeout(poll, PERIOD);
      });
  }

  window.setTimeout(poll, PERIOD);
}());
