//! A component's outer shape, read without compiling it: its top-level import and export names. The engine's
//! load is what decides whether a plugin is accepted; this reading only tells the kit which of its checks (API
//! version or exports) a refusal belongs to, and lists what the component declares.

use wasmparser::{Encoding, Parser, Payload};

/// The package every plugin interface belongs to.
const PACKAGE: &str = "keyway:plugin";

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
}
