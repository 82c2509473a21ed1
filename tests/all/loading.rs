//! Loading checks a component before anything runs, with errors that say what is wrong.

use keyway::egress::{EgressClient, EgressConfig};
use keyway::engine::{API_VERSION, LoadError};
use keyway_tests::components::{GUEST_PROBE, GUEST_WRONG_SIGNATURE, GUEST_WRONG_WORLD, STANDARD_OAUTH2};

use crate::engine;

async fn try_load(bytes: &[u8]) -> Result<std::sync::Arc<keyway::engine::LoadedPlugin>, LoadError> {
    engine().await.load(bytes, &EgressClient::new(EgressConfig::default()).unwrap()).await
}

#[tokio::test]
async fn the_standard_component_declares_itself() {
    let plugin = try_load(STANDARD_OAUTH2).await.unwrap();
    assert_eq!(plugin.manifest.name, "standard-oauth2");
    assert_eq!(plugin.api_version, API_VERSION);
    assert_eq!(plugin.manifest.callback_code_param, "code");
    assert_eq!(plugin.manifest.callback_state_param, "state");
    assert!(plugin.manifest.actions.is_empty());
    assert_eq!(plugin.hash.len(), 64);
}

#[tokio::test]
async fn a_manifest_declares_hosts_and_inputs() {
    let plugin = try_load(GUEST_PROBE).await.unwrap();
    assert_eq!(plugin.manifest.hosts, ["http://declared.test"]);
    let input = &plugin.manifest.inputs[0];
    assert_eq!(input.name, "tenant");
    let ok = [("tenant".to_string(), "acme-1".to_string())];
    assert!(plugin.manifest.validate_inputs(&ok).is_ok());
    let bad = [("tenant".to_string(), "evil.example/".to_string())];
    let (field, message) = plugin.manifest.validate_inputs(&bad).unwrap_err();
    assert_eq!(field, "inputs.tenant");
    assert!(message.contains("must match"), "{message}");
}

/// The probe with its declared host `http://declared.test` rewritten to `host` (same length,
/// so the component stays valid).
fn probe_declaring(host: &str) -> Vec<u8> {
    let (from, to) = (b"http://declared.test".as_slice(), format!("http://{host}"));
    assert_eq!(from.len(), to.len(), "a same-length host keeps the component valid");
    let mut bytes = GUEST_PROBE.to_vec();
    let at = bytes.windows(from.len()).position(|w| w == from).expect("the probe declares its host");
    bytes[at..at + from.len()].copy_from_slice(to.as_bytes());
    bytes
}

#[tokio::test]
async fn a_manifest_host_is_a_host_or_the_leftmost_label_wildcard() {
    let plugin = try_load(&probe_declaring("*.clared.test")).await.unwrap();
    assert_eq!(plugin.manifest.hosts, ["http://*.clared.test"]);
    for bad in ["*eclared.test", "declared.*.ts", "*.eclaredtest", "*************"] {
        let err = try_load(&probe_declaring(bad)).await.err().unwrap_or_else(|| panic!("{bad} loaded"));
        let message = err.to_string();
        assert!(message.contains(&format!("`hosts` entry `http://{bad}`")), "{bad}: {message}");
        assert!(message.contains("*.example.com"), "the error shows the accepted form: {message}");
    }
}

#[tokio::test]
async fn malformed_bytes_get_a_clear_error() {
    let err = try_load(b"definitely not wasm").await.unwrap_err();
    assert!(matches!(err, LoadError::Malformed(_)), "{err}");
    assert!(err.to_string().contains("wasm32-wasip2"), "{err}");

    let mut truncated = STANDARD_OAUTH2[..STANDARD_OAUTH2.len() / 2].to_vec();
    truncated.extend_from_slice(b"garbage");
    let err = try_load(&truncated).await.unwrap_err();
    assert!(matches!(err, LoadError::Malformed(_)), "{err}");
}

#[tokio::test]
async fn a_component_of_another_world_is_refused_by_name() {
    let err = try_load(GUEST_WRONG_WORLD).await.unwrap_err();
    assert!(matches!(err, LoadError::WrongWorld(_)), "{err}");
    let message = err.to_string();
    assert!(message.contains("keyway:plugin/auth-flow@0.1.0"), "{message}");
    assert!(message.contains("run"), "names what it does export: {message}");
}

// Calls type-check only the hook they run, so the check of every hook's signature at load is
// what keeps a plugin of the right names and a wrong type from being installed.
#[tokio::test]
async fn a_hook_of_the_wrong_type_is_refused_at_load() {
    let err = try_load(GUEST_WRONG_SIGNATURE).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, LoadError::WrongWorld(_)), "{message}");
    assert!(message.contains("expected `string` found `u32`"), "says what differs: {message}");
    assert!(message.contains("`auth-flow.api-base`"), "names the hook: {message}");
    assert!(message.contains("keyway plugin build"), "says how to fix it: {message}");
}

