// Plotly measures text in an off-screen <svg id="js-plotly-tester"> it adds to <body>, outside every
// landmark; it is never seen, so it is hidden from assistive technology too.
(function () {
    function hideTester() {
        var tester = document.getElementById("js-plotly-tester");
        if (tester && tester.getAttribute("aria-hidden") !== "true") {
            tester.setAttribute("aria-hidden", "true");
        }
    }
    new MutationObserver(hideTester).observe(document.documentElement, {childList: true, subtree: false});
    document.addEventListener("DOMContentLoaded", function () {
        new MutationObserver(hideTester).observe(document.body, {childList: true});
        hideTester();
    });
})();
