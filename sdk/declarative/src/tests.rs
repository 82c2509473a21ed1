//! Behaviour an admin or a caller would notice: what a definition sends, what it returns, and
//! the errors it gives. The API is a fake closure that records requests and answers from a
//! script.

use std::collections::VecDeque;

use serde_json::{Value, json};

use crate::{Definition, DefinitionError, RunError, StepRequest, StepResponse, run};

/// A fake API: answers each request with the next scripted response and records the requests.
struct FakeApi {
    responses: VecDeque<Result<StepResponse, String>>,
    requests: Vec<StepRequest>,
}

impl FakeApi {
    fn new(responses: Vec<Result<StepResponse, String>>) -> Self {
        FakeApi { responses: responses.into(), requests: Vec::new() }
    }

    fn send(&mut self, request: StepRequest) -> Result<StepResponse, String> {
        self.requests.push(request);
        self.responses.pop_front().expect("the test scripted a response for every request")
    }

    fn body(&self, n: usize) -> Value {
        serde_json::from_slice(self.requests[n].body.as_deref().expect("a body")).unwrap()
    }
}

fn json_response(status: u16, body: Value) -> Result<StepResponse, String> {
    Ok(StepResponse {
        status,
        headers: vec![("Content-Type".into(), "application/json; charset=utf-8".into())],
        body: body.to_string().into_bytes(),
    })
}

fn definition(value: Value) -> Definition {
    Definition::from_value(value).unwrap_or_else(|e| panic!("the test definition is valid: {e}"))
}

fn one_step(body: Value) -> Definition {
    definition(json!({"name": "t", "steps": [{"name": "s", "method": "POST", "path": "/x", "body": body}]}))
}

/// Runs a one-step definition whose body is `body` with `input`; returns the JSON body sent.
fn sent_body(body: Value, input: Value) -> Value {
    let mut api = FakeApi::new(vec![json_response(200, json!({}))]);
    run(&one_step(body), &input, |r| api.send(r)).unwrap();
    api.body(0)
}

fn refused(value: Value) -> DefinitionError {
    Definition::from_value(value).expect_err("the definition should be refused")
}

#[test]
fn an_exact_template_keeps_the_json_type() {
    let input =
        json!({"count": 3, "ratio": 0.5, "draft": true, "labels": ["bug", "ui"], "owner": {"id": 7}, "none": null});
    let sent = sent_body(
        json!({
            "count": "{{ input.count }}",
            "ratio": "{{input.ratio}}",
            "draft": "  {{ input.draft }} ",
            "labels": "{{ input.labels }}",
            "owner": "{{ input.owner }}",
            "none": "{{ input.none }}",
            "computed": "{{ input.count * 2 }}",
            "length": "{{ input.labels | length }}",
        }),
        input,
    );
    assert_eq!(
        sent,
        json!({
            "count": 3, "ratio": 0.5, "draft": true, "labels": ["bug", "ui"], "owner": {"id": 7}, "none": null,
            "computed": 6, "length": 2,
        })
    );
}

#[test]
fn templates_inside_longer_strings_render_as_text() {
    let input = json!({"title": "Crash", "count": 3, "labels": ["a", "b"], "flag": false});
    let sent = sent_body(
        json!({
            "title": "[bug] {{ input.title }}",
            "summary": "{{ input.count }} items: {{ input.labels | join(', ') }}",
            "list": "labels={{ input.labels }} flag={{ input.flag }}",
            "block": "{% if input.count > 2 %}many{% else %}few{% endif %}",
            "untouched": "no template here, not even {# this #}",
            "nested": [{"deep": "#{{ input.count }}"}],
            "number": 12,
            "trailing": "Title: {{ input.title }}\n",
        }),
        input,
    );
    assert_eq!(
        sent,
        json!({
            "title": "[bug] Crash",
            "summary": "3 items: a, b",
            "list": "labels=[\"a\",\"b\"] flag=false",
            "block": "many",
            "untouched": "no template here, not even {# this #}",
            "nested": [{"deep": "#3"}],
            "number": 12,
            "trailing": "Title: Crash\n",
        })
    );
}

