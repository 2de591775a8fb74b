// Live progress of a billing run, an import or a campaign: polls its progress.json while it is active.
(function () {
  "use strict";
  var card = document.querySelector(".run-progress");
  if (!card || card.dataset.active !== "true") { return; }
  document.documentElement.classList.add("js");
  var url = card.dataset.progressUrl;
  var bar = document.getElementById("run-bar");
  // Numbers as the server-rendered page writes them (1.068,2 and 42 % in German): the page's language as written in
  // the utility's country (data-locale, e.g. en-IE), else the page's language.
  var lang = card.dataset.locale || document.documentElement.lang || undefined;
  function format(el, value) {
    if (el.dataset.format === "percent") {
      return new Intl.NumberFormat(lang, { style: "percent" }).format(value / 100);
    }
    var digits = Number(el.dataset.digits || 0);
    return new Intl.NumberFormat(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
  }
  function set(name, value) {
    var el = card.querySelector('[data-field="' + name + '"]');
    if (el) { el.textContent = value === null || value === undefined ? "—" : format(el, value); }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        bar.value = data.percent;
        bar.textContent = new Intl.NumberFormat(lang, { style: "percent" }).format(data.percent / 100);
        // Every figure the card shows that the answer carries (a run's bills, a campaign's sent and failed...).
        Array.prototype.forEach.call(card.querySelectorAll("[data-field]"), function (el) {
          if (el.dataset.field in data) { set(el.dataset.field, data[el.dataset.field]); }
        });
        if (data.active) { window.setTimeout(poll, 1000); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
