// A "Copy" button beside a read-only field (data-copy="<field id>"): shown only where the clipboard can be written,
// it copies the field's text and says so in the status line that follows. Without a script the field is selectable.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field || !navigator.clipboard) { return; }
    var status = button.closest(".field").querySelector(".copy-status");
    button.hidden = false;
    field.addEventListener("focus", function () { field.select(); });
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        if (status) { status.textContent = button.getAttribute("data-copied"); }
      }, function () { field.focus(); field.select(); });
    });
  });
}());