#[test]
fn a_three_step_chain_uses_earlier_responses() {
    let definition = Definition::parse(
        r#"{
            "name": "file-bug",
            "description": "Look up a repository, open an issue, comment on it",
            "input_schema": {"type": "object", "required": ["owner", "repo", "title"]},
            "steps": [
                {"name": "lookup", "method": "get", "path": "/repos/{{ input.owner }}/{{ input.repo }}"},
                {
                    "name": "create",
                    "method": "POST",
                    "path": "/repos/{{ steps.lookup.body.full_name }}/issues",
                    "headers": {"X-Request-Id": "{{ input.request_id }}"},
                    "body": {"title": "{{ input.title }}", "labels": "{{ input.labels }}"}
                },
                {
                    "name": "comment",
                    "method": "POST",
                    "path": "/repos/{{ steps.lookup.body.full_name }}/issues/{{ steps.create.body.number }}/comments",
                    "body": {"body": "Filed automatically (status {{ steps.create.status }})"}
                }
            ],
            "output": {
                "number": "{{ steps.create.body.number }}",
                "url": "{{ steps.create.body.html_url }}",
                "comment_id": "{{ steps.comment.body.id }}",
                "etag": "{{ steps.lookup.headers.etag }}"
            }
        }"#,
    )
    .unwrap();
    let mut api = FakeApi::new(vec![
        Ok(StepResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into()), ("ETag".into(), "\"abc\"".into())],
            body: br#"{"id": 1, "full_name": "octo/hello"}"#.to_vec(),
        }),
        json_response(201, json!({"number": 42, "html_url": "https://example.test/octo/hello/issues/42"})),
        json_response(201, json!({"id": 900})),
    ]);
    let input = json!({"owner": "octo", "repo": "hello", "title": "It broke", "labels": ["bug"], "request_id": 17});
    let output = run(&definition, &input, |r| api.send(r)).unwrap();

    assert_eq!(
        output,
        json!({"number": 42, "url": "https://example.test/octo/hello/issues/42", "comment_id": 900, "etag": "\"abc\""})
    );
    let calls: Vec<(&str, &str)> = api.requests.iter().map(|r| (r.method.as_str(), r.path.as_str())).collect();
    assert_eq!(
        calls,
        [
            ("GET", "/repos/octo/hello"),
            ("POST", "/repos/octo/hello/issues"),
            ("POST", "/repos/octo/hello/issues/42/comments")
        ]
    );
    assert_eq!(api.requests[0].body, None);
    assert!(api.requests[0].headers.is_empty(), "a GET without a body gets no Content-Type");
    assert_eq!(api.body(1), json!({"title": "It broke", "labels": ["bug"]}));
    // A header value that evaluates to a number is sent as its JSON text.
    assert_eq!(
        api.requests[1].headers,
        [("X-Request-Id".to_string(), "17".to_string()), ("Content-Type".to_string(), "application/json".to_string())]
    );
    assert_eq!(api.body(2), json!({"body": "Filed automatically (status 201)"}));
}

