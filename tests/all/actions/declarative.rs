//! Declarative actions: saved as JSON, checked at save time, run step by step with templates.

use reqwest::Method;
use serde_json::{Value, json};

use super::{connected, run, save, statuses};
use crate::api::{Api, Backend, both_backends};

both_backends!(
    a_three_step_action_uses_earlier_responses,
    definitions_are_listed_replaced_and_deleted,
    a_bad_template_is_refused_at_save_with_its_position,
    bad_definitions_are_refused_with_what_to_fix,
    input_that_breaks_the_schema_is_refused_naming_the_field,
    a_missing_value_at_run_time_names_the_step_and_the_path,
    query_and_headers_are_sent_in_the_order_written,
);

/// Three calls on the mock's echo API; each step reads what the one before it answered.
fn three_steps() -> Value {
    json!({
        "name": "tag-thing",
        "description": "Creates a thing, tags it, and reads it back",
        "input_schema": {
            "type": "object",
            "required": ["name", "count"],
            "properties": {"name": {"type": "string"}, "count": {"type": "integer"}, "tags": {"type": "array"}},
            "additionalProperties": false
        },
        "output_schema": {
            "type": "object",
            "required": ["name", "count", "tags", "path"],
            "properties": {"count": {"type": "integer"}, "tags": {"type": "array"}}
        },
        "steps": [
            {"name": "create", "method": "POST", "path": "/api/things", "body": {"name": "{{ input.name }}"}},
            {
                "name": "tag",
                "method": "put",
                "path": "/api/things/{{ steps.create.body.body.name }}/tags",
                "query": {"notify": "{{ input.count > 1 }}"},
                "body": {"count": "{{ input.count }}", "tags": "{{ input.tags }}", "note": "for {{ input.name }}"}
            },
            {"name": "fetch", "method": "GET", "path": "{{ steps.tag.body.path }}"}
        ],
        "output": {
            "name": "{{ steps.create.body.body.name }}",
            "count": "{{ steps.tag.body.body.count }}",
            "tags": "{{ steps.tag.body.body.tags }}",
            "note": "{{ steps.tag.body.body.note }}",
            "notify": "{{ steps.tag.body.query.notify }}",
            "path": "{{ steps.fetch.body.path }}"
        }
    })
}

async fn a_three_step_action_uses_earlier_responses(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let (integration, connection) = connected(&api).await;
    save(&api, &integration, three_steps()).await.expect(201);

    let outcome = run(&api, &connection, "tag-thing", json!({"name": "widget", "count": 3, "tags": ["a", "b"]}))
        .await
        .expect(200);
    assert_eq!(
        outcome["output"],
        json!({
            "name": "widget",
            "count": 3,
            "tags": ["a", "b"],
            "note": "for widget",
            "notify": "true",
            "path": "/api/things/widget/tags"
        }),
        "exact templates keep their JSON type; text templates render as text"
    );
    let calls = outcome["calls"].as_array().unwrap();
    let summary: Vec<(Value, Value)> = calls.iter().map(|c| (c["method"].clone(), c["path"].clone())).collect();
    assert_eq!(
        summary,
        [
            (json!("POST"), json!("/api/things")),
            (json!("PUT"), json!("/api/things/widget/tags")),
            (json!("GET"), json!("/api/things/widget/tags")),
        ]
    );
    assert_eq!(statuses(&outcome), [json!(200), json!(200), json!(200)]);
    assert!(calls.iter().all(|c| c["duration_ms"].is_u64()), "{outcome}");

    // What the provider received: the token attached by the host, the JSON bodies as templated.
    let requests = api.mock.requests_to("/api/things/widget/tags");
    assert_eq!(requests.len(), 2, "the PUT and the GET");
    let put = &requests[0];
    assert_eq!(put.method, "PUT");
    assert_eq!(serde_json::from_slice::<Value>(&put.body).unwrap()["count"], json!(3));
    assert!(put.header("authorization").is_some_and(|v| v.starts_with("Bearer mock-at-")), "{put:?}");
    assert!(put.header("content-type").is_some_and(|v| v.starts_with("application/json")), "{put:?}");
}

