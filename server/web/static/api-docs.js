// Starts Swagger UI on /schema (a file, not an inline script: the page's CSP allows only these).
(function () {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: root.dataset.specUrl, domNode: root, deepLinking: true });
})();