#[test]
fn without_an_output_template_the_last_body_is_returned() {
    let definition = definition(json!({
        "name": "two",
        "steps": [
            {"name": "a", "method": "GET", "path": "/a"},
            {"name": "b", "method": "GET", "path": "/b"}
        ]
    }));
    let mut api = FakeApi::new(vec![
        json_response(200, json!({"first": true})),
        Ok(StepResponse { status: 200, headers: vec![], body: br#"{"second": [1, 2]}"#.to_vec() }),
    ]);
    assert_eq!(run(&definition, &json!({}), |r| api.send(r)).unwrap(), json!({"second": [1, 2]}));
}

#[test]
fn response_bodies_are_json_text_or_null() {
    let definition = definition(json!({
        "name": "bodies",
        "steps": [
            {"name": "text", "method": "GET", "path": "/t"},
            {"name": "empty", "method": "DELETE", "path": "/e"}
        ],
        "output": {"text": "{{ steps.text.body }}", "empty": "{{ steps.empty.body }}", "status": "{{ steps.empty.status }}"}
    }));
    let mut api = FakeApi::new(vec![
        Ok(StepResponse {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: b"{\"not\": \"parsed\"}".to_vec(),
        }),
        Ok(StepResponse { status: 204, headers: vec![], body: Vec::new() }),
    ]);
    assert_eq!(
        run(&definition, &json!({}), |r| api.send(r)).unwrap(),
        json!({"text": "{\"not\": \"parsed\"}", "empty": null, "status": 204})
    );
}

#[test]
fn query_values_are_sent_as_text_and_null_leaves_them_out() {
    // Parsed from text: a JSON object's order is the order the parameters are sent in.
    let definition = Definition::parse(
        r#"{
            "name": "list",
            "steps": [{
                "name": "list",
                "method": "GET",
                "path": "/issues",
                "query": {
                    "per_page": "{{ input.per_page }}",
                    "page": 2,
                    "state": "open",
                    "all": "{{ input.all }}",
                    "labels": "{{ input.labels | join(',') }}",
                    "since": "{{ input.since | default(none) }}",
                    "ids": "{{ input.ids }}"
                }
            }]
        }"#,
    )
    .unwrap();
    let mut api = FakeApi::new(vec![json_response(200, json!([]))]);
    let input = json!({"per_page": 3, "all": true, "labels": ["a", "b"], "ids": [1, 2]});
    run(&definition, &input, |r| api.send(r)).unwrap();
    let query: Vec<(&str, &str)> = api.requests[0].query.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(
        query,
        [("per_page", "3"), ("page", "2"), ("state", "open"), ("all", "true"), ("labels", "a,b"), ("ids", "[1,2]")]
    );
}

#[test]
fn a_step_keeps_its_own_content_type() {
    let definition = definition(json!({
        "name": "merge",
        "steps": [{
            "name": "patch",
            "method": "patch",
            "path": "/items/1",
            "headers": {"content-type": "application/merge-patch+json"},
            "body": {"done": true}
        }]
    }));
    assert_eq!(definition.steps[0].method, "PATCH", "parse normalises the method");
    let mut api = FakeApi::new(vec![json_response(200, json!({}))]);
    run(&definition, &json!({}), |r| api.send(r)).unwrap();
    assert_eq!(api.requests[0].headers, [("content-type".to_string(), "application/merge-patch+json".to_string())]);
}

#[test]
fn a_missing_value_names_the_step_the_field_and_what_exists() {
    let definition = definition(json!({
        "name": "typo",
        "steps": [
            {"name": "lookup", "method": "GET", "path": "/repos/o/r"},
            {"name": "create", "method": "POST", "path": "/issues", "body": {"title": "{{ steps.lookup.body.nme }}"}}
        ]
    }));
    let mut api = FakeApi::new(vec![json_response(200, json!({"id": 1, "name": "r"}))]);
    let err = run(&definition, &json!({}), |r| api.send(r)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "step \"create\", body.title: {{ steps.lookup.body.nme }} is undefined (steps.lookup.body has keys: id, name)"
    );
    assert!(!err.concerns_input());
    assert_eq!(api.requests.len(), 1, "the failing step is never sent");
}

#[test]
fn a_missing_input_value_is_the_input_s_fault() {
    let definition = one_step(json!({"labels": ["fixed", "{{ input.extra.label }}"]}));
    let err = run(&definition, &json!({"title": "t"}), |_| panic!("nothing is sent")).unwrap_err();
    assert_eq!(err.to_string(), "step \"s\", body.labels[1]: {{ input.extra }} is undefined (input has keys: title)");
    assert!(err.concerns_input());

    // In text, too; and a missing value is never printed as an empty string.
    let definition = one_step(json!({"title": "Bug: {{ input.titel }}"}));
    let err = run(&definition, &json!({"title": "t"}), |_| panic!("nothing is sent")).unwrap_err();
    assert_eq!(err.to_string(), "step \"s\", body.title: {{ input.titel }} is undefined (input has keys: title)");
    assert!(err.concerns_input());

    // A missing input that is only tested is not blamed for another value's absence.
    let definition = one_step(json!({"t": "{% if input.draft %}draft{% endif %}{{ input.title.nope }}"}));
    let err = run(&definition, &json!({"title": {"x": 1}}), |_| panic!("nothing is sent")).unwrap_err();
    assert_eq!(err.to_string(), "step \"s\", body.t: {{ input.title.nope }} is undefined (input.title has keys: x)");

    // `if` on a missing input is how optional inputs are written: it is false, not an error.
    assert_eq!(
        sent_body(json!({"t": "{% if input.draft %}draft{% else %}final{% endif %}"}), json!({})),
        json!({"t": "final"})
    );
}

#[test]
fn a_missing_value_in_the_output_names_the_output_field() {
    let mut definition = one_step(json!({}));
    definition.output = Some(json!({"result": {"url": "{{ steps.s.body.html_url }}"}}));
    let mut api = FakeApi::new(vec![json_response(200, json!({"items": []}))]);
    let err = run(&definition, &json!({}), |r| api.send(r)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "output.result.url: {{ steps.s.body.html_url }} is undefined (steps.s.body has keys: items)"
    );
}

#[test]
fn an_undefined_variable_says_what_templates_can_use() {
    let definition = one_step(json!({"x": "{{ inptu.title }}"}));
    let err = run(&definition, &json!({}), |_| panic!("nothing is sent")).unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("step \"s\", body.x: `{{ inptu.title }}` uses an undefined value"), "{message}");
    assert!(message.contains("steps.NAME.body"), "{message}");
}

