// Starts Swagger UI on the API reference of the gateway that serves this page (see ../api-docs.ts). A successful
// SignIn made from the page signs the page in: its accessToken becomes the bearer token of every signed-in
// method tried after it, as if pasted under "Authorize". Nothing is kept beyond the tab.
const signInPath = "/tourmesh.identity.v1.IdentityService/SignIn";

window.ui = window.SwaggerUIBundle({
  url: "/docs/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  tryItOutEnabled: true,
  displayRequestDuration: true,
  persistAuthorization: false,
  // The public validator badge would send the document to validator.swagger.io.
  validatorUrl: null,
  responseInterceptor(response) {
    const token = response.ok ? response.body?.accessToken : undefined;
    if (typeof token === "string" && new URL(response.url, location.href).pathname === signInPath) {
      window.ui.preauthorizeApiKey("bearer", token);
    }
    return response;
  },
});
