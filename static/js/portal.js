// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // The language switcher submits on change; its button stays for keyboard and no-JS users.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.id === "language-select" && target.form) {
      target.form.submit();
    }
  });
})();