#[test]
fn a_non_2xx_response_fails_with_the_start_of_its_body() {
    let definition = definition(json!({
        "name": "fails",
        "steps": [
            {"name": "create", "method": "POST", "path": "/issues", "body": {}},
            {"name": "never", "method": "GET", "path": "/never"}
        ]
    }));
    let long = "x".repeat(300);
    let mut api = FakeApi::new(vec![json_response(422, json!({"message": long}))]);
    let err = run(&definition, &json!({}), |r| api.send(r)).unwrap_err();
    let RunError::Status { step, status, body } = &err else { panic!("{err:?}") };
    assert_eq!((step.as_str(), *status), ("create", 422));
    assert_eq!(body.chars().count(), 201, "200 characters and an ellipsis");
    assert!(err.to_string().starts_with("step \"create\" got HTTP 422: {\"message\":\"xxx"), "{err}");
    assert_eq!(api.requests.len(), 1, "later steps do not run");
}

#[test]
fn a_transport_error_names_the_step() {
    let definition = one_step(json!({}));
    let err = run(&definition, &json!({}), |_| Err("over the host's call limit: 50 calls".into())).unwrap_err();
    assert_eq!(err.to_string(), "step \"s\" failed: over the host's call limit: 50 calls");
}

#[test]
fn a_path_that_renders_to_a_non_path_is_refused_before_sending() {
    let definition = definition(json!({
        "name": "p", "steps": [{"name": "s", "method": "GET", "path": "{{ input.where }}"}]
    }));
    let err = run(&definition, &json!({"where": "repos/x"}), |_| panic!("nothing is sent")).unwrap_err();
    assert!(matches!(err, RunError::Request { .. }), "{err:?}");
    assert!(err.to_string().starts_with("step \"s\", path: the path rendered to \"repos/x\""), "{err}");
}

#[test]
fn a_syntax_error_is_refused_with_its_position() {
    let err = refused(json!({
        "name": "bad",
        "steps": [
            {"name": "first", "method": "GET", "path": "/ok"},
            {"name": "create", "method": "POST", "path": "/x", "body": {"labels": ["ok", "{{ input.label | }}"]}}
        ]
    }));
    let DefinitionError::Template { at, line, column, message } = &err else { panic!("{err:?}") };
    assert_eq!(at.field, "body.labels[1]");
    assert_eq!(at.step.as_ref().map(|s| (s.index, s.name.as_str())), Some((1, "create")));
    // The column of the `|` that has no filter after it.
    assert_eq!((*line, *column), (1, 16));
    assert!(message.starts_with("syntax error: "), "{message}");
    assert_eq!(err.field().as_deref(), Some("steps[1].body.labels[1]"));
    assert!(
        err.to_string().starts_with(
            "step \"create\", body.labels[1]: the template has an error at line 1, column 16: syntax error"
        ),
        "{err}"
    );

    // A multi-line text template: the line and column are within the string.
    let err = refused(json!({
        "name": "bad",
        "steps": [{"name": "s", "method": "GET", "path": "/x", "query": {"per_page": "{{ input.n }}\n  {% if %}"}}]
    }));
    let DefinitionError::Template { at, line, column, .. } = &err else { panic!("{err:?}") };
    assert_eq!((at.field.as_str(), *line, *column), ("query.per_page", 2, 9), "{err}");

    // And in the output.
    let err = refused(json!({
        "name": "bad",
        "steps": [{"name": "s", "method": "GET", "path": "/x"}],
        "output": {"url": "{{ steps.s.body.url "}
    }));
    assert_eq!(err.field().as_deref(), Some("output.url"), "{err}");
    assert!(err.to_string().starts_with("output.url: the template has an error at line 1, column"), "{err}");
}

