// Applies the remembered theme before the first paint, so a dark page never flashes white. It is a file of its
// own, not an inline script, because the Content-Security-Policy allows scripts only from this server.
try {
  var t = localStorage.getItem("stackboard-theme");
  if (t === "light" || t === "dark") document.documentElement.setAttribute("data-theme", t);
} catch (e) {}