async fn definitions_are_listed_replaced_and_deleted(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let (integration, _) = connected(&api).await;
    let actions = format!("/api/v1/integrations/{integration}/actions");
    let listed = async |api: &Api| api.admin(Method::GET, &actions, None).await.expect(200)["items"].clone();
    assert_eq!(listed(&api).await, json!([]), "the standard plugin has no actions of its own");

    let saved = save(&api, &integration, three_steps()).await.expect(201);
    assert_eq!(saved["kind"], "declarative");
    assert_eq!(saved["input_schema"]["required"], json!(["name", "count"]));
    let items = listed(&api).await;
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(items[0]["name"], "tag-thing");
    assert_eq!(items[0]["definition"]["steps"].as_array().unwrap().len(), 3);

    let (error, _, message) = save(&api, &integration, three_steps()).await.error(409);
    assert_eq!(error, "conflict");
    assert!(message.contains("already has an action named `tag-thing`"), "{message}");

    // PUT replaces; a member may list and run but not define.
    let mut replaced = three_steps();
    replaced["description"] = json!("Replaced");
    let path = format!("/api/v1/integrations/{integration}/actions/tag-thing");
    assert_eq!(api.admin(Method::PUT, &path, Some(replaced.clone())).await.expect(200)["description"], "Replaced");
    assert_eq!(listed(&api).await[0]["description"], "Replaced");
    let (_, member) = api.member_key("workflow").await;
    let refused = api.request(Method::PUT, &path, Some(&member), Some(replaced.clone())).await;
    assert_eq!(refused.error(403).0, "forbidden");
    let member_list = api.request(Method::GET, &actions, Some(&member), None).await.expect(200);
    assert_eq!(member_list["items"].as_array().unwrap().len(), 1);

    // The URL names the action: a body with another name is not a silent rename.
    let other = format!("/api/v1/integrations/{integration}/actions/other-name");
    let (_, _, message) = api.admin(Method::PUT, &other, Some(replaced)).await.error(400);
    assert!(message.contains("delete it and create it anew"), "{message}");

    api.admin(Method::DELETE, &path, None).await.expect(204);
    assert_eq!(listed(&api).await, json!([]));
    let (error, _, message) = api.admin(Method::DELETE, &path, None).await.error(404);
    assert_eq!(error, "not_found");
    assert!(message.contains("no declarative action `tag-thing`"), "{message}");
}

async fn a_bad_template_is_refused_at_save_with_its_position(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let mut definition = three_steps();
    definition["steps"][1]["body"]["note"] = json!("for {{ input.name ");
    let (error, _, message) = save(&api, &integration, definition).await.error(400);
    assert_eq!(error, "bad_request");
    assert!(message.contains("tag"), "names the step: {message}");
    assert!(message.contains("body.note"), "names the field: {message}");
    assert!(message.contains("column"), "gives the position: {message}");
    let listed = api.admin(Method::GET, &format!("/api/v1/integrations/{integration}/actions"), None).await;
    assert_eq!(listed.expect(200)["items"], json!([]), "nothing was saved");
}

async fn bad_definitions_are_refused_with_what_to_fix(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    let cases = [
        ("a typo in a field", json!({"name": "x", "stepz": []}), "stepz"),
        (
            "two steps of one name",
            json!({"name": "x", "steps": [
                {"name": "a", "method": "GET", "path": "/api/a"},
                {"name": "a", "method": "GET", "path": "/api/b"}
            ]}),
            "`a`",
        ),
        (
            "an unknown method",
            json!({"name": "x", "steps": [{"name": "a", "method": "FETCH", "path": "/api/a"}]}),
            "FETCH",
        ),
        (
            "an invalid input schema",
            json!({"name": "x", "input_schema": {"type": 12}, "steps": [
            {"name": "a", "method": "GET", "path": "/api/a"}]}),
            "input_schema",
        ),
        (
            "a bad action name",
            json!({"name": "Not Valid", "steps": [{"name": "a", "method": "GET", "path": "/api/a"}]}),
            "Not Valid",
        ),
    ];
    for (case, definition, mentions) in cases {
        let (error, _, message) = save(&api, &integration, definition).await.error(400);
        assert_eq!(error, "bad_request", "{case}");
        assert!(message.contains(mentions), "{case}: `{message}` does not mention `{mentions}`");
    }
    let (_, _, message) = save(&api, "int_missing", three_steps()).await.error(404);
    assert!(message.contains("int_missing"), "{message}");
}

