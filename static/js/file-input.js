// File inputs (templates/_macros/forms.html, file_picker): show the chosen files in the page's language, in place of
// the status text the browser writes in its own language.
(function () {
  "use strict";
  function update(input, status) {
    var files = input.files ? input.files.length : 0;
    status.textContent = files === 0 ? status.dataset.none
      : files === 1 ? input.files[0].name
      : status.dataset.many.replace("{count}", String(files));
  }
  function enhance() {
    document.querySelectorAll(".file-picker").forEach(function (picker) {
      var input = picker.querySelector(".file-input");
      var status = picker.querySelector(".file-status");
      if (!input || !status || picker.classList.contains("file-picker-enhanced")) { return; }
      picker.classList.add("file-picker-enhanced");
      status.hidden = false;
      update(input, status);
      input.addEventListener("change", function () { update(input, status); });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", enhance); } else { enhance(); }
})();
