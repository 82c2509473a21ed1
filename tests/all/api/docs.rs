//! The generated OpenAPI document and the health check.

use reqwest::Method;

use super::{Api, Backend, both_backends};

both_backends!(openapi_lists_every_path_and_healthz_answers);

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