#[test]
fn duplicate_step_names_are_refused() {
    let err = refused(json!({
        "name": "dup",
        "steps": [
            {"name": "get", "method": "GET", "path": "/a"},
            {"name": "get", "method": "GET", "path": "/b"}
        ]
    }));
    assert_eq!(err.field().as_deref(), Some("steps[1].name"));
    assert_eq!(
        err.to_string(),
        "step \"get\", name: steps[0] is also named `get`; step names must be unique, so rename one"
    );
}

#[test]
fn bad_names_methods_and_paths_are_refused_with_what_to_use() {
    let step = |name: &str, method: &str, path: &str| json!({"name": name, "method": method, "path": path});
    let with = |name: &str, steps: Value| refused(json!({"name": name, "steps": steps}));

    let err = with("ok", json!([step("s", "FETCH", "/x")]));
    assert_eq!(err.field().as_deref(), Some("steps[0].method"));
    assert_eq!(
        err.to_string(),
        "step \"s\", method: \"FETCH\" is not a method a step can use; use one of GET, POST, PUT, PATCH, DELETE, HEAD"
    );

    let err = with("Create_Issue", json!([step("s", "GET", "/x")]));
    assert_eq!(err.field().as_deref(), Some("name"));
    assert!(err.to_string().contains("lowercase letters, digits and dashes"), "{err}");
    assert!(matches!(with(&"a".repeat(65), json!([step("s", "GET", "/x")])), DefinitionError::Invalid { .. }));

    let err = with("ok", json!([step("2nd-step", "GET", "/x")]));
    assert_eq!(err.field().as_deref(), Some("steps[0].name"));
    assert!(err.to_string().contains("letters, digits and underscores"), "{err}");

    let err = with("ok", json!([step("s", "GET", "repos/x")]));
    assert_eq!(err.field().as_deref(), Some("steps[0].path"));
    assert!(err.to_string().contains("must start with `/`"), "{err}");
    let err = with("ok", json!([step("s", "GET", "repos/{{ input.x }}")]));
    assert_eq!(err.field().as_deref(), Some("steps[0].path"));
    // Paths that can still become valid once rendered are accepted.
    for path in ["{{ input.url }}", "https://api.example.test/x", "https://{{ input.host }}/x", "/{{ input.p }}"] {
        definition(json!({"name": "ok", "steps": [step("s", "get", path)]}));
    }

    let err = with("ok", json!([]));
    assert_eq!(err.to_string(), "steps: a definition needs at least one step: add an API call to `steps`");
    let many: Vec<Value> = (0..51).map(|i| step(&format!("s{i}"), "GET", "/x")).collect();
    assert!(with("ok", json!(many)).to_string().contains("at most 50"));
}

#[test]
fn unknown_fields_and_wrong_types_are_refused_with_their_position() {
    let err = Definition::parse(
        r#"{
  "name": "typo",
  "steps": [{"name": "s", "method": "GET", "path": "/x", "bdy": {}}]
}"#,
    )
    .unwrap_err();
    let DefinitionError::Json { message, line, .. } = &err else { panic!("{err:?}") };
    assert!(message.starts_with("unknown field `bdy`, expected one of"), "{message}");
    assert_eq!(*line, 3);
    assert!(err.to_string().contains("(line 3, column"), "{err}");

    let err = refused(json!({"name": "t", "steps": [{"name": "s", "method": "GET", "path": "/x"}], "outputs": {}}));
    assert!(err.to_string().contains("unknown field `outputs`"), "{err}");

    let err =
        refused(json!({"name": "t", "steps": [{"name": "s", "method": "GET", "path": "/x", "query": {"a": [1]}}]}));
    assert_eq!(err.field().as_deref(), Some("steps[0].query.a"), "{err}");

    let err = refused(
        json!({"name": "t", "input_schema": "object", "steps": [{"name": "s", "method": "GET", "path": "/x"}]}),
    );
    assert_eq!(err.field().as_deref(), Some("input_schema"), "{err}");
}

