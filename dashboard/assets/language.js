// The <html lang> follows the language in the URL (?lang=en), for screen readers and spelling.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    capacity: {
        setLanguage: function (search) {
            var lang = new URLSearchParams(search || "").get("lang") === "en" ? "en" : "nl";
            document.documentElement.lang = lang;
            return lang;
        }
    }
});
