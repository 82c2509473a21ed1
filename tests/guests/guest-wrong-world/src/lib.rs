//! A valid WebAssembly component of the wrong world (`other:thing/other`), so the host's
//! registration check has something real to refuse.

wit_bindgen::generate!({ path: "wit", world: "other" });

/// Implements the foreign world's single export.
struct Other;

impl Guest for Other {
    fn run() -> String {
        "not a keyway plugin".to_string()
    }
}

export!(Other);