async fn input_that_breaks_the_schema_is_refused_naming_the_field(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let (integration, connection) = connected(&api).await;
    save(&api, &integration, three_steps()).await.expect(201);
    api.mock.clear_requests();

    let (error, field, message) = run(&api, &connection, "tag-thing", json!({"count": 1})).await.error(400);
    assert_eq!(error, "invalid_field");
    assert_eq!(field.as_deref(), Some("input/name"));
    assert!(message.contains("\"name\" is a required property"), "{message}");

    let (_, field, message) = run(&api, &connection, "tag-thing", json!({"name": "w", "count": "3"})).await.error(400);
    assert_eq!(field.as_deref(), Some("input/count"));
    assert!(message.contains("integer"), "{message}");

    let (_, _, message) =
        run(&api, &connection, "tag-thing", json!({"name": "w", "count": 1, "x": 1})).await.error(400);
    assert!(message.contains("x"), "{message}");
    assert!(api.mock.requests().iter().all(|r| !r.path.starts_with("/api")), "nothing ran");

    let (error, _, message) = run(&api, &connection, "no-such-action", json!({})).await.error(404);
    assert_eq!(error, "not_found");
    assert!(message.contains("GET /api/v1/integrations/"), "says where to look: {message}");

    // Output that breaks the output schema is the action's fault: 502, saying which field.
    let mut wrong_output = three_steps();
    wrong_output["name"] = json!("wrong-output");
    wrong_output["output"]["count"] = json!("{{ steps.create.body.body.name }}");
    save(&api, &integration, wrong_output).await.expect(201);
    let (error, _, message) =
        run(&api, &connection, "wrong-output", json!({"name": "w", "count": 1, "tags": []})).await.error(502);
    assert_eq!(error, "upstream_error");
    assert!(message.contains("output schema") && message.contains("/count"), "{message}");
}

async fn a_missing_value_at_run_time_names_the_step_and_the_path(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let (integration, connection) = connected(&api).await;
    let definition = json!({
        "name": "broken-chain",
        "steps": [
            {"name": "create", "method": "POST", "path": "/api/things", "body": {"name": "x"}},
            {"name": "label", "method": "POST", "path": "/api/labels", "body": {"id": "{{ steps.create.body.idd }}"}}
        ]
    });
    save(&api, &integration, definition).await.expect(201);
    let reply = run(&api, &connection, "broken-chain", json!({})).await;
    assert!(reply.status == 502 || reply.status == 400, "{}: {}", reply.status, reply.text);
    let message = reply.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("label"), "names the step: {message}");
    assert!(message.contains("body.id"), "names the path: {message}");
    assert!(message.contains("steps.create.body.idd"), "names the missing value: {message}");
    assert_eq!(api.mock.requests_to("/api/labels").len(), 0, "the broken step was not sent");
}

async fn query_and_headers_are_sent_in_the_order_written(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let (integration, connection) = connected(&api).await;
    // Raw text: `json!` would sort the keys before the server ever saw them.
    let definition = r#"{
        "name": "ordered",
        "steps": [{
            "name": "search", "method": "GET", "path": "/api/search",
            "query": {"zeta": "z", "alpha": 1, "mid": "{{ 2 + 3 }}"},
            "headers": {"X-Zeta": "z", "X-Alpha": "a"}
        }]
    }"#;
    let response = keyway_tests::http::client()
        .post(format!("{}/api/v1/integrations/{integration}/actions", api.base))
        .bearer_auth(&api.admin_key)
        .header("content-type", "application/json")
        .body(definition)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201, "{}", response.text().await.unwrap());

    run(&api, &connection, "ordered", json!({})).await.expect(200);
    let sent = &api.mock.requests_to("/api/search")[0];
    let query: Vec<(&str, &str)> = sent.query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(query, [("zeta", "z"), ("alpha", "1"), ("mid", "5")], "in the order written, numbers as text");
    let custom: Vec<&str> = sent.headers.iter().filter(|(k, _)| k.starts_with("x-")).map(|(k, _)| k.as_str()).collect();
    assert_eq!(custom, ["x-zeta", "x-alpha"]);
}