// The guest's WIT is a copy of the plugin API with one type changed; it must stay that, or the
// test above would check some other mismatch (or none) once the API moves on.
#[test]
fn the_wrong_signature_guest_differs_from_the_plugin_api_in_api_base_only() {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace");
    let read = |path: &str| std::fs::read_to_string(workspace.join(path)).expect(path);
    let api = read("wit/plugin.wit");
    let copy = read("tests/guests/guest-wrong-signature/wit/plugin.wit");
    let right = "api-base: func(ctx: hook-context) -> result<string, auth-error>;";
    let wrong = "api-base: func(ctx: hook-context) -> result<u32, auth-error>;";
    assert_eq!(api.matches(right).count(), 1, "wit/plugin.wit no longer declares `{right}`");
    assert_eq!(
        copy,
        api.replace(right, wrong),
        "copy wit/plugin.wit to tests/guests/guest-wrong-signature/wit/ again, changing only `api-base` to return `u32`"
    );
}

#[tokio::test]
async fn another_api_version_is_refused_before_instantiation() {
    let bytes = crate::with_api_version(STANDARD_OAUTH2, "0.9.0");
    let err = try_load(&bytes).await.unwrap_err();
    assert!(matches!(err, LoadError::UnsupportedApiVersion { ref found } if found == "0.9.0"), "{err}");
    assert!(err.to_string().contains("rebuild it"), "{err}");
}

/// `bytes` with the first function body of its first core module overwritten: the component still
/// parses, and its names are untouched, but compiling it fails validation.
fn with_a_broken_function_body(bytes: &[u8]) -> Vec<u8> {
    let body = wasmparser::Parser::new(0)
        .parse_all(bytes)
        .find_map(|payload| match payload.unwrap() {
            wasmparser::Payload::CodeSectionEntry(body) => Some(body.range()),
            _ => None,
        })
        .expect("the component has a function");
    let mut out = bytes.to_vec();
    out[body].fill(0xff);
    out
}

#[tokio::test]
async fn another_api_version_is_refused_without_compiling() {
    // Compiling the broken body fails: that is how a compile shows.
    let broken = with_a_broken_function_body(STANDARD_OAUTH2);
    let err = try_load(&broken).await.unwrap_err();
    assert!(matches!(err, LoadError::Malformed(_)), "compiling the broken body fails: {err}");
    // For another version the same bytes are refused by name, so the body was never compiled.
    let err = try_load(&crate::with_api_version(&broken, "0.9.0")).await.unwrap_err();
    assert!(matches!(err, LoadError::UnsupportedApiVersion { ref found } if found == "0.9.0"), "{err}");
    assert!(err.to_string().contains("rebuild it with a matching keyway-sdk"), "{err}");
    // And a component of another world, broken the same way, is refused by name too.
    let err = try_load(&with_a_broken_function_body(GUEST_WRONG_WORLD)).await.unwrap_err();
    assert!(matches!(err, LoadError::WrongWorld(_)), "{err}");
}

/// The `.cwasm` files in a cache directory, sorted.
fn artifacts(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| {
            entries.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "cwasm")).collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[tokio::test]
async fn a_restart_loads_cached_artifacts_and_a_rejected_component_leaves_none() {
    use keyway::engine::{Limits, PluginEngine};

    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("compiled");
    let egress = EgressClient::new(EgressConfig::default()).unwrap();
    let engine =
        PluginEngine::new(Limits::default()).unwrap().with_cache_dir(keyway::serve::open_private_dir(&cache).unwrap());

    engine.load(GUEST_WRONG_WORLD, &egress).await.unwrap_err();
    assert!(artifacts(&cache).is_empty(), "a rejected component is not cached");

    let standard = engine.load(STANDARD_OAUTH2, &egress).await.unwrap();
    let probe = engine.load(GUEST_PROBE, &egress).await.unwrap();
    let files = artifacts(&cache);
    assert_eq!(files.len(), 2, "{files:?}");
    let named = |hash: &str| files.iter().find(|f| f.file_name().unwrap().to_string_lossy().starts_with(hash)).cloned();
    let (standard_file, probe_file) = (named(&standard.hash).unwrap(), named(&probe.hash).unwrap());

    // Swap the two artifacts. A restarted engine that really loads from the cache then runs the
    // probe's code for the standard component's bytes: proof that it did not recompile (and
    // the reason a host only ever loads artifacts from its own private directory).
    let swap = cache.join("swap");
    std::fs::rename(&standard_file, &swap).unwrap();
    std::fs::rename(&probe_file, &standard_file).unwrap();
    std::fs::rename(&swap, &probe_file).unwrap();
    let restarted =
        PluginEngine::new(Limits::default()).unwrap().with_cache_dir(keyway::serve::open_private_dir(&cache).unwrap());
    let loaded = restarted.load(STANDARD_OAUTH2, &egress).await.unwrap();
    assert_eq!(loaded.manifest.name, probe.manifest.name, "the cached artifact was used");

    // An artifact that does not deserialize is ignored and the bytes compiled again.
    std::fs::write(&probe_file, b"not an artifact").unwrap();
    let fresh =
        PluginEngine::new(Limits::default()).unwrap().with_cache_dir(keyway::serve::open_private_dir(&cache).unwrap());
    assert_eq!(fresh.load(GUEST_PROBE, &egress).await.unwrap().manifest.name, probe.manifest.name);
}
