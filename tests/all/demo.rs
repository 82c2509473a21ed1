//! `keyway demo` runs every step and prints no secret.

#[tokio::test]
async fn the_demo_completes_every_step_without_printing_secrets() {
    let mut out = Vec::new();
    keyway::demo::run(&mut out, keyway::demo::DemoArgs::default()).await.expect("the demo succeeds");
    let printed = String::from_utf8(out).unwrap();
    assert!(printed.contains("All 10 steps succeeded."), "{printed}");
    for step in ["Authorize", "token request", "Web API call", "custom action", "Refresh", "Disconnect"] {
        assert!(printed.contains(step), "missing step {step}: {printed}");
    }
    for call in ["POST /api/projects/apollo/reports -> 200", "PUT /api/projects/apollo/reports/labels -> 200"] {
        assert!(printed.contains(call), "the action's calls are listed: {printed}");
    }
    assert!(printed.contains(r#""labels":["urgent","ops"]"#), "the action's output: {printed}");
    let config = keyway_mock_provider::MockConfig::default();
    assert!(!printed.contains(&config.client_secret), "client secret printed");
    assert!(printed.contains("authorization: Basic [redacted]"), "{printed}");
    // Everything the mock issues has a recognisable prefix; none may appear.
    for prefix in ["mock-code-", "mock-at-", "mock-rt-"] {
        assert!(!printed.contains(prefix), "a `{prefix}` secret was printed: {printed}");
    }
}
