// Live count of a campaign's segment: asks segment.json whenever a criterion changes (the page also works without
// this script: its "Count the recipients" button shows the same count after a round trip).
(function () {
  "use strict";
  var form = document.querySelector(".campaign-form");
  if (!form) { return; }
  var box = document.getElementById("segment-count");
  var url = form.dataset.segmentUrl;
  var lang = document.documentElement.lang || undefined;
  var timer = null;
  function query() {
    var params = new URLSearchParams();
    ["purpose", "activity", "offer", "postcode", "town", "payment_method", "paperless", "overdue", "consent",
     "language"].forEach(function (name) {
      var el = form.querySelector('[name="' + name + '"]:checked') || form.querySelector('select[name="' + name + '"], input[type="text"][name="' + name + '"]');
      if (el && el.value) { params.set(name, el.value); }
    });
    return params.toString();
  }
  function show(data) {
    box.textContent = "";
    var p = document.createElement("p");
    var strong = document.createElement("strong");
    var nf = new Intl.NumberFormat(lang);
    strong.textContent = (box.dataset.countLabel || "{n}").replace("{n}", nf.format(data.count));
    p.appendChild(strong);
    if (data.without_email) {
      p.appendChild(document.createTextNode(" · " + (box.dataset.missingLabel || "{n}").replace("{n}", nf.format(data.without_email))));
    }
    box.appendChild(p);
    if (data.sample && data.sample.length) {
      var ul = document.createElement("ul");
      ul.className = "segment-sample";
      data.sample.forEach(function (r) {
        var li = document.createElement("li");
        li.textContent = r.account_number + " · " + r.name + " · " + r.language;
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
  }
  function refresh() {
    fetch(url + "?" + query(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) { if (data.error) { box.textContent = data.error; } else { show(data); } })
      .catch(function () {});
  }
  form.addEventListener("change", function () { window.clearTimeout(timer); timer = window.setTimeout(refresh, 250); });
  form.addEventListener("input", function () { window.clearTimeout(timer); timer = window.setTimeout(refresh, 500); });
  refresh();
})();
