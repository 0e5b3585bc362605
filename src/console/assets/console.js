// Conveniences only: every console flow works without this file.
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('input[name="pick"]').forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }
});
