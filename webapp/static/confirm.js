// Asks before an action that is hard to take back: every form with data-confirm="question" is
// submitted only after "OK" (withdraw a consent, release a task).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  }, true);
})();
