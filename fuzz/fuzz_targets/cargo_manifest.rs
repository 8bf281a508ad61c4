//! Cargo manifest discovery (`deps`) on arbitrary `Cargo.toml` text, as a root manifest and as a
//! workspace member: no panic, no stack overflow.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut files = BTreeMap::new();
    files.insert("Cargo.toml".to_string(), text.to_string());
    let _ = convoy::deps::cargo::discover("fuzz/repo", &files);
    files.insert(
        "Cargo.toml".to_string(),
        "[workspace]\nmembers = [\"crates/*\"]\n[workspace.dependencies]\nserde = \"1\"\n".to_string(),
    );
    files.insert("crates/a/Cargo.toml".to_string(), text.to_string());
    let _ = convoy::deps::cargo::discover("fuzz/repo", &files);
});
