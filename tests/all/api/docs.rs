//! The generated OpenAPI document and the health check.

use reqwest::Method;

use super::{Api, Backend, both_backends};

both_backends!(
    openapi_lists_every_path_and_healthz_answers,
    every_operation_declares_its_path_params_and_its_401,
    a_path_no_route_matches_answers_in_the_api_shape_only_under_the_api
);

async fn openapi_lists_every_path_and_healthz_answers(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let health = api.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, 200, "{}", health.text);

    let doc = api.get("/api/v1/openapi.json").await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().expect("paths");
    let expected = [
        ("/api/v1/integrations", vec!["get", "post"]),
        ("/api/v1/integrations/{id}", vec!["get", "patch", "delete"]),
        ("/api/v1/integrations/{id}/connections", vec!["post"]),
        ("/api/v1/connections", vec!["get"]),
        ("/api/v1/connections/{id}", vec!["get", "delete"]),
        ("/api/v1/connections/{id}/refresh", vec!["post"]),
        ("/api/v1/connections/{id}/reconnect", vec!["post"]),
        ("/api/v1/connections/{id}/request", vec!["post"]),
        ("/api/v1/keys", vec!["get", "post"]),
        ("/api/v1/keys/{id}", vec!["delete"]),
    ];
    for (path, methods) in expected {
        let item = paths.get(path).unwrap_or_else(|| panic!("{path} is missing from {:?}", paths.keys()));
        for method in methods {
            assert!(item.get(method).is_some(), "{method} {path} is missing");
        }
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let input = &schemas["IntegrationInput"]["properties"];
    for field in ["name", "client_secret", "token_path", "use_body_auth", "scopes"] {
        assert!(input.get(field).is_some(), "IntegrationInput.{field} is documented: {input}");
    }
    let view = &schemas["IntegrationView"]["properties"];
    assert!(view.get("client_secret").is_none() && view.get("has_client_secret").is_some(), "{view}");
    assert!(doc["components"]["securitySchemes"]["api_key"]["scheme"].as_str().is_some_and(|s| s == "bearer"));
}

/// Keeps the document exact as routes are added: a `{param}` in a path is declared by every
/// operation on it, and every authenticated operation documents the 401 its extractor answers.
async fn every_operation_declares_its_path_params_and_its_401(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let doc = api.get("/api/v1/openapi.json").await;
    let paths = doc["paths"].as_object().expect("paths");
    let mut problems = Vec::new();
    for (path, item) in paths {
        let placeholders: Vec<&str> = path.split('{').skip(1).filter_map(|rest| rest.split('}').next()).collect();
        for (method, operation) in item.as_object().expect("path item") {
            let declared: Vec<&str> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            for name in &placeholders {
                if !declared.contains(name) {
                    problems.push(format!("{method} {path} does not declare the path parameter `{name}`"));
                }
            }
            for name in &declared {
                if !placeholders.contains(name) {
                    problems.push(format!("{method} {path} declares `{name}`, which is not in its path"));
                }
            }
            if path.starts_with("/api/v1/") && operation["responses"].get("401").is_none() {
                problems.push(format!("{method} {path} does not document 401"));
            }
        }
    }
    assert!(problems.is_empty(), "openapi.json is not exact:\n{}", problems.join("\n"));
}

/// The API's routes are registered under their full paths, with one fallback for the whole
/// application: a path under `/api/v1` that no route matches still answers in the API's error
/// shape, naming the path, and any other unknown path gets a bare 404.
async fn a_path_no_route_matches_answers_in_the_api_shape_only_under_the_api(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    for path in ["/api/v1/connections/", "/api/v1", "/api/v1/", "/api/v1/no/such/thing"] {
        let reply = api.request(Method::GET, path, None, None).await;
        let (code, _, message) = reply.error(404);
        assert_eq!(code, "not_found", "{path}");
        assert!(message.contains(&format!("`{path}`")) && message.contains("openapi.json"), "{path}: {message}");
    }
    for path in ["/api/v1x", "/nowhere"] {
        let reply = api.request(Method::GET, path, None, None).await;
        assert_eq!((reply.status, reply.text.as_str()), (404, ""), "{path}");
    }
    let wrong_method = api.request(Method::GET, "/api/v1/connections/con_1/request", None, None).await;
    assert_eq!(wrong_method.status, 405, "a known path keeps its 405: {}", wrong_method.text);
}
