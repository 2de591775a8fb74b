// Platform console, a utility's exports: while one is being written, the list is fetched again every few seconds
// and replaced in place, so the download link appears by itself (without JavaScript, "Check again" does it).
(function () {
  "use strict";
  function refreshSeconds() {
    var list = document.getElementById("exports");
    return list && list.dataset.refresh ? Number(list.dataset.refresh) : 0;
  }
  function poll() {
    var seconds = refreshSeconds();
    if (!seconds) { return; }
    window.setTimeout(function () {
      fetch(window.location.href, {credentials: "same-origin"}).then(function (response) {
        return response.ok ? response.text() : null;
      }).then(function (html) {
        var fresh = html && new DOMParser().parseFromString(html, "text/html").getElementById("exports");
        var list = document.getElementById("exports");
        if (fresh && list) { list.replaceWith(fresh); }
        poll();
      }).catch(poll);
    }, seconds * 1000);
  }
  poll();
})();