#[test]
fn templates_may_read_only_earlier_steps_and_their_parts() {
    let err = refused(json!({
        "name": "order",
        "steps": [
            {"name": "first", "method": "GET", "path": "/a/{{ steps.second.body.id }}"},
            {"name": "second", "method": "GET", "path": "/b"}
        ]
    }));
    assert_eq!(err.field().as_deref(), Some("steps[0].path"));
    assert!(err.to_string().contains("reads `steps.second`, but no step runs before this one"), "{err}");

    let err = refused(json!({
        "name": "parts",
        "steps": [
            {"name": "first", "method": "GET", "path": "/a"},
            {"name": "second", "method": "GET", "path": "/b", "query": {"id": "{{ steps.first.bdy.id }}"}}
        ]
    }));
    assert_eq!(err.field().as_deref(), Some("steps[1].query.id"));
    assert!(err.to_string().contains("`steps.first.bdy`, but a step's result has only"), "{err}");

    // The output may read every step.
    definition(json!({
        "name": "ok",
        "steps": [{"name": "a", "method": "GET", "path": "/a"}, {"name": "b", "method": "GET", "path": "/b"}],
        "output": ["{{ steps.a.status }}", "{{ steps.b.headers['x-total'] }}"]
    }));
}

#[test]
fn defaults_and_round_trip() {
    let parsed = Definition::parse(
        r#"{"name": "d", "steps": [{"name": "s", "method": "get", "path": "/x", "query": {"b": "1", "a": "2"}}]}"#,
    )
    .unwrap();
    assert_eq!(parsed.description, "");
    assert_eq!(parsed.input_schema, json!({"type": "object"}));
    assert_eq!(parsed.output_schema, None);
    assert_eq!(parsed.output, None);
    let names: Vec<&str> = parsed.steps[0].query.iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["b", "a"], "query parameters keep the order they are written in");
    let text = serde_json::to_string(&parsed).unwrap();
    assert_eq!(Definition::parse(&text).unwrap(), parsed);
}

#[test]
fn the_documented_example_runs() {
    let definition = Definition::parse(include_str!("../examples/github-file-issue.json")).unwrap();
    let mut api = FakeApi::new(vec![
        json_response(200, json!({"id": 1, "full_name": "octo/hello world", "default_branch": "main"})),
        json_response(201, json!({"number": 7, "html_url": "https://github.example/octo/hello/issues/7"})),
        json_response(201, json!({"id": 31})),
    ]);
    let input = json!({"owner": "octo", "repo": "hello world", "title": "Crash on start", "labels": ["bug"]});
    let output = run(&definition, &input, |r| api.send(r)).unwrap();
    assert_eq!(output, json!({"number": 7, "url": "https://github.example/octo/hello/issues/7", "comment_id": 31}));
    assert_eq!(api.requests[0].path, "/repos/octo/hello%20world");
    assert_eq!(
        api.body(1),
        json!({"title": "Crash on start", "body": "Filed by Keyway", "labels": ["bug"], "assignees": []})
    );
    assert_eq!(api.requests[2].path, "/repos/octo/hello world/issues/7/comments");
    assert_eq!(api.body(2), json!({"body": "Opened in octo/hello world (default branch main)."}));

    // With the optional inputs given.
    let mut api = FakeApi::new(vec![
        json_response(200, json!({"full_name": "octo/hello", "default_branch": "main"})),
        json_response(201, json!({"number": 8, "html_url": "u"})),
        json_response(201, json!({"id": 32})),
    ]);
    let input = json!({"owner": "octo", "repo": "hello", "title": "t", "body": "b", "assignee": "me"});
    run(&definition, &input, |r| api.send(r)).unwrap();
    assert_eq!(api.body(1), json!({"title": "t", "body": "b", "labels": [], "assignees": ["me"]}));
}
