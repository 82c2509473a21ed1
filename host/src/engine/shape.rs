//! A component's outer shape, read without compiling it: its top-level import and export names, and the world
//! check on them. [`PluginEngine::load`](super::PluginEngine::load) runs both before it compiles anything, so a
//! plugin for another API version, or a component of another world, is refused in microseconds; the conformance
//! kit reads the same shape to list what a component declares.

use wasmparser::{Encoding, Parser, Payload};

use super::{API_VERSION, LoadError, PACKAGE};

/// The `keyway:plugin` interfaces a plugin must export.
const REQUIRED_EXPORTS: [&str; 3] = ["metadata", "auth-flow", "actions"];
/// The `keyway:plugin` interfaces the host provides; `wasi:*` imports are allowed too (every wasip2 Rust guest
/// has them, and the linker provides a sealed WASI).
const PROVIDED_IMPORTS: [&str; 4] = ["outbound", "api", "log", "types"];

/// The top-level names of a component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    /// `keyway:plugin/auth-flow@0.1.0`, ...
    pub exports: Vec<String>,
    /// `keyway:plugin/outbound@0.1.0`, `wasi:io/streams@0.2.6`, ...
    pub imports: Vec<String>,
}

impl Shape {
    /// The API version in the component's `keyway:plugin/...@VERSION` export names, if it has any.
    pub fn api_version(&self) -> Option<&str> {
        self.exports
            .iter()
            .find_map(|name| name.strip_prefix(PACKAGE)?.strip_prefix('/')?.split_once('@'))
            .map(|(_, v)| v)
    }

    /// The `keyway:plugin` interfaces it exports, without package and version: `metadata`, `auth-flow`, ...
    pub fn plugin_exports(&self) -> Vec<&str> {
        plugin_interfaces(&self.exports)
    }

    /// The `keyway:plugin` interfaces it imports, without package and version.
    pub fn plugin_imports(&self) -> Vec<&str> {
        plugin_interfaces(&self.imports)
    }

    /// How many `wasi:*` interfaces it imports (every wasip2 Rust guest has some; the host seals them).
    pub fn wasi_imports(&self) -> usize {
        self.imports.iter().filter(|n| n.starts_with("wasi:")).count()
    }
}

/// The world check, by name: the API version in the export names is this host's, every required interface is
/// exported, and nothing is imported that the host does not provide. Returns the API version. Types are checked
/// later, when the compiled component is pre-instantiated against the linker.
pub(crate) fn check_world(shape: &Shape) -> Result<String, LoadError> {
    let Some(version) = shape.api_version() else {
        return Err(LoadError::WrongWorld(format!(
            "it exports [{}], but a Keyway plugin exports {PACKAGE}/auth-flow@{API_VERSION} (build it with keyway-sdk \
             and `keyway_sdk::export!`)",
            shape.exports.join(", ")
        )));
    };
    if version != API_VERSION {
        return Err(LoadError::UnsupportedApiVersion { found: version.to_string() });
    }
    for wanted in REQUIRED_EXPORTS {
        let full = format!("{PACKAGE}/{wanted}@{API_VERSION}");
        if !shape.exports.contains(&full) {
            return Err(LoadError::WrongWorld(format!("it does not export `{full}`")));
        }
    }
    for name in &shape.imports {
        let provided = PROVIDED_IMPORTS.iter().any(|i| *name == format!("{PACKAGE}/{i}@{API_VERSION}"));
        if !provided && !name.starts_with("wasi:") {
            return Err(LoadError::WrongWorld(format!("it imports `{name}`, which the Keyway host does not provide")));
        }
    }
    Ok(version.to_string())
}

fn plugin_interfaces(names: &[String]) -> Vec<&str> {
    names
        .iter()
        .filter_map(|n| n.strip_prefix(PACKAGE)?.strip_prefix('/'))
        .map(|n| n.split_once('@').map_or(n, |(interface, _)| interface))
        .collect()
}

/// Reads the top-level import and export names. The error says what the bytes are instead and how to get a
/// component.
pub(crate) fn read(bytes: &[u8]) -> Result<Shape, String> {
    if !bytes.starts_with(b"\0asm") {
        return Err("the file is not WebAssembly: it does not start with the Wasm magic bytes".into());
    }
    let mut shape = Shape::default();
    // `parse_all` yields nested modules' and components' sections inline, each opened by a `Version` and closed
    // by an `End`; only depth 1, the outer component, is the plugin's interface.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| format!("the file is not a valid WebAssembly binary: {e}"))?;
        match payload {
            Payload::Version { encoding, .. } => {
                if depth == 0 && encoding == Encoding::Module {
                    return Err("the file is a core WebAssembly module, not a component".into());
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    let import = import.map_err(|e| format!("the component's imports do not read: {e}"))?;
                    shape.imports.push(import.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    let export = export.map_err(|e| format!("the component's exports do not read: {e}"))?;
                    shape.exports.push(export.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_core_modules_are_told_apart_from_components() {
        assert!(read(b"garbage").unwrap_err().contains("not WebAssembly"));
        // The smallest core module: magic, version 1.
        assert!(read(b"\0asm\x01\0\0\0").unwrap_err().contains("core WebAssembly module"));
        // The smallest component: magic, version 0x0d, layer 1.
        assert_eq!(read(b"\0asm\x0d\0\x01\0").unwrap(), Shape::default());
    }

    #[test]
    fn the_api_version_comes_from_plugin_export_names() {
        let shape = Shape {
            exports: vec!["keyway:plugin/metadata@0.1.0".into(), "keyway:plugin/auth-flow@0.1.0".into()],
            imports: vec!["keyway:plugin/types@0.1.0".into(), "wasi:io/streams@0.2.6".into()],
        };
        assert_eq!(shape.api_version(), Some("0.1.0"));
        assert_eq!(shape.plugin_exports(), ["metadata", "auth-flow"]);
        assert_eq!(shape.plugin_imports(), ["types"]);
        assert_eq!(shape.wasi_imports(), 1);
        assert_eq!(Shape::default().api_version(), None);
    }

    fn plugin(version: &str) -> Shape {
        Shape {
            exports: ["metadata", "auth-flow", "actions"].map(|i| format!("keyway:plugin/{i}@{version}")).into(),
            imports: vec![format!("keyway:plugin/outbound@{version}"), "wasi:io/streams@0.2.6".into()],
        }
    }

    #[test]
    fn the_world_check_names_what_to_fix() {
        assert_eq!(check_world(&plugin(API_VERSION)).unwrap(), API_VERSION);

        let err = check_world(&plugin("0.9.0")).unwrap_err();
        assert!(matches!(err, LoadError::UnsupportedApiVersion { ref found } if found == "0.9.0"), "{err}");
        assert!(err.to_string().contains("rebuild it with a matching keyway-sdk"), "{err}");

        let other = Shape { exports: vec!["run".into()], imports: vec![] };
        let err = check_world(&other).unwrap_err().to_string();
        assert!(err.contains("it exports [run]") && err.contains("keyway_sdk::export!"), "{err}");

        let mut partial = plugin(API_VERSION);
        partial.exports.pop();
        let err = check_world(&partial).unwrap_err().to_string();
        assert!(err.contains("does not export `keyway:plugin/actions@"), "{err}");

        let mut greedy = plugin(API_VERSION);
        greedy.imports.push("acme:secrets/vault".into());
        let err = check_world(&greedy).unwrap_err().to_string();
        assert!(err.contains("imports `acme:secrets/vault`, which the Keyway host does not provide"), "{err}");
    }
}
